package device_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/device"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/pub"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/sub"
	"github.com/zrouter/zrouter/xpub"
	"github.com/zrouter/zrouter/xsub"
)

// startForwarder binds an XSUB and an XPUB, both with opts, and runs a
// Forwarder between them until the test ends.
func startForwarder(t *testing.T, opts ...socket.Option) (*device.Forwarder, *xsub.XSub, *xpub.XPub) {
	t.Helper()
	front, err := xsub.New(opts...)
	require.NoError(t, err)
	back, err := xpub.New(append([]socket.Option{socket.WithLinger(0)}, opts...)...)
	require.NoError(t, err)
	require.NoError(t, front.Bind("tcp://127.0.0.1:0"))
	require.NoError(t, back.Bind("tcp://127.0.0.1:0"))
	f, err := device.NewForwarder(front, back)
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() { _ = f.Run(context.Background()) })
	t.Cleanup(func() {
		f.Terminate()
		wg.Wait()
		assert.NoError(t, front.Close())
		assert.NoError(t, back.Close())
	})
	return f, front, back
}

func subscribers(p *pub.Pub, prefix string) int {
	n := 0
	p.Subscribers(func(pr []byte, k int) {
		if string(pr) == prefix {
			n = k
		}
	})
	return n
}

// Subscriptions go up through the forwarder, to a publisher that was
// there first and to one that connects later; messages come down to the
// subscribers they match; a cancel goes up when the last subscriber of a
// prefix leaves; the forwarder counts the subscribers of each prefix.
func TestForwarder(t *testing.T) {
	ctx := testutil.Context(t, 20*time.Second)
	f, front, back := startForwarder(t)
	early, err := pub.New(socket.WithLinger(0))
	require.NoError(t, err)
	defer early.Close()
	require.NoError(t, early.Connect(front.Addr()))

	var subs []*sub.Sub
	for _, topic := range []string{"a", "a", "b"} {
		s, err := sub.New()
		require.NoError(t, err)
		defer s.Close()
		s.Subscribe([]byte(topic))
		require.NoError(t, s.Connect(back.Addr()))
		subs = append(subs, s)
	}
	testutil.CheckFor(t, 10*time.Second, func() bool { return subscribers(early, "a") == 1 && subscribers(early, "b") == 1 })
	// The publisher has each prefix once the first subscriber of it is
	// through; the forwarder counts the second "a" when it arrives.
	testutil.CheckFor(t, 10*time.Second, func() bool {
		top, n := f.Topics(0)
		return n == 2 && len(top) == 2 && top[0] == device.TopicCount{Prefix: "a", Subscribers: 2} && top[1] == device.TopicCount{Prefix: "b", Subscribers: 1}
	}, "the forwarder counts a twice and b once")

	late, err := pub.New(socket.WithLinger(0))
	require.NoError(t, err)
	defer late.Close()
	require.NoError(t, late.Connect(front.Addr()))
	testutil.CheckFor(t, 10*time.Second, func() bool { return subscribers(late, "a") == 1 && subscribers(late, "b") == 1 },
		"a late publisher gets every subscription")
	require.NoError(t, early.SendFrames(ctx, []byte("a1")))
	require.NoError(t, late.SendFrames(ctx, []byte("b1")))
	for i, want := range []string{"a1", "a1", "b1"} {
		m, err := subs[i].Recv(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, string(m.Frames[0]))
		m.Release()
	}
	require.NoError(t, subs[2].Close())
	testutil.CheckFor(t, 10*time.Second, func() bool { return subscribers(early, "b") == 0 && subscribers(late, "b") == 0 },
		"the cancel of a subscriber gone goes up")
	assert.Equal(t, 1, subscribers(early, "a"))
}

// A thousand subscribers on distinct topics each get exactly their
// messages through the forwarder.
func TestForwarderThousandSubscribers(t *testing.T) {
	const n = 1000
	ctx := testutil.Context(t, 60*time.Second)
	_, front, back := startForwarder(t)
	// No limit on the publisher's queue: it may run ahead of the
	// forwarder, and a PUB would drop what its queue cannot take.
	p, err := pub.New(socket.WithLinger(0), socket.WithSendHWM(0))
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.Connect(front.Addr()))
	subs := make([]*sub.Sub, n)
	for i := range subs {
		s, err := sub.New()
		require.NoError(t, err)
		defer s.Close()
		s.Subscribe(fmt.Appendf(nil, "topic-%04d|", i))
		require.NoError(t, s.Connect(back.Addr()))
		subs[i] = s
	}
	testutil.CheckFor(t, 30*time.Second, func() bool {
		k := 0
		p.Subscribers(func([]byte, int) { k++ })
		return k == n
	}, "%d subscriptions at the publisher", n)
	const each = 3
	for j := range each {
		for i := range n {
			require.NoError(t, p.SendFrames(ctx, fmt.Appendf(nil, "topic-%04d|%d", i, j)))
		}
	}
	for i, s := range subs {
		for j := range each {
			m, err := s.Recv(ctx)
			require.NoError(t, err)
			require.Equal(t, fmt.Sprintf("topic-%04d|%d", i, j), string(m.Frames[0]))
			m.Release()
		}
		_, err := s.TryRecv()
		require.ErrorIs(t, err, socket.ErrWouldBlock)
	}
}
