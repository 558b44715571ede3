// Package core is the socket core under every zrouter socket: options,
// endpoints (Bind, Unbind, Connect, Disconnect), the accept, handshake and
// connect loops, the pipes and the connections that serve them, the inbox
// that Recv reads, the counters behind Stats, connection events, linger
// and Close.
//
// A socket type makes a core with New, attaching it to the socket.Socket it
// embeds, and adds its routing: a Routing that the core tells of pipes as
// they come and go, and a Send of its own over the pipes' queues.
//
// # Pipes
//
// A Pipe is the socket's link to one peer: an outbound queue (SNDHWM), a
// share of the inbox (RCVHWM), and the connection that serves them while
// one is up. A Connect's pipe is made at once and outlives its
// connections, unless the socket is immediate or never reconnects; the
// pipe of an accepted connection lives as long as the connection.
//
// # Goroutines
//
// Each listener has an accept loop, each accepted connection a handshake
// goroutine until it is admitted, each Connect a connect loop, and each
// connection a reader and a writer (package peer). Disconnect and Unbind
// run the linger of the pipes they end in a goroutine of their own. Close
// waits for all of them.
package core
