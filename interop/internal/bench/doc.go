// Package bench is the side-by-side benchmark harness behind cmd/zbench.
//
// It runs the same clients against several servers, each in a process of
// its own, in interleaved rounds (A, B, C, D, A, B, C, D, ...), and reports
// the median over rounds of each server's throughput and of the CPU time
// the server process spent per message (read from /proc while it runs).
// zrouter is measured twice, as the Go runtime sets itself up and in a
// process with GOMAXPROCS=1, and the targets of the performance issue are
// evaluated for each, with the spread of each ratio over the rounds.
//
// The clients of every ZeroMQ server are libzmq DEALER (or REQ) sockets
// driven by a loop in C (package zmqc), so that the client side costs
// little and is exactly the same for zrouter, libzmq and go-zeromq. The raw
// TCP ceiling cannot speak ZMTP: its clients are Go connections that keep
// the same window of the same messages and check them the same way.
// The CURVE scenarios compare the zrouter CURVE server with libzmq's, with
// the NULL zrouter server as the ceiling, and measure handshakes per
// second with fresh connections. Run makes the keys: one server key pair
// and one per client.
// RunFanout measures PUB/SUB fan-out, one publisher to many subscribers,
// direct and through a forwarder, for libzmq, zrouter and NATS
// (nats-server in a child process, nats.go clients), counting what the
// subscribers got in a window.
// Every client checks every reply (count, per-client order, and the payload
// of a sample); a wrong reply fails the whole run.
//
// The package owns the server child processes it starts (they exit when
// their stdin closes, should the harness die) and every goroutine of its
// clients; Run returns after all of them have ended.
package bench
