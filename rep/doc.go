// Package rep is zrouter's REP socket (RFC 28): the server side of
// request-reply.
//
// A Rep receives one request, then sends its reply, then receives the
// next, as libzmq's REP does:
//
//   - Recv returns the next request, fair-queued across every peer, without
//     its envelope: the frames up to and including the first empty one.
//     From a REQ peer that is the delimiter alone; through ROUTER/DEALER
//     brokers it holds the routing ids they added. A request without an
//     empty frame followed by a body is dropped, as libzmq drops it.
//   - Send puts the envelope back and queues the reply for the pipe the
//     request came from. When that peer has gone the reply is dropped and
//     counted (Stats.Unroutable); when its queue is full, dropped and
//     counted too (Stats.DroppedHWM), as libzmq's REP, a ROUTER inside,
//     drops it.
//   - A call out of turn (Send before Recv, Recv before the reply) returns
//     socket.ErrState, libzmq's EFSM.
//   - Peers are told apart by their pipes, not by the routing ids they
//     announce: two peers with the same ZMQ_ROUTING_ID are both served.
//     libzmq's REP, a ROUTER inside, ignores the second while the first is
//     up.
//
// A reply to a request that had nothing waiting behind it is written by
// Send itself when its connection is idle, saving the hand-off to the
// writer; Stats.MsgsOutDirect counts these.
//
// # Ownership
//
// The Rep's mutex guards its state; it is never held across I/O. Each
// connection has a reader and a writer goroutine; the accept, handshake
// and connect loops have their own. The Rep owns all of them, and Close
// waits for every one.
package rep
