// Package servers holds the echo servers and brokers that the benchmark
// harness compares, each runnable in a process of its own: the zrouter
// ROUTER (also as zrouter-p1, for a process with GOMAXPROCS=1), a libzmq
// ROUTER whose echo loop is in C, a go-zeromq/zmq4 ROUTER,
// a raw TCP echo as the ceiling, and libzmq's zmq_proxy(ROUTER, DEALER) as
// the broker baseline; and CURVE variants of the zrouter and libzmq echo
// servers, each with an optional allow-list of client keys (zrouter's
// socket.AllowCurveKeys, a ZAP handler in C for libzmq).
//
// Serve runs one of them until its context ends and owns every goroutine,
// socket and connection it starts.
package servers
