// Command capture records the exact bytes that real libzmq sends during a
// ZMTP 3 NULL handshake, so that the pure-Go implementation can be tested
// against them without cgo.
//
// For every capture it listens on raw TCP at 127.0.0.1:0, makes a libzmq
// socket (through pebbe/zmq4) connect to that address, sends a full 64-byte
// ZMTP 3.0 NULL greeting of its own straight after accepting, and then reads
// libzmq's 64-byte greeting and its READY command. It writes:
//
//	<name>.greeting  the 64 greeting bytes libzmq sent
//	<name>.ready     libzmq's whole READY command frame (flags, size, body)
//	<name>.message   (dealer only) the raw frames of one message libzmq sent
//	                 after the handshake completed
//
// Usage (from the interop module):
//
//	go run ./cmd/capture -out ../testdata/libzmq
package main
