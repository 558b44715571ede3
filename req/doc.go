// Package req is zrouter's REQ socket (RFC 28): the client side of
// request-reply.
//
// A Req sends one request, then receives its reply, then sends the next,
// as libzmq's REQ does:
//
//   - Send puts an empty delimiter frame in front of the request and queues
//     it on the next pipe in round robin whose queue has room; it waits
//     while its context allows when none has, and never drops a request.
//     Each Connect makes its pipe at once, so a request sent before the
//     connection is up waits for it (unless socket.WithImmediate).
//   - Recv returns the reply without the delimiter. It takes a reply only
//     from the peer the request went to; anything else that arrives is
//     dropped, as are replies left over when the next request goes out.
//   - A call out of turn (Recv before Send, Send before the reply) returns
//     socket.ErrState, libzmq's EFSM.
//   - WithCorrelate adds libzmq's request id frame (ZMQ_REQ_CORRELATE), and
//     WithRelaxed lets a new request abandon the old one (ZMQ_REQ_RELAXED).
//   - A message that no REQ could take, one that is not
//     [id?, "", body...], closes its connection as a protocol error, as
//     libzmq's REQ does; as with libzmq 4.3, that endpoint is not
//     reconnected.
//
// # Timeouts and the lazy pirate
//
// Recv waits while its context allows. When a reply does not come in time
// (the server died, or the request was lost with its connection), there
// are two ways on, those of the zguide's "lazy pirate" client:
//
//   - With WithRelaxed and WithCorrelate, send the request again: the new
//     request abandons the old one, round robin picks the next peer, and a
//     late reply to the old request is told apart by its id and dropped.
//   - Otherwise close the Req, make a new one and connect it again: a strict
//     Req that is owed a reply refuses to send.
//
// ExampleReq_lazyPirate shows the first.
//
// # Ownership
//
// The Req's mutex guards its state and round robin; it is never held
// across I/O. Each connection has a reader and a writer goroutine; the
// accept, handshake and connect loops have their own. The Req owns all of
// them, and Close waits for every one.
package req
