// Command zbench measures zrouter against libzmq, go-zeromq/zmq4 and raw TCP,
// side by side, in one run.
//
// Every server runs in a process of its own (zbench starts itself again
// with -serve), and the same clients run against each of them in
// interleaved rounds: A, B, C, D, A, B, C, D, and so on. For each scenario
// it reports the median over rounds of the messages echoed per second and of
// the CPU time the server process spent per message, and how zrouter
// compares. The servers are:
//
//	zrouter     a zrouter router.Router: Recv, then Send of the same message
//	zrouter-p1  the same, in a process with GOMAXPROCS=1
//	libzmq      a libzmq ROUTER whose echo loop is written in C
//	gozmq       a go-zeromq/zmq4 ROUTER
//	rawtcp      a Go TCP server that copies each connection back to itself
//	rawtcp-zmq  the same byte echo, measured with the libzmq clients
//
// The clients of the ZeroMQ servers are libzmq DEALER sockets driven from
// C; those of the raw TCP server, which speaks no ZMTP, are Go connections
// sending the same messages with the same window. rawtcp-zmq shows what the
// libzmq clients reach when the server does no work. Messages of 8 KiB and
// more leave the libzmq clients without a copy, from one buffer per message
// in flight, and the clients' process keeps the memory that libzmq frees
// (-client-keep-freed) instead of letting glibc hand it back to the kernel
// and fault it in again; the servers run with their defaults.
//
// The CURVE scenarios (curve-8x16B, curve-8x1KiB, curve-8x64KiB and
// curve-handshake; -scenarios curve picks all four) run their own servers
// (-curve-servers):
//
//	zrouter-curve     the zrouter echo as a CURVE server
//	zrouter-p1-curve  the same, in a process with GOMAXPROCS=1
//	libzmq-curve      the libzmq C echo loop on a CURVE ROUTER
//	zrouter           the NULL zrouter echo, as the ceiling
//
// with libzmq CURVE DEALER clients (NULL ones for the NULL server). With
// -curve-auth (the default) both CURVE servers check every client's key
// against an allow-list: zrouter with socket.AllowCurveKeys, libzmq with a
// ZAP handler in C in the server's process. curve-handshake counts whole
// connections instead of messages: -handshake-parallel workers each
// connect a fresh DEALER, wait for the echo of one 16-byte message and
// close it, over and over.
//
// The broker scenario runs libzmq REQ clients and REP workers through
// `zrouter broker` (built from ../cmd/zrouter) and through
// zmq_proxy(ROUTER, DEALER) in C; without the zrouter CLI (when it cannot be
// built) only the proxy runs, and the report says so.
//
// With -pushpull it runs the PUSH to PULL throughput scenarios instead, in
// the shape of libzmq's perf/local_thr and perf/remote_thr: PULLs bind and
// count, PUSHes connect and send as fast as they can, one pair or four
// PUSHes each connected to four PULLs, at 16 B, 1 KiB and 64 KiB. It
// compares libzmq (C loops on both sides), zrouter (push.Push to
// pull.Pull; zrouter-p1 is the same with GOMAXPROCS=1 in both processes),
// each with the other, and a raw TCP stream of the same bytes, in
// interleaved rounds. As with local_thr and remote_thr, the receivers
// run in a process of their own (zbench starts itself again with
// -pipe-recv) and the senders in zbench's; -pushpull-scenarios picks
// scenarios by name.
//
// With -fanout it runs the PUB/SUB fan-out instead: one publisher to 1, 10
// and 100 subscribers at 16 B and 1 KiB, direct and through a forwarder,
// for libzmq (C loops, zmq_proxy(XSUB, XPUB)), zrouter (pub, sub and
// device.Forwarder; zrouter-p1 is the same with GOMAXPROCS=1 in every
// process) and NATS (nats-server with nats.go clients), then one
// subscriber among 100,000 subscriptions that miss against one alone. The
// subscribers and the forwarder or nats-server run in processes of their own
// (zbench starts itself again with -fanout-child), the publisher in
// zbench's; the rate is the messages the subscribers got in the window, and
// -fanout-scenarios picks scenarios by name.
//
// With -memory it measures the echo servers' resident memory instead
// (zrouter, zrouter-p1 and libzmq, a fresh process for each part): its
// growth per connection that handshakes as a DEALER and then stalls in a
// command announcing 65,000 bytes of which it sent 10, and its growth
// from DEALERs that send messages of 100,000 empty frames and read each
// echo, while they are connected and after they have gone, with a zrouter
// server's live heap after a collection. -memory-servers runs the servers
// from another build of zbench, for a before and after in one harness.
//
// Usage, from the interop module:
//
//	go run ./cmd/zbench [-scenarios all] [-rounds 3] [-scale 1] \
//		[-md FILE] [-json FILE] [-svg FILE] [-cpuprofile PREFIX]
//
// A full default run takes six to seven minutes on two cores, a minute and
// a half of it for the CURVE scenarios.
package main
