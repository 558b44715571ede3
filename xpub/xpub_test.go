package xpub_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/sub"
	"github.com/zrouter/zrouter/xpub"
	"github.com/zrouter/zrouter/xsub"
)

const waitFor = 10 * time.Second

func recvString(t *testing.T, ctx context.Context, x *xpub.XPub) string {
	t.Helper()
	m, err := x.Recv(ctx)
	require.NoError(t, err)
	defer m.Release()
	require.Len(t, m.Frames, 1)
	return string(m.Frames[0])
}

// An XPUB's application sees a prefix's first subscription and its last
// cancel, those a subscriber's disconnection makes included, each once.
func TestFirstAndLast(t *testing.T) {
	ctx := testutil.Context(t, waitFor)
	x, err := xpub.New(socket.WithLinger(0))
	require.NoError(t, err)
	defer x.Close()
	require.NoError(t, x.Bind("tcp://127.0.0.1:0"))
	s1, err := sub.New()
	require.NoError(t, err)
	s1.Subscribe([]byte("a"))
	require.NoError(t, s1.Connect(x.Addr()))
	assert.Equal(t, "\x01a", recvString(t, ctx, x))

	s2, err := sub.New()
	require.NoError(t, err)
	defer s2.Close()
	s2.Subscribe([]byte("a"))
	s2.Subscribe([]byte("b"))
	require.NoError(t, s2.Connect(x.Addr()))
	assert.Equal(t, "\x01b", recvString(t, ctx, x), "a's second subscriber is not passed on")

	require.NoError(t, s1.Close())
	testutil.CheckFor(t, waitFor, func() bool { return x.Stats().Peers == 1 })
	s2.Unsubscribe([]byte("b"))
	assert.Equal(t, "\x00b", recvString(t, ctx, x), "a kept a subscriber when s1 left")
	require.NoError(t, s2.Close())
	assert.Equal(t, "\x00a", recvString(t, ctx, x), "the cancel of a subscriber gone")
}

// A subscription and a disconnection right after it reach the
// application in that order.
func TestCancelAfterSubscription(t *testing.T) {
	ctx := testutil.Context(t, waitFor)
	x, err := xpub.New(socket.WithLinger(0))
	require.NoError(t, err)
	defer x.Close()
	require.NoError(t, x.Bind("tcp://127.0.0.1:0"))
	for i := range 20 {
		xs, err := xsub.New()
		require.NoError(t, err)
		require.NoError(t, xs.Connect(x.Addr()))
		require.NoError(t, xs.WaitPeers(ctx, 1))
		require.NoError(t, xs.SendFrames(ctx, []byte{1, byte(i)}))
		require.NoError(t, xs.Shutdown(ctx))
		assert.Equal(t, string([]byte{1, byte(i)}), recvString(t, ctx, x))
		assert.Equal(t, string([]byte{0, byte(i)}), recvString(t, ctx, x))
	}
}

// Subscriptions in one message of several frames reach the application
// as a message each, by Recv and by TryRecv alike, with the subscriber
// they came from, and a PUB takes them all.
func TestMultipartSubscriptionsSplit(t *testing.T) {
	ctx := testutil.Context(t, waitFor)
	x, err := xpub.New(socket.WithLinger(0), xpub.WithManual(true))
	require.NoError(t, err)
	defer x.Close()
	require.NoError(t, x.Bind("tcp://127.0.0.1:0"))
	xs, err := xsub.New()
	require.NoError(t, err)
	defer xs.Close()
	require.NoError(t, xs.Connect(x.Addr()))
	require.NoError(t, xs.SendFrames(ctx, []byte("\x01a"), []byte("\x01b"), []byte("\x01c")))
	var first = ""
	testutil.CheckFor(t, waitFor, func() bool {
		m, err := x.TryRecv()
		if err != nil {
			return false
		}
		first = string(m.Frames[0])
		m.Release()
		return true
	})
	assert.Equal(t, "\x01a", first)
	m, err := x.TryRecv()
	require.NoError(t, err, "the second is there at once")
	assert.Equal(t, "\x01b", string(m.Frames[0]))
	m.Release()
	m, err = x.Recv(ctx)
	require.NoError(t, err)
	assert.Equal(t, "\x01c", string(m.Frames[0]))
	// It came from the XSUB: manual mode can subscribe it.
	require.NoError(t, x.Subscribe(m, []byte("c")))
	m.Release()
	require.NoError(t, x.SendFrames(ctx, []byte("c1")))
	got, err := xs.Recv(ctx)
	require.NoError(t, err)
	assert.Equal(t, "c1", string(got.Frames[0]))
	got.Release()
}
