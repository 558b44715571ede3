// Package peer owns one ZMTP connection's life after its handshake: a reader
// goroutine that decodes messages into a socket's [Inbox], a writer goroutine
// that drains an outbound [Queue] into as few writes as it can, the direct
// write of a lone reply from the sender's goroutine ([Peer.WriteNow]),
// heartbeats, and the reason the connection ended. Over an inproc [Link] a
// peer has no reader or writer: one goroutine moves its queue straight into
// the other end's inbox, by pointer.
//
// A reader whose next frame needs the network lends its reading to the
// receiver that waits in [Inbox.Recv], when no other connection feeds that
// inbox: the receiver then reads the connection itself, and the network
// poll wakes it with no hand-off between goroutines.
//
// The readers of a process take turns: one whose reads keep coming back
// full gives way after a share of bytes until the runtime has polled the
// network again, so a peer that floods cannot keep a light one unread.
// A sender that never blocks and outruns every queue it sends to gives way
// with [Outrun], so that the writers that empty them, and the processes
// that read from them, get the CPU it would spend on messages to drop.
//
// It also owns the two queues that sit between connections and a socket:
// [Queue], a bounded outbound queue whose Push never blocks, and [Inbox], a
// fair-queued inbound queue that makes readers wait (so TCP pushes back on
// the sender) when a peer's share is full.
package peer
