// Package router is zrouter's ROUTER socket: the public API, its options, and
// the hub goroutine that owns the routing table.
//
// A Router accepts and makes ZMTP connections (libzmq 4.3 peers cannot tell
// it from libzmq's own ROUTER), gives each peer a routing id, and delivers
// every incoming message to Recv as [routing-id, frames...], fair-queued
// across peers. Send works in one of two modes:
//
//   - Standard: Send([id, frames...]) strips the id frame and queues the
//     frames for that peer. Every other frame, the empty delimiter of a REQ
//     envelope included, crosses unchanged.
//   - LoadBalancer: Send([frames...]) queues the message for the next live
//     peer in round robin, skipping peers whose queue is full.
//
// Nothing in the pipeline blocks on a slow peer: each peer has a bounded
// outbound queue (SNDHWM), and a full queue drops the message and counts the
// drop, or, in mandatory mode, is reported to the caller.
//
// # Ownership
//
// The hub goroutine is the only writer of the routing table and of the
// round-robin list. Send in Standard mode reads the table under a read lock
// that the hub holds only for map updates, never across I/O. Each peer has a
// reader and a writer goroutine (package peer); the router owns them and
// Close waits for all of them.
package router
