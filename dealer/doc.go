// Package dealer is zrouter's DEALER socket.
//
// A Dealer binds and connects like a Router, but addresses no one: Send puts
// each message on the next pipe in round robin, and Recv returns messages
// from every peer, fair-queued, with no routing-id frame. Its endpoints,
// counters, events and Close are those of the embedded socket.Socket, and
// its options those of package socket. It behaves as libzmq's DEALER does:
//
//   - Send never drops a message. When no pipe has room under its send
//     high-water mark, Send waits while its context allows; TrySend returns
//     socket.ErrWouldBlock instead.
//   - Each Connect makes one pipe at once, before any connection is up, and
//     keeps it across reconnects: messages sent to it wait in its queue, up
//     to the high-water mark, and go out when the connection comes up.
//     Messages that a lost connection had already taken off the queue are
//     lost with it. With socket.WithImmediate, a pipe comes and goes with
//     its connection instead, so that Send only uses connections that are
//     up.
//   - A peer that connects to a bound Dealer gets a pipe for as long as its
//     connection lasts; what is still queued when it ends is dropped and
//     counted.
//   - Messages between the Dealer and one peer keep their order.
//
// A message that Recv returned with nothing waiting behind it (a worker's
// reply, or a request a broker forwards) is written by Send itself when the
// pipe it goes to is connected and idle, saving the hand-off to the writer;
// Stats.MsgsOutDirect counts these.
//
// # Ownership
//
// The Dealer's mutex guards its round robin; it is never held across I/O.
// Each connection has a reader and a writer goroutine; the accept,
// handshake and connect loops have their own. The Dealer owns all of them,
// and Close waits for every one.
package dealer
