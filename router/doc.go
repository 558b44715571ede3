// Package router is zrouter's ROUTER socket.
//
// A Router accepts and makes ZMTP connections (libzmq 4.3 peers cannot tell
// it from libzmq's own ROUTER), gives each peer a routing id, and delivers
// every incoming message to Recv as [routing-id, frames...], fair-queued
// across peers. Its endpoints, counters, events and Close are those of the
// embedded socket.Socket; its options are those of package socket and of
// this package. Send works in one of two modes:
//
//   - Standard: Send([id, frames...]) strips the id frame and queues the
//     frames for that peer. Every other frame, the empty delimiter of a REQ
//     envelope included, crosses unchanged.
//   - LoadBalancer: Send([frames...]) queues the message for the next peer
//     in round robin, skipping peers whose queue is full.
//
// Nothing in the pipeline blocks on a slow peer: each peer has a bounded
// outbound queue (SNDHWM), and a full queue drops the message and counts the
// drop, or, in mandatory mode, is reported to the caller.
//
// A peer's routing id is the identity it announces in its handshake, or one
// the router makes (0x00 and four bytes, as libzmq makes them), or the one
// Connect gives with ConnectRoutingID. A routing id taken by another peer is
// refused, unless handover is on. A received message owns its routing-id
// frame like its other frames: changing it changes nothing but the message.
//
// # Ownership
//
// One goroutine, the hub, is the only writer of the routing table and of
// the round-robin list. Send in Standard mode reads the table under a read
// lock that the hub holds only for inserts and deletes, never across I/O,
// and a reply sent in the message it answers skips the table altogether.
// Each connection has a reader and a writer goroutine; the router owns them
// all, and Close waits for every one.
package router
