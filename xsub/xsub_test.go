package xsub_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/xpub"
	"github.com/zrouter/zrouter/xsub"
)

// An XSUB passes its subscriptions, counted, and its other messages to
// the XPUBs it is connected to, and receives what they publish to it.
func TestUpstream(t *testing.T) {
	ctx := testutil.Context(t, 10*time.Second)
	x, err := xpub.New(socket.WithLinger(0))
	require.NoError(t, err)
	defer x.Close()
	require.NoError(t, x.Bind("tcp://127.0.0.1:0"))
	xs, err := xsub.New()
	require.NoError(t, err)
	defer xs.Close()
	require.NoError(t, xs.Connect(x.Addr()))
	require.NoError(t, xs.WaitPeers(ctx, 1))
	for _, f := range []string{"\x01t", "\x01t", "\x00t", "user message", "\x00t", "\x00never"} {
		require.NoError(t, xs.SendFrames(ctx, []byte(f)))
	}
	assert.Zero(t, xs.Subscriptions())
	// XPUB passes the first subscription, the user message, the last
	// cancel; the cancel of "never" goes nowhere, the XSUB never had it.
	for _, want := range []string{"\x01t", "user message", "\x00t"} {
		m, err := x.Recv(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, string(m.Frames[0]))
		m.Release()
	}
	require.NoError(t, xs.SendFrames(ctx, []byte("\x01")))
	m, err := x.Recv(ctx)
	require.NoError(t, err)
	assert.Equal(t, "\x01", string(m.Frames[0]))
	m.Release()
	require.NoError(t, x.SendFrames(ctx, []byte("anything"), []byte("two")))
	m, err = xs.Recv(ctx)
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("anything"), []byte("two")}, m.Frames)
	m.Release()
}

// A message of several frames subscribes with every frame that has a
// subscription's form; with WithOnlyFirstSubscribe only when the first
// frame is one. A cancel the XSUB does not pass on leaves the message.
func TestMultipartSubscriptions(t *testing.T) {
	ctx := testutil.Context(t, 10*time.Second)
	for _, only := range []bool{false, true} {
		xs, err := xsub.New(xsub.WithOnlyFirstSubscribe(only))
		require.NoError(t, err)
		defer xs.Close()
		require.NoError(t, xs.SendFrames(ctx, []byte("data"), []byte("\x01y")))
		want := 1
		if only {
			want = 0
		}
		assert.Equal(t, want, xs.Subscriptions(), "only first %v: data, then a subscription", only)
		require.NoError(t, xs.SendFrames(ctx, []byte("\x01a"), []byte("\x01b"), []byte("\x00never")))
		assert.Equal(t, want+2, xs.Subscriptions(), "only first %v: two subscriptions", only)
		require.NoError(t, xs.SendFrames(ctx, []byte("\x00a"), []byte("\x00b")))
		assert.Equal(t, want, xs.Subscriptions())
		require.NoError(t, xs.SendFrames(ctx, []byte("\x00never"), []byte("\x00never")))
		assert.Equal(t, want, xs.Subscriptions())
	}
}
