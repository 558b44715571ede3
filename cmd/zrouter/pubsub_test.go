package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/pub"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/sub"
)

func subscriberCount(p *pub.Pub, prefix string) int {
	n := 0
	p.Subscribers(func(pr []byte, k int) {
		if string(pr) == prefix {
			n = k
		}
	})
	return n
}

func newTestPub(t *testing.T, ep string) *pub.Pub {
	t.Helper()
	p, err := pub.New(socket.WithLinger(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	require.NoError(t, p.Connect(ep))
	return p
}

func newTestSub(t *testing.T, ep string, topics ...string) *sub.Sub {
	t.Helper()
	s, err := sub.New()
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	for _, tp := range topics {
		s.Subscribe([]byte(tp))
	}
	require.NoError(t, s.Connect(ep))
	return s
}

// The forwarder passes subscriptions up and messages down, and reports the
// subscribers of each prefix in its stats line and its metrics.
func TestPubsubStatsAndMetrics(t *testing.T) {
	ctx := testCtx(t)
	fw, err := newForwarder(pubsubConfig{frontend: "tcp://127.0.0.1:0", backend: "tcp://127.0.0.1:0", top: 10, sock: defaultSockFlags})
	require.NoError(t, err)
	defer fw.close()
	var wg sync.WaitGroup
	rctx, cancel := context.WithCancel(ctx)
	wg.Go(func() { _ = fw.run(rctx) })
	defer func() { cancel(); wg.Wait() }()

	p := newTestPub(t, fw.front.Addr())
	s1 := newTestSub(t, fw.back.Addr(), "news")
	newTestSub(t, fw.back.Addr(), "news", "sport")
	testutil.CheckFor(t, 10*time.Second, func() bool {
		return subscriberCount(p, "news") == 1 && subscriberCount(p, "sport") == 1
	}, "subscriptions upstream")
	require.NoError(t, p.SendFrames(ctx, []byte("news 1")))
	m, err := s1.Recv(ctx)
	require.NoError(t, err)
	assert.Equal(t, "news 1", string(m.Frames[0]))
	m.Release()

	var logs testutil.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	obs, err := observe(ctx, log, 10*time.Millisecond, "127.0.0.1:0", fw.sources(), nil, fw.topics())
	require.NoError(t, err)
	defer obs.stop()
	testutil.CheckFor(t, 10*time.Second, func() bool {
		return contains(logs.String(), "pubsub_topic_prefixes=2 pubsub_subscribers.news=2 pubsub_subscribers.sport=1")
	}, "stats line:\n%s", logs.String())
	resp, err := http.Get("http://" + obs.metrics.addr.String() + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	for _, want := range []string{
		`zrouter_peers{socket="frontend"} 1`,
		`zrouter_peers{socket="backend"} 2`,
		`zrouter_pubsub_topic_prefixes 2`,
		`zrouter_pubsub_subscribers{prefix="news"} 2`,
		`zrouter_pubsub_subscribers{prefix="sport"} 1`,
	} {
		assert.Contains(t, string(body), want)
	}
}

// TestPubsubCommand runs 'zrouter pubsub' in-process: a message goes
// through, and cancelling ends it with status 0.
func TestPubsubCommand(t *testing.T) {
	front, back := freeEndpoint(t), freeEndpoint(t)
	cmd := start(t, "pubsub", "--frontend", front, "--backend", back,
		"--stats-interval", "20ms", "--log-format", "json")
	ctx := testCtx(t)
	p := newTestPub(t, front)
	s := newTestSub(t, back, "t")
	testutil.CheckFor(t, 10*time.Second, func() bool { return subscriberCount(p, "t") == 1 }, "subscription upstream")
	require.NoError(t, p.SendFrames(ctx, []byte("t1")))
	m, err := s.Recv(ctx)
	require.NoError(t, err)
	assert.Equal(t, "t1", string(m.Frames[0]))
	m.Release()
	testutil.CheckFor(t, 10*time.Second, func() bool { return contains(cmd.stderr.String(), `"pubsub_subscribers":{"t":1}`) }, "stats logged")
	assert.Equal(t, exitOK, cmd.stop(t), "stderr:\n%s", cmd.stderr.String())
	assert.Contains(t, cmd.stderr.String(), `"msg":"pubsub: shutting down"`)
}

// gatherForwarderMetrics returns what a forwarder with one subscriber
// serves, as gatherMetrics does for a broker.
func gatherForwarderMetrics(t *testing.T) map[string]float64 {
	t.Helper()
	fw, err := newForwarder(pubsubConfig{frontend: "tcp://127.0.0.1:0", backend: "tcp://127.0.0.1:0", top: 10, sock: defaultSockFlags})
	require.NoError(t, err)
	defer fw.close()
	newTestSub(t, fw.back.Addr(), "t")
	testutil.CheckFor(t, 10*time.Second, func() bool { _, n := fw.fwd.Topics(1); return n == 1 }, "the subscription")
	reg, err := newRegistry(fw.sources(), nil, fw.topics())
	require.NoError(t, err)
	return gatherRegistry(t, reg)
}

// TestPubsubUsageErrors: a missing, bad or shared endpoint is a usage
// error naming the flag, as for the broker.
func TestPubsubUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"pubsub", "--frontend", "tcp://127.0.0.1:0"}, "--backend"},
		{[]string{"pubsub", "--frontend", "nonsense", "--backend", "tcp://127.0.0.1:0"}, "bad --frontend"},
		{[]string{"pubsub", "--frontend", "tcp://127.0.0.1:5999", "--backend", "tcp://127.0.0.1:5999"}, "are both"},
		{[]string{"pubsub", "--frontend", "tcp://127.0.0.1:0", "--backend", "tcp://127.0.0.1:0", "--top", "-1"}, "bad --top"},
	} {
		var out, errOut testutil.Buffer
		code := run(context.Background(), tc.args, &out, &errOut)
		assert.Equal(t, exitUsage, code, "%v: %s", tc.args, errOut.String())
		assert.Contains(t, errOut.String(), tc.want, "%v", tc.args)
	}
}
