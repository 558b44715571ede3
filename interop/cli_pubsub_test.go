package interop

import (
	"syscall"
	"testing"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
)

// testCLIPubsub: `zrouter pubsub --frontend EP --backend EP` between
// libzmq publishers and subscribers: subscriptions reach a publisher
// (a libzmq XPUB sees them), messages reach the subscribers whose prefix
// matches, an unsubscribe and a subscriber's departure cancel upstream,
// the metrics count the subscribers of each prefix, and SIGTERM exits 0.
func testCLIPubsub(t *testing.T, bin string) {
	front, back, metrics := freeEndpoint(t), freeEndpoint(t), freeAddr(t)
	p := startCLI(t, bin, "pubsub", "--frontend", front, "--backend", back, "--metrics", metrics, "--stats-interval", "100ms")
	p.waitStderr(t, "pubsub: running")
	zctx := newContext(t)

	// A publisher that sees its subscriptions: XPUB.
	xp := newSocket(t, zctx, zmq.XPUB)
	require.NoError(t, xp.Connect(front))
	news := newSocket(t, zctx, zmq.SUB)
	require.NoError(t, news.SetSubscribe("news"))
	require.NoError(t, news.Connect(back))
	all := newSocket(t, zctx, zmq.SUB)
	require.NoError(t, all.SetSubscribe("news"))
	require.NoError(t, all.SetSubscribe("sport"))
	require.NoError(t, all.Connect(back))
	got := map[string]bool{}
	for range 2 {
		got[strs(zmqRecv(t, xp))[0]] = true
	}
	assert.Equal(t, map[string]bool{"\x01news": true, "\x01sport": true}, got, "each prefix's first subscription, upstream")
	testutil.CheckFor(t, waitLimit, func() bool {
		return metric(metrics, `zrouter_pubsub_subscribers{prefix="news"}`) == 2 &&
			metric(metrics, `zrouter_pubsub_subscribers{prefix="sport"}`) == 1
	}, "subscribers per prefix in the metrics")

	zmqSend(t, xp, []byte("weather"))
	zmqSend(t, xp, []byte("news 1"))
	zmqSend(t, xp, []byte("sport 1"))
	assert.Equal(t, []string{"news 1"}, strs(zmqRecv(t, news)))
	assert.Equal(t, []string{"news 1"}, strs(zmqRecv(t, all)))
	assert.Equal(t, []string{"sport 1"}, strs(zmqRecv(t, all)))

	// A libzmq PUB, which says nothing of its subscriptions: publish
	// until one arrives.
	lp := newSocket(t, zctx, zmq.PUB)
	require.NoError(t, lp.Connect(front))
	require.NoError(t, news.SetRcvtimeo(0))
	testutil.CheckFor(t, waitLimit, func() bool {
		zmqSend(t, lp, []byte("news from PUB"))
		m, err := news.RecvMessageBytes(0)
		return err == nil && string(m[0]) == "news from PUB"
	}, "libzmq PUB to libzmq SUB through the forwarder")
	require.NoError(t, news.SetRcvtimeo(ioTimeout))

	// The last subscriber of sport unsubscribes: the cancel goes up.
	require.NoError(t, all.SetUnsubscribe("sport"))
	assert.Equal(t, []string{"\x00sport"}, strs(zmqRecv(t, xp)))
	// news keeps a subscriber when all leaves; not when news leaves too.
	require.NoError(t, all.Close())
	testutil.CheckFor(t, waitLimit, func() bool { return metric(metrics, `zrouter_pubsub_subscribers{prefix="news"}`) == 1 })
	require.NoError(t, news.Close())
	assert.Equal(t, []string{"\x00news"}, strs(zmqRecv(t, xp)), "the cancel of a subscriber gone")

	assert.Equal(t, 0, p.stop(t, syscall.SIGTERM), "exit status after SIGTERM")
	assert.Contains(t, p.stderr.String(), "pubsub: shutting down")
}

// testCLIPubsubSecure: `zrouter pubsub --backend-curve-secret-file FILE`
// makes the backend a CURVE server, the frontend staying NULL: a libzmq
// CURVE SUB gets what a NULL publisher sends, a NULL SUB is refused.
func testCLIPubsubSecure(t *testing.T, bin string) {
	dir := t.TempDir()
	keyFile, srvPub := cliKeygen(t, bin, dir, "server.key")
	fe, be := freeEndpoint(t), freeEndpoint(t)
	p := startCLI(t, bin, "pubsub", "--frontend", fe, "--backend", be, "--backend-curve-secret-file", keyFile)
	p.waitStderr(t, "pubsub: running")
	zctx := newContext(t)
	xp := newSocket(t, zctx, zmq.XPUB)
	require.NoError(t, xp.Connect(fe))
	s := newSocket(t, zctx, zmq.SUB)
	cliCurveClient(t, s, srvPub)
	require.NoError(t, s.SetSubscribe("secret"))
	require.NoError(t, s.Connect(be))
	assert.Equal(t, []string{"\x01secret"}, strs(zmqRecv(t, xp)))
	zmqSend(t, xp, []byte("secret 1"))
	assert.Equal(t, []string{"secret 1"}, strs(zmqRecv(t, s)))

	nullSub := newSocket(t, zctx, zmq.SUB)
	mon := eventsWatchZmq(t, zctx, nullSub)
	require.NoError(t, nullSub.Connect(be))
	ev := cliWaitEvent(t, mon, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
	assert.Equal(t, 0x11000002, ev.value, "a NULL subscriber at the CURVE backend")
	assert.Equal(t, 0, p.stop(t, syscall.SIGTERM))
}
