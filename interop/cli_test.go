package interop

import (
	"fmt"
	"strings"
	"syscall"
	"testing"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
)

// TestCLI builds the zrouter command once and drives it as a separate
// process with libzmq peers, through the exact command lines of its
// contract.
func TestCLI(t *testing.T) {
	bin := buildCLI(t)
	t.Run("echo", func(t *testing.T) { testCLIEcho(t, bin) })
	t.Run("echo-sigint", func(t *testing.T) { testCLIEchoSIGINT(t, bin) })
	t.Run("broker-rr", func(t *testing.T) { testCLIBrokerRR(t, bin) })
	t.Run("broker-ready", func(t *testing.T) { testCLIBrokerReady(t, bin) })
	t.Run("pubsub", func(t *testing.T) { testCLIPubsub(t, bin) })
	t.Run("pub-sub-tools", func(t *testing.T) { testCLIPubSubTools(t, bin) })
	t.Run("help", func(t *testing.T) { testCLIHelp(t, bin) })
	t.Run("echo-secure", func(t *testing.T) { testCLIEchoSecure(t, bin) })
	t.Run("req-secure", func(t *testing.T) { testCLIReqSecure(t, bin) })
	t.Run("broker-secure", func(t *testing.T) { testCLIBrokerSecure(t, bin) })
	t.Run("pubsub-secure", func(t *testing.T) { testCLIPubsubSecure(t, bin) })
}

// testCLIEcho: `zrouter echo --bind ENDPOINT` sends every message back to
// libzmq REQ, DEALER and ROUTER (CONNECT_ROUTING_ID) clients unchanged, and
// exits 0 on SIGTERM.
func testCLIEcho(t *testing.T, bin string) {
	ep := freeEndpoint(t)
	p := startCLI(t, bin, "echo", "--bind", ep)
	p.waitStderr(t, "echo: listening")
	zctx := newContext(t)

	t.Run("REQ", func(t *testing.T) {
		req := newSocket(t, zctx, zmq.REQ)
		require.NoError(t, req.Connect(ep))
		for i := range 20 {
			msg := fmt.Sprintf("req-%d", i)
			zmqSend(t, req, []byte(msg))
			assert.Equal(t, []string{msg}, strs(zmqRecv(t, req)))
		}
	})
	t.Run("DEALER", func(t *testing.T) {
		d := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, d.SetIdentity("dealer-1"))
		require.NoError(t, d.Connect(ep))
		for _, msg := range [][]string{{"", "a", "b"}, {"x"}, {"", "", strings.Repeat("z", 70000)}} {
			zmqSend(t, d, bs(msg...)...)
			assert.Equal(t, msg, strs(zmqRecv(t, d)))
		}
	})
	t.Run("ROUTER", func(t *testing.T) {
		r := newSocket(t, zctx, zmq.ROUTER)
		require.NoError(t, r.SetIdentity("lib-router"))
		require.NoError(t, r.SetRouterMandatory(1))
		require.NoError(t, r.SetConnectRid("echo"))
		require.NoError(t, r.Connect(ep))
		// Mandatory: EHOSTUNREACH until the connection is up.
		testutil.CheckFor(t, waitLimit, func() bool {
			_, err := r.SendMessage("echo", "ping", "")
			if isErrno(err, zmq.EHOSTUNREACH) {
				return false
			}
			require.NoError(t, err)
			return true
		}, "libzmq ROUTER reaches the echo")
		assert.Equal(t, []string{"echo", "ping", ""}, strs(zmqRecv(t, r)))
	})

	assert.Equal(t, 0, p.stop(t, syscall.SIGTERM), "exit status after SIGTERM")
	assert.Contains(t, p.stderr.String(), "echo: shutting down")
}

func testCLIEchoSIGINT(t *testing.T, bin string) {
	ep := freeEndpoint(t)
	p := startCLI(t, bin, "echo", "--bind", ep, "--log-format", "json")
	p.waitStderr(t, `"msg":"echo: listening"`)
	zctx := newContext(t)
	req := newSocket(t, zctx, zmq.REQ)
	require.NoError(t, req.Connect(ep))
	zmqSend(t, req, []byte("once"))
	assert.Equal(t, []string{"once"}, strs(zmqRecv(t, req)))
	assert.Equal(t, 0, p.stop(t, syscall.SIGINT), "exit status after SIGINT")
}

// testCLIBrokerRR: `zrouter broker` (rr, zmq_proxy-like) between libzmq
// REQ and DEALER clients and REP workers: each reply reaches the client
// that asked, work goes to both workers, and SIGTERM exits 0.
func testCLIBrokerRR(t *testing.T, bin string) {
	front, back, metrics := freeEndpoint(t), freeEndpoint(t), freeAddr(t)
	p := startCLI(t, bin, "broker", "--frontend", front, "--backend", back, "--metrics", metrics, "--stats-interval", "100ms")
	p.waitStderr(t, "broker: running")
	zctx := newContext(t)

	workers := []*zmqWorker{
		startWorker(t, zctx, zmq.REP, back, "w1"),
		startWorker(t, zctx, zmq.REP, back, "w2"),
	}
	testutil.CheckFor(t, waitLimit, func() bool { return metric(metrics, `zrouter_peers{socket="backend"}`) == 2 }, "both workers connected, as the metrics say")

	clients := brokerClients(t, zctx, front, 3)
	// Every client has a request in flight at once, so that replies can
	// only reach the right client by their envelope.
	brokerRounds(t, clients, 10, func(worker string) bool { return worker == "w1" || worker == "w2" })

	d := newSocket(t, zctx, zmq.DEALER)
	require.NoError(t, d.Connect(front))
	zmqSend(t, d, bs("", "dealer-req")...)
	got := strs(zmqRecv(t, d))
	require.Len(t, got, 2)
	assert.Empty(t, got[0], "the DEALER's delimiter comes back")
	assert.True(t, strings.HasSuffix(got[1], ":dealer-req"), "reply %q", got[1])

	// A worker counts a request after its reply is sent.
	testutil.CheckFor(t, waitLimit, func() bool { return workers[0].handled.Load()+workers[1].handled.Load() == 31 }, "the workers answered every request once")
	for _, w := range workers {
		assert.Positive(t, w.handled.Load(), "worker %s got work", w.name)
	}
	testutil.CheckFor(t, waitLimit, func() bool { return metric(metrics, `zrouter_messages_received_total{socket="frontend"}`) == 31 }, "the frontend counted every request")
	p.waitStderr(t, "msg=stats")

	assert.Equal(t, 0, p.stop(t, syscall.SIGTERM), "exit status after SIGTERM")
	assert.Contains(t, p.stderr.String(), "broker: shutting down")
}

// testCLIBrokerReady: `zrouter broker --lb ready` with libzmq REQ workers
// that follow the documented protocol (READY, then [client-id, "", request]
// in and [client-id, "", reply] out) and REQ clients.
func testCLIBrokerReady(t *testing.T, bin string) {
	front, back, metrics := freeEndpoint(t), freeEndpoint(t), freeAddr(t)
	p := startCLI(t, bin, "broker", "--frontend", front, "--backend", back, "--lb", "ready", "--metrics", metrics)
	p.waitStderr(t, "broker: running")
	zctx := newContext(t)

	workers := []*zmqWorker{
		startWorker(t, zctx, zmq.REQ, back, "w1"),
		startWorker(t, zctx, zmq.REQ, back, "w2"),
	}
	testutil.CheckFor(t, waitLimit, func() bool { return metric(metrics, "zrouter_broker_ready_workers") == 2 }, "both workers ready, as the metrics say")

	clients := brokerClients(t, zctx, front, 3)
	brokerRounds(t, clients, 10, func(string) bool { return true })
	testutil.CheckFor(t, waitLimit, func() bool { return workers[0].handled.Load()+workers[1].handled.Load() == 30 }, "the workers answered every request once")
	for _, w := range workers {
		assert.Positive(t, w.handled.Load(), "worker %s got work", w.name)
	}
	assert.Equal(t, float64(0), metric(metrics, "zrouter_broker_queue_dropped_total"))
	assert.Equal(t, 0, p.stop(t, syscall.SIGTERM), "exit status after SIGTERM")
}

// testCLIHelp: every command answers --help with its usage and examples,
// with exit status 0, and a bad command line exits 2.
func testCLIHelp(t *testing.T, bin string) {
	for _, cmd := range []string{"echo", "broker", "demo", "bench", "req", "rep"} {
		p := startCLI(t, bin, cmd, "--help")
		<-p.done
		assert.Equal(t, 0, p.state.ExitCode(), cmd)
		assert.Contains(t, p.stdout.String(), "Usage: zrouter "+cmd, cmd)
		assert.Contains(t, p.stdout.String(), "Examples:", cmd)
	}
	p := startCLI(t, bin, "echo")
	<-p.done
	assert.Equal(t, 2, p.state.ExitCode())
	assert.Contains(t, p.stderr.String(), "missing --bind")
	// A bad endpoint and an out-of-range value are usage errors too,
	// naming the flag.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"echo", "--bind", "foo"}, `bad --bind "foo"`},
		{[]string{"broker", "--frontend", "tcp://nohost", "--backend", "tcp://127.0.0.1:0"}, `bad --frontend "tcp://nohost"`},
		{[]string{"echo", "--bind", "tcp://127.0.0.1:0", "--sndhwm", "-5"}, "bad --sndhwm -5"},
	} {
		p := startCLI(t, bin, tc.args...)
		<-p.done
		assert.Equal(t, 2, p.state.ExitCode(), "%v", tc.args)
		assert.Contains(t, p.stderr.String(), tc.want)
	}
}

// brokerClients connects n libzmq REQ clients to the broker's frontend.
func brokerClients(t *testing.T, zctx *zmq.Context, front string, n int) []*zmq.Socket {
	t.Helper()
	clients := make([]*zmq.Socket, n)
	for i := range clients {
		clients[i] = newSocket(t, zctx, zmq.REQ)
		require.NoError(t, clients[i].Connect(front))
	}
	return clients
}

// brokerRounds sends one request from every client, then checks that each
// client gets the answer to its own request, "worker:request", from a worker
// that knownWorker accepts; rounds times.
func brokerRounds(t *testing.T, clients []*zmq.Socket, rounds int, knownWorker func(string) bool) {
	t.Helper()
	for round := range rounds {
		for i, c := range clients {
			zmqSend(t, c, fmt.Appendf(nil, "c%d-%d", i, round))
		}
		for i, c := range clients {
			got := strs(zmqRecv(t, c))
			require.Len(t, got, 1)
			worker, body, ok := strings.Cut(got[0], ":")
			assert.True(t, ok && knownWorker(worker), "reply %q from a worker", got[0])
			assert.Equal(t, fmt.Sprintf("c%d-%d", i, round), body, "client %d gets the answer to its own request", i)
		}
	}
}
