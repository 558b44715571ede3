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
// # inproc
//
// inproc endpoints bypass package transport, whose seam is a net.Conn: the
// core parses them (inprocName), keeps the process's names (inprocs), and
// brings an inproc connection up in the connect loop of the Connect:
// dialInproc waits for the name, admits the bound socket's end on a pipe
// of its own (serveInproc, counted among that socket's loops), then the
// connecting end on the Connect's pipe, and starts the link. Each end is a
// peer.Link end: a net.Conn that carries no bytes, under a peer.Peer whose
// one goroutine moves its pipe's queue straight into the other end's
// source. The rest of the core, attach and exit, events, Down and the
// routing, sees a connection like any other.
//
// The names are process-wide, as one libzmq context per program makes
// them in practice: a scope of its own (a Context value passed to every
// socket) would add to every socket's API what few programs need, and a
// collision fails loudly (EADDRINUSE at Bind) instead of mixing traffic.
// The registry holds no socket once it has unbound, so nothing leaks from
// one test to the next.
//
// # Goroutines
//
// Each listener has an accept loop, each accepted connection a handshake
// goroutine until it is admitted, each Connect a connect loop, and each
// connection a reader and a writer (package peer), or one mover for an
// inproc connection. Disconnect and Unbind
// run the linger of the pipes they end in a goroutine of their own. Close
// waits for all of them.
package core
