// Package sub is zrouter's SUB socket.
//
// A Sub connects to (or is connected to by) publishers, PUB or XPUB, and
// receives the messages that match its subscriptions: a message matches
// when its first frame starts with a topic the Sub subscribed to. It
// behaves as libzmq's SUB does:
//
//   - Subscribe and Unsubscribe work at any time. Each change goes to
//     every connection up, and every new connection, a reconnect
//     included, starts with the whole set.
//   - A subscription goes to a ZMTP 3.1 peer as a SUBSCRIBE command and
//     to an older one (or over inproc) as a message, 0x01 and the topic,
//     as libzmq 4.3 sends them; cancels alike (CANCEL, or 0x00).
//   - Subscriptions count: subscribing twice to a topic needs two
//     Unsubscribe calls before the publishers are told.
//   - What does not match is dropped as it arrives, before it takes room
//     in the receive queue.
//   - A subscription or cancel that finds a connection's queue full is
//     dropped, as libzmq drops it; the set a new connection starts with
//     goes whole.
//
// socket.WithInvertMatching keeps the messages that match none of the
// subscriptions, and socket.WithConflate keeps only the newest message
// of each connection. As in libzmq, the linger time is 0 by default:
// subscriptions still queued at Close are not waited for.
//
// # Ownership
//
// The Sub's locks guard its subscriptions and are never held across I/O.
// Each connection has a reader and a writer goroutine; the accept,
// handshake and connect loops have their own. The Sub owns all of them,
// and Close waits for every one.
package sub
