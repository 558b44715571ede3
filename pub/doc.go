// Package pub is zrouter's PUB socket.
//
// A Pub sends every message to the subscribers whose subscriptions match
// it: a subscription is a prefix of the message's first frame, and the
// empty one matches everything. It receives nothing but subscriptions,
// which its peers (SUB, XSUB) send as ZMTP 3.1 SUBSCRIBE and CANCEL
// commands or as ZMTP 3.0 messages (0x01 or 0x00, then the topic); both
// forms are taken from every peer. It behaves as libzmq's PUB does:
//
//   - Each subscriber has its own queue, bounded by the send high-water
//     mark. Send never waits: a subscriber whose queue is full misses the
//     message, and the drop is counted for that subscriber alone, so one
//     slow subscriber costs the others nothing.
//   - A subscriber is in a prefix's set once, however often it subscribes
//     to it, and one cancel takes it out, as libzmq's mtrie counts them.
//     Matching walks the bytes of the topic: its cost does not grow with
//     the subscriptions that do not match.
//   - A connection's subscriptions end with it; a subscriber sends them
//     again when it reconnects.
//   - One message for many subscribers is not copied: every subscriber's
//     queue holds the same message, which is recycled when the last of
//     them has written it. An inproc subscriber gets a copy of its own.
//   - Messages to one subscriber keep their order.
//
// # Options
//
// Besides package socket's: WithNoDrop (ZMQ_XPUB_NODROP) makes Send wait
// for room at every matching subscriber instead of dropping;
// socket.WithInvertMatching sends each message to the subscribers it does
// not match; socket.WithConflate keeps one message, the newest, in each
// subscriber's queue; WithMaxSubscriptions bounds the subscriptions of
// each subscriber (by default 1<<20 topics of 16 MiB in all), refusing and
// counting those beyond (Stats.RefusedSubscriptions).
//
// SendAll sends a batch of messages at once, each subscriber's queue
// taking its share under one lock; device.Forwarder sends with it.
//
// # Ownership
//
// The Pub's locks guard its subscriptions and are never held across I/O.
// Each connection has a reader and a writer goroutine; the accept,
// handshake and connect loops have their own. The Pub owns all of them,
// and Close waits for every one.
package pub
