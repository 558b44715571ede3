// Command zrouter runs the common ZeroMQ ROUTER devices on top of the zrouter
// library, wire-compatible with libzmq 4.3 peers (ZMTP 3.1, tcp, NULL,
// PLAIN and CURVE security):
//
//	zrouter echo   --bind ENDPOINT
//	zrouter broker --frontend ENDPOINT --backend ENDPOINT [--lb rr|ready]
//	zrouter demo   [--duration D] [--workers N] [--clients N]
//	zrouter bench  [--clients N] [--sizes 16,1024,65536] [--duration D]
//	zrouter req    --connect ENDPOINT [--count N] [--timeout D] [FRAME...]
//	zrouter rep    --bind|--connect ENDPOINT [--echo | -- COMMAND...]
//	zrouter pub    --bind|--connect ENDPOINT [--count N] [--interval D] TOPIC [FRAME...]
//	zrouter sub    --bind|--connect ENDPOINT [--count N] [--timeout D] [TOPIC...]
//	zrouter keygen
//	zrouter version
//
// echo sends every message back to its sender. broker is a request-reply
// broker: with --lb rr it behaves like libzmq's zmq_proxy(ROUTER, DEALER),
// with --lb ready it is the zguide's load-balancing broker, where workers ask
// for work. demo runs a broker, workers and clients in one process and shows
// how requests flow. bench measures zrouter's echo throughput and latency
// against go-zeromq/zmq4's in the same run. req is a REQ client (without
// FRAME, one request per line of stdin), rep a REP worker that answers with
// the request or a command's output, pub a publisher that waits for its
// first subscriber before it sends (without FRAME, one message per line of
// stdin), sub a subscriber that prints what it gets, and keygen makes a CURVE key pair. version prints the build's module and Go
// versions (also as zrouter --version). echo and broker take --curve-secret-file,
// --curve-allow and --plain-users to be CURVE or PLAIN servers.
//
// Every command logs with log/slog to stderr (--log-level, --log-format),
// prints its usage and examples with --help, and ends cleanly, with exit
// status 0, on SIGINT or SIGTERM.
//
// This package owns the CLI: flag parsing, the devices' wiring of router and
// dealer sockets, the stats line and the metrics endpoint (whose collector
// is package prom), and the demo and benchmark drivers.
package main
