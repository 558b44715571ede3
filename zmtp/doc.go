// Package zmtp implements the ZeroMQ Message Transport Protocol, ZMTP 3.1
// (RFC 37), accepting ZMTP 3.0 peers (RFC 23) and speaking ZMTP 2.0 (RFC 15)
// to the peers that speak only that, as libzmq 4.3 does. ZMTP 1.0 (RFC 13)
// peers are refused.
//
// It owns the greeting, frame encoding and decoding, the commands (READY,
// ERROR, PING, PONG, SUBSCRIBE, CANCEL), connection metadata, the table of
// compatible socket types, the security mechanism interface with its NULL
// mechanism, and the handshake that ties them together over a net.Conn.
//
// Encoding is append-style: every frame and command has an Append method that
// appends its wire form to a caller's buffer, so a writer can batch many
// messages into one write. Decoding goes through a [Reader], which checks a
// frame's size against the limit before it allocates anything and never
// allocates more than the bytes that actually arrived.
//
// The package knows nothing of routing. The only goroutine it starts is the
// one [Handshake] writes from, which has ended when Handshake returns.
package zmtp
