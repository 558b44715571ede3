// Package pull is zrouter's PULL socket (RFC 30), the receiving end of a
// pipeline.
//
// A Pull binds and connects like every zrouter socket, and receives the
// messages of all its peers, fair-queued: a peer that sends a lot cannot
// starve the others. It never sends: Send returns errors.ErrUnsupported.
// Its endpoints, Recv, counters, events and Close are those of the
// embedded socket.Socket, and its options those of package socket.
//
// Each peer's share of the inbox holds at most the receive high-water mark
// of messages; when it is full, the connection is not read until Recv
// makes room, so TCP pushes back on the peer, and a PUSH peer then sends to
// its other peers with room. When Disconnect or Unbind ends a pipe, the
// messages it received and that Recv has not returned are dropped, as
// zmq_disconnect drops them.
//
// # Ownership
//
// Each connection has a reader and a writer goroutine; the accept,
// handshake and connect loops have their own. The Pull owns all of them,
// and Close waits for every one.
package pull
