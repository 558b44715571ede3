package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zrouter/zrouter/socket"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/wire"
)

// runningBroker starts a broker on free loopback ports and stops it when the
// test ends.
func runningBroker(t *testing.T, mode string, queue int) *broker {
	t.Helper()
	b, err := newBroker(brokerConfig{
		frontend: "tcp://127.0.0.1:0",
		backend:  "tcp://127.0.0.1:0",
		mode:     mode,
		queue:    queue,
		sock:     defaultSockFlags,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { b.run(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		b.close()
	})
	return b
}

// echoWorker answers every request on d with its envelope and "NAME:BODY",
// until ctx ends or d closes. With ready set it first sends READY, with or
// without the empty delimiter.
func echoWorker(ctx context.Context, d *dealer.Dealer, name string, ready, delim bool) {
	if ready {
		var err error
		if delim {
			err = d.SendFrames(ctx, nil, []byte(readyMsg))
		} else {
			err = d.SendFrames(ctx, []byte(readyMsg))
		}
		if err != nil {
			return
		}
	}
	for {
		m, err := d.Recv(ctx)
		if err != nil {
			return
		}
		last := len(m.Frames) - 1
		out := wire.Get()
		for _, f := range m.Frames[:last] {
			out.AppendFrame(f)
		}
		out.AppendString(name + ":" + string(m.Frames[last]))
		m.Release()
		if d.Send(ctx, out) != nil {
			out.Release()
			return
		}
	}
}

// startWorker runs echoWorker on a new dealer connected to the broker's
// backend, until the test ends.
func startWorker(t *testing.T, b *broker, name string, ready, delim bool) *dealer.Dealer {
	t.Helper()
	d := newDealer(t, b.backendAddr())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { echoWorker(ctx, d, name, ready, delim) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return d
}

// TestBrokerRoundRobin: REQ-style clients' requests reach DEALER workers
// (speaking REP's envelope) with the envelope intact, replies come back to
// the client that asked, and the work is spread over every worker.
func TestBrokerRoundRobin(t *testing.T) {
	b := runningBroker(t, lbRoundRobin, 0)
	ctx := testCtx(t)
	startWorker(t, b, "w1", false, false)
	startWorker(t, b, "w2", false, false)
	testutil.CheckFor(t, 10*time.Second, func() bool { return b.backD.Stats().Peers == 2 }, "two workers connected")

	clients := []*dealer.Dealer{newDealer(t, b.frontendAddr()), newDealer(t, b.frontendAddr())}
	seen := map[string]int{}
	for i := range 10 {
		for ci, c := range clients {
			req := fmt.Sprintf("c%d-%d", ci, i)
			require.NoError(t, c.SendFrames(ctx, nil, []byte(req)))
			got := recvFrames(t, ctx, c)
			require.Len(t, got, 2, "reply envelope: %q", got)
			assert.Empty(t, got[0], "empty delimiter kept")
			worker, body, ok := strings.Cut(string(got[1]), ":")
			require.True(t, ok, "reply %q", got[1])
			assert.Equal(t, req, body, "the reply answers this client's request")
			seen[worker]++
		}
	}
	assert.Equal(t, map[string]int{"w1": 10, "w2": 10}, seen, "round robin over both workers")

	// A DEALER client without a delimiter gets its frames back as sent.
	d := newDealer(t, b.frontendAddr())
	require.NoError(t, d.SendFrames(ctx, []byte("a"), []byte("b")))
	got := recvFrames(t, ctx, d)
	require.Len(t, got, 2)
	assert.Equal(t, "a", string(got[0]))
	assert.True(t, strings.HasSuffix(string(got[1]), ":b"), "%q", got[1])

	// A message counts as sent once its write has returned, which may be
	// after the client has it.
	testutil.CheckFor(t, 10*time.Second, func() bool {
		st := b.sources()[0].Stats()
		return st.MsgsIn == 21 && st.MsgsOut == 21
	}, "frontend counters")
}

// TestBrokerReady: workers that speak the ready protocol, with and without
// the delimiter, get requests in the order they became ready, and replies
// reach their clients.
func TestBrokerReady(t *testing.T) {
	tests := []struct {
		name  string
		delim bool
	}{{"req-style worker", true}, {"bare dealer worker", false}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := runningBroker(t, lbReady, 10)
			ctx := testCtx(t)
			startWorker(t, b, "w1", true, tc.delim)
			testutil.CheckFor(t, 10*time.Second, func() bool { return b.ready.Stats().ReadyWorkers == 1 }, "worker ready")

			clients := []*dealer.Dealer{newDealer(t, b.frontendAddr()), newDealer(t, b.frontendAddr())}
			for i := range 5 {
				for ci, c := range clients {
					req := fmt.Sprintf("c%d-%d", ci, i)
					require.NoError(t, c.SendFrames(ctx, nil, []byte(req)))
					assert.Equal(t, frames("", "w1:"+req), recvFrames(t, ctx, c))
				}
			}
			testutil.CheckFor(t, 10*time.Second, func() bool { return b.ready.Stats().ReadyWorkers == 1 }, "worker ready again")
			assert.Zero(t, b.ready.Stats().QueueDropped)
		})
	}
}

// TestBrokerReadyRawWorker drives the backend by hand, as a REQ worker's
// wire would look with a DEALER: the exact frames of the documented
// protocol.
func TestBrokerReadyRawWorker(t *testing.T) {
	b := runningBroker(t, lbReady, 10)
	ctx := testCtx(t)
	w := newDealer(t, b.backendAddr())
	require.NoError(t, w.SendFrames(ctx, nil, []byte("READY")))
	testutil.CheckFor(t, 10*time.Second, func() bool { return b.ready.Stats().ReadyWorkers == 1 }, "worker ready")

	c := newDealer(t, b.frontendAddr(), socket.WithRoutingID([]byte("client-1")))
	require.NoError(t, c.SendFrames(ctx, nil, []byte("hello")))
	assert.Equal(t, frames("", "client-1", "", "hello"), recvFrames(t, ctx, w))
	require.NoError(t, w.SendFrames(ctx, nil, []byte("client-1"), nil, []byte("world")))
	assert.Equal(t, frames("", "world"), recvFrames(t, ctx, c))
}

// TestBrokerReadyQueue: requests wait for a worker up to --queue, beyond
// which they are dropped and counted; the waiting ones are served in order
// once a worker is ready, and a worker that has gone is skipped.
func TestBrokerReadyQueue(t *testing.T) {
	b := runningBroker(t, lbReady, 2)
	ctx := testCtx(t)

	// A worker that says READY and leaves: its entry must be skipped.
	gone, err := dealer.New()
	require.NoError(t, err)
	require.NoError(t, gone.Connect(b.backendAddr()))
	require.NoError(t, gone.SendFrames(ctx, nil, []byte(readyMsg)))
	testutil.CheckFor(t, 10*time.Second, func() bool { return b.ready.Stats().ReadyWorkers == 1 }, "gone worker ready")
	require.NoError(t, gone.Close())
	testutil.CheckFor(t, 10*time.Second, func() bool { return b.backR.Stats().Peers == 0 }, "gone worker disconnected")

	c := newDealer(t, b.frontendAddr())
	for i := range 4 {
		require.NoError(t, c.SendFrames(ctx, nil, fmt.Appendf(nil, "r%d", i)))
	}
	testutil.CheckFor(t, 10*time.Second, func() bool {
		return b.ready.Stats().Queued == 2 && b.ready.Stats().QueueDropped == 2
	}, "two queued, two dropped")
	assert.Zero(t, b.ready.Stats().ReadyWorkers, "the gone worker's entry was used up")

	startWorker(t, b, "w1", true, true)
	assert.Equal(t, frames("", "w1:r0"), recvFrames(t, ctx, c))
	assert.Equal(t, frames("", "w1:r1"), recvFrames(t, ctx, c))
	testutil.CheckFor(t, 10*time.Second, func() bool { return b.ready.Stats().Queued == 0 }, "queue empty")
}

// TestBrokerReadyRepeated: a worker that announces itself 1,000 times
// holds one ready entry, not 1,000 (the device prunes entries of workers
// that have gone; its own tests cover that).
func TestBrokerReadyRepeated(t *testing.T) {
	b := runningBroker(t, lbReady, 10)
	ctx := testCtx(t)
	const n = 1000
	w := newDealer(t, b.backendAddr())
	for range n {
		require.NoError(t, w.SendFrames(ctx, nil, []byte(readyMsg)))
	}
	testutil.CheckFor(t, 10*time.Second, func() bool { return b.ready.Stats().ReadyRepeated == n-1 }, "repeats counted")
	assert.Equal(t, 1, b.ready.Stats().ReadyWorkers)
}

func TestBrokerStatsAndMetrics(t *testing.T) {
	b := runningBroker(t, lbReady, 10)
	ctx := testCtx(t)
	startWorker(t, b, "w1", true, true)
	c := newDealer(t, b.frontendAddr())
	require.NoError(t, c.SendFrames(ctx, nil, []byte("x")))
	assert.Equal(t, frames("", "w1:x"), recvFrames(t, ctx, c))

	var logs testutil.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	obs, err := observe(ctx, log, 10*time.Millisecond, "127.0.0.1:0", b.sources(), b.lbStats())
	require.NoError(t, err)
	defer obs.stop()
	testutil.CheckFor(t, 10*time.Second, func() bool {
		return contains(logs.String(), "msg=stats frontend.peers=1 frontend.msgs_in=1 frontend.msgs_out=1")
	}, "stats line")
	assert.Contains(t, logs.String(), "backend.peers=1")
	assert.Contains(t, logs.String(), "frontend.msgs_direct=")
	assert.Contains(t, logs.String(), "broker.queue_dropped=0")

	resp, err := http.Get("http://" + obs.metrics.addr.String() + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, want := range []string{
		`zrouter_peers{socket="frontend"} 1`,
		`zrouter_peers{socket="backend"} 1`,
		`zrouter_messages_received_total{socket="frontend"} 1`,
		`zrouter_messages_sent_total{socket="frontend"} 1`,
		`zrouter_messages_sent_direct_total{socket="frontend"} `, // 0 or 1: the writer may be busy
		`zrouter_messages_received_total{socket="backend"} 2`,    // READY and the reply
		`zrouter_messages_dropped_total{reason="hwm",socket="frontend"} 0`,
		`zrouter_messages_dropped_total{reason="unroutable",socket="backend"} 0`,
		`zrouter_connections_refused_total{reason="max_peers",socket="frontend"} 0`,
		`zrouter_broker_ready_workers 1`,
		`zrouter_broker_queue_dropped_total 0`,
		`zrouter_build_info{goversion="go`,
		`go_goroutines`,
	} {
		assert.Contains(t, string(body), want)
	}

	// Close reasons appear once a peer has gone.
	require.NoError(t, c.Close())
	testutil.CheckFor(t, 10*time.Second, func() bool { return b.front.Stats().Peers == 0 }, "client gone")
	resp, err = http.Get("http://" + obs.metrics.addr.String() + "/metrics")
	require.NoError(t, err)
	body, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.True(t, bytes.Contains(body, []byte(`zrouter_peer_closes_total{reason="peer_closed",socket="frontend"} 1`)), "%s", body)
}

// TestBrokerCommand runs 'zrouter broker' in-process with metrics, checks one
// round trip, and that cancelling ends it with status 0.
func TestBrokerCommand(t *testing.T) {
	for _, mode := range []string{lbRoundRobin, lbReady} {
		t.Run(mode, func(t *testing.T) {
			front, back := freeEndpoint(t), freeEndpoint(t)
			cmd := start(t, "broker", "--frontend", front, "--backend", back, "--lb", mode,
				"--stats-interval", "20ms", "--metrics", "127.0.0.1:0", "--log-format", "json")
			ctx := testCtx(t)
			w := newDealer(t, back)
			wctx, cancel := context.WithCancel(ctx)
			var wg sync.WaitGroup
			wg.Go(func() { echoWorker(wctx, w, "w", mode == lbReady, true) })
			defer func() { cancel(); wg.Wait() }()

			c := newDealer(t, front)
			require.NoError(t, c.SendFrames(ctx, nil, []byte("ping")))
			assert.Equal(t, frames("", "w:ping"), recvFrames(t, ctx, c))
			testutil.CheckFor(t, 10*time.Second, func() bool { return contains(cmd.stderr.String(), `"msg":"stats"`) }, "stats logged")
			assert.Contains(t, cmd.stderr.String(), `"msg":"metrics: serving"`)
			assert.Equal(t, exitOK, cmd.stop(t), "stderr:\n%s", cmd.stderr.String())
			assert.Contains(t, cmd.stderr.String(), `"msg":"broker: shutting down"`)
		})
	}
}

// TestBrokerMalformedReplies: a worker message that names a client but
// carries nothing for it is dropped, and the broker goes on serving.
func TestBrokerMalformedReplies(t *testing.T) {
	for _, mode := range []string{lbRoundRobin, lbReady} {
		t.Run(mode, func(t *testing.T) {
			b := runningBroker(t, mode, 10)
			ctx := testCtx(t)
			w := newDealer(t, b.backendAddr())
			var lead [][]byte // the ready protocol's delimiter
			if mode == lbReady {
				lead = [][]byte{{}}
				require.NoError(t, w.SendFrames(ctx, nil, []byte(readyMsg)))
				testutil.CheckFor(t, 10*time.Second, func() bool { return b.ready.Stats().ReadyWorkers == 1 }, "worker ready")
			}
			c := newDealer(t, b.frontendAddr(), socket.WithRoutingID([]byte("cl")))
			require.NoError(t, c.SendFrames(ctx, nil, []byte("q")))
			got := recvFrames(t, ctx, w)
			assert.Equal(t, append(lead, frames("cl", "", "q")...), got)

			require.NoError(t, w.SendFrames(ctx, append(lead, []byte("cl"))...))
			require.NoError(t, w.SendFrames(ctx, append(lead, frames("cl", "", "a")...)...))
			assert.Equal(t, frames("", "a"), recvFrames(t, ctx, c))
		})
	}
}

// TestBrokerMetricsOfADealerBackend: the rr broker's backend is a DEALER,
// whose counters are those of every socket: the metrics count its
// connections, and file nothing under unroutable that was not.
func TestBrokerMetricsOfADealerBackend(t *testing.T) {
	b := runningBroker(t, lbRoundRobin, 0)
	ctx := testCtx(t)
	w1 := startWorker(t, b, "w1", false, false)
	startWorker(t, b, "w2", false, false)
	testutil.CheckFor(t, 10*time.Second, func() bool { return b.backD.Stats().Peers == 2 }, "two workers connected")
	c := newDealer(t, b.frontendAddr())
	require.NoError(t, c.SendFrames(ctx, nil, []byte("x")))
	recvFrames(t, ctx, c)
	require.NoError(t, w1.Close())
	testutil.CheckFor(t, 10*time.Second, func() bool { return b.backD.Stats().Peers == 1 }, "one worker gone")

	obs, err := observe(ctx, slog.New(slog.DiscardHandler), 0, "127.0.0.1:0", b.sources(), b.lbStats())
	require.NoError(t, err)
	defer obs.stop()
	resp, err := http.Get("http://" + obs.metrics.addr.String() + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	for _, want := range []string{
		`zrouter_peers{socket="backend"} 1`,
		`zrouter_peers_connected_total{socket="backend"} 2`,
		`zrouter_peers_disconnected_total{socket="backend"} 1`,
		`zrouter_messages_sent_total{socket="backend"} 1`,
		`zrouter_messages_received_total{socket="backend"} 1`,
		`zrouter_messages_dropped_total{reason="unroutable",socket="backend"} 0`,
		`zrouter_peer_closes_total{reason="peer_closed",socket="backend"} 1`,
	} {
		assert.Contains(t, string(body), want)
	}
}

// TestBrokerMaxPeersBackend: --max-peers bounds the rr broker's DEALER
// backend as it bounds the frontend (issue 17, defect 7): a second worker
// is refused, and every request goes to the first.
func TestBrokerMaxPeersBackend(t *testing.T) {
	front, back := freeEndpoint(t), freeEndpoint(t)
	cmd := start(t, "broker", "--frontend", front, "--backend", back, "--lb", lbRoundRobin,
		"--max-peers", "1", "--log-format", "json")
	ctx := testCtx(t)
	var wg sync.WaitGroup
	wctx, cancel := context.WithCancel(ctx)
	defer func() { cancel(); wg.Wait() }()
	w1 := newDealer(t, back)
	wg.Go(func() { echoWorker(wctx, w1, "w1", false, false) })
	c := newDealer(t, front)
	require.NoError(t, c.SendFrames(ctx, nil, []byte("first")))
	assert.Equal(t, frames("", "w1:first"), recvFrames(t, ctx, c), "w1 is up")

	w2 := newDealer(t, back)
	wg.Go(func() { echoWorker(wctx, w2, "w2", false, false) })
	testutil.CheckFor(t, 10*time.Second, func() bool {
		out := cmd.stderr.String()
		return contains(out, `"msg":"peer refused"`) && contains(out, `"socket":"backend"`)
	}, "the second worker refused by the backend")
	for i := range 10 {
		req := fmt.Sprintf("r%d", i)
		require.NoError(t, c.SendFrames(ctx, nil, []byte(req)))
		assert.Equal(t, frames("", "w1:"+req), recvFrames(t, ctx, c), "only w1 serves")
	}
	assert.Equal(t, exitOK, cmd.stop(t))
}
