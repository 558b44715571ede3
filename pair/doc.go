// Package pair is zrouter's PAIR socket (RFC 31): an exclusive link between
// two peers, each of which sends and receives.
//
// A Pair binds or connects like every zrouter socket, but talks to one peer
// at a time. Its endpoints, Send, Recv, counters, events and Close are those
// of the embedded socket.Socket, and its options those of package socket.
// It behaves as libzmq's PAIR does:
//
//   - Send queues a message for the peer. When the peer's queue is at the
//     send high-water mark, or there is no peer yet, Send waits while its
//     context allows; TrySend returns socket.ErrWouldBlock instead. Nothing
//     is dropped.
//   - A Connect makes its pipe at once and keeps it across reconnects:
//     messages sent before the connection is up wait in it.
//   - The first pipe is the peer's. A further connection, while that pipe
//     lasts, completes its handshake and is then neither read nor written
//     to, as libzmq 4.3 leaves it: the second peer sees a connection that
//     is up and silent, and its messages stay on its side (in its queue and
//     the TCP buffers). It counts in Stats.Peers while it is up.
//   - When the peer's pipe ends (its accepted connection closes, or
//     Disconnect removes a Connect's pipe), what it still holds is dropped
//     and counted. Unlike libzmq, which leaves such a waiting connection
//     silent for good, zrouter then gives the pipe to the oldest waiting
//     one, whose messages start to flow; a later connection is the peer's
//     when none waits.
//
// # Ownership
//
// The Pair's mutex guards which pipe is the peer's; it is never held across
// I/O. Each connection has a reader and a writer goroutine; the accept,
// handshake and connect loops have their own. The Pair owns all of them,
// and Close waits for every one.
package pair
