package xpub_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/pub"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/xpub"
	"github.com/zrouter/zrouter/xsub"
)

func newXSub(t *testing.T, ep string) *xsub.XSub {
	t.Helper()
	xs, err := xsub.New()
	require.NoError(t, err)
	t.Cleanup(func() { _ = xs.Close() })
	require.NoError(t, xs.Connect(ep))
	return xs
}

// A subscriber past its bound of topics, or of their bytes, is refused
// the subscriptions beyond it, counted, and keeps those it has; a cancel
// makes room again.
func TestMaxSubscriptions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n      int
		bytes  int64
		topics []string
		taken  int
	}{
		{"count", 3, 0, []string{"a", "b", "c", "d", "e"}, 3},
		{"bytes", 0, 5, []string{"abc", "de", "f", "gh"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testutil.Context(t, waitFor)
			x, err := xpub.New(socket.WithLinger(0), pub.WithMaxSubscriptions(tc.n, tc.bytes))
			require.NoError(t, err)
			defer x.Close()
			require.NoError(t, x.Bind("tcp://127.0.0.1:0"))
			xs := newXSub(t, x.Addr())
			for _, tp := range tc.topics {
				require.NoError(t, xs.SendFrames(ctx, []byte("\x01"+tp)))
			}
			for _, tp := range tc.topics[:tc.taken] {
				assert.Equal(t, "\x01"+tp, recvString(t, ctx, x))
			}
			refused := uint64(len(tc.topics) - tc.taken)
			testutil.CheckFor(t, waitFor, func() bool { return x.Stats().RefusedSubscriptions == refused })
			// The refused ones are not subscribed: only what was taken
			// reaches the subscriber.
			for _, tp := range tc.topics {
				require.NoError(t, x.SendFrames(ctx, []byte(tp+"!")))
			}
			for _, tp := range tc.topics[:tc.taken] {
				m, err := xs.Recv(ctx)
				require.NoError(t, err)
				assert.Equal(t, tp+"!", string(m.Frames[0]))
				m.Release()
			}
			// A cancel makes room: the next subscription is taken.
			require.NoError(t, xs.SendFrames(ctx, []byte("\x00"+tc.topics[0])))
			assert.Equal(t, "\x00"+tc.topics[0], recvString(t, ctx, x))
			require.NoError(t, xs.SendFrames(ctx, []byte("\x01z")))
			assert.Equal(t, "\x01z", recvString(t, ctx, x))
			assert.Equal(t, refused, x.Stats().RefusedSubscriptions)
		})
	}
}

// The cancels an XPUB makes for subscribers that left wait for Recv
// within a bound of their own, as many as one subscriber may hold; past
// it they are dropped and counted.
func TestMaxSubscriptionsCancels(t *testing.T) {
	ctx := testutil.Context(t, waitFor)
	x, err := xpub.New(socket.WithLinger(0), pub.WithMaxSubscriptions(3, 0))
	require.NoError(t, err)
	defer x.Close()
	require.NoError(t, x.Bind("tcp://127.0.0.1:0"))
	var subs []*xsub.XSub
	for _, who := range []string{"a", "b"} {
		xs := newXSub(t, x.Addr())
		for i := range 3 {
			tp := string(rune('0'+i)) + who
			require.NoError(t, xs.SendFrames(ctx, []byte("\x01"+tp)))
			assert.Equal(t, "\x01"+tp, recvString(t, ctx, x))
		}
		subs = append(subs, xs)
	}
	for _, xs := range subs {
		require.NoError(t, xs.Close())
	}
	testutil.CheckFor(t, waitFor, func() bool {
		st := x.Stats()
		return st.Disconnected == 2 && st.DroppedCancels == 3
	})
	var cancels []string
	for range 3 {
		cancels = append(cancels, recvString(t, ctx, x))
	}
	for _, c := range cancels {
		assert.Equal(t, byte(0), c[0], "a cancel: %q", c)
	}
	_, err = x.TryRecv()
	assert.ErrorIs(t, err, socket.ErrWouldBlock)
}
