// Package push is zrouter's PUSH socket (RFC 30), the sending end of a
// pipeline.
//
// A Push binds and connects like every zrouter socket, and sends each
// message to the next peer in round robin whose queue has room. It never
// receives: Recv returns errors.ErrUnsupported. Its endpoints, counters,
// events and Close are those of the embedded socket.Socket, and its
// options those of package socket. It behaves as libzmq's PUSH does:
//
//   - Send never drops a message. When no pipe has room under its send
//     high-water mark, or there is no pipe yet, Send waits while its
//     context allows; TrySend returns socket.ErrWouldBlock instead.
//   - Each Connect makes one pipe at once and keeps it across reconnects,
//     so messages sent before a connection is up wait in its queue. A peer
//     that connects to a bound Push gets a pipe for as long as its
//     connection lasts; what is still queued when it ends is dropped and
//     counted, as libzmq destroys the queue of a peer that disconnects.
//   - Messages to one peer keep their order.
//
// A peer is only supposed to be a PULL, which sends nothing. Whatever a
// peer sends all the same (a raw ZMTP peer may) is read and dropped, and
// counted in Stats.DroppedIn: libzmq keeps such messages in a queue that
// nobody reads until its receive high-water mark and then stops reading
// the connection; zrouter keeps nothing and goes on reading, so that the
// connection's heartbeats still work.
//
// # Ownership
//
// The Push's mutex guards its round robin; it is never held across I/O.
// Each connection has a reader and a writer goroutine; the accept,
// handshake and connect loops have their own. The Push owns all of them,
// and Close waits for every one.
package push
