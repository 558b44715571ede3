// Package zmqc is a thin cgo binding to libzmq for the benchmark harness.
//
// It owns the loops that must run in C to measure libzmq fairly: the echo
// loop of the libzmq ROUTER server (zmq_msg_recv / zmq_msg_send frame by
// frame, with no copy), zmq_proxy for the broker comparison, and the
// windowed client driver that every libzmq-speaking server is measured
// with. The driver stamps each message with a sequence number and client
// id and checks every reply: size, frame count, per-client order, and the
// whole payload of a sample. It sends messages of ZeroCopyMin bytes or more
// from buffers of its own, without a copy. Around those loops it offers
// just enough of the libzmq API (contexts, sockets, options, bind, connect,
// send, receive) to set them up, the CURVE options (keys in Z85) with an
// allow-list ZAP handler in C (ZAPAllow) for the CURVE comparison, monitor
// events for the tests, and KeepFreedMemory for the allocator of
// the process that runs the clients.
//
// Contexts are safe for concurrent use, as in libzmq; a Socket must be used
// by one goroutine at a time.
package zmqc
