package sub_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/pub"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/sub"
	"github.com/zrouter/zrouter/wire"
)

// A Sub cannot send; it receives only what it subscribed to, and with
// no subscription nothing, whatever the publisher sends.
func TestSubFilters(t *testing.T) {
	ctx := testutil.Context(t, 10*time.Second)
	s, err := sub.New()
	require.NoError(t, err)
	defer s.Close()
	m := wire.New([]byte("x"))
	assert.ErrorIs(t, s.TrySend(m), errors.ErrUnsupported)
	m.Release()
	require.NoError(t, s.Bind("tcp://127.0.0.1:0"))
	p, err := pub.New(socket.WithLinger(0))
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.Connect(s.Addr()))
	require.NoError(t, s.WaitPeers(ctx, 1))
	s.Subscribe([]byte("yes"))
	testutil.CheckFor(t, 10*time.Second, func() bool {
		n := 0
		p.Subscribers(func([]byte, int) { n++ })
		return n == 1
	})
	for _, f := range []string{"no", "", "ye", "yes", "yesyes"} {
		require.NoError(t, p.SendFrames(ctx, []byte(f)))
	}
	for _, want := range []string{"yes", "yesyes"} {
		m, err := s.Recv(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, string(m.Frames[0]))
		m.Release()
	}
	_, err = s.TryRecv()
	assert.ErrorIs(t, err, socket.ErrWouldBlock, "the three before yes were filtered out")
}

// With CONFLATE a Sub keeps the newest message alone: of a burst it
// receives, Recv returns the last, and nothing after it.
func TestSubConflate(t *testing.T) {
	ctx := testutil.Context(t, 10*time.Second)
	s, err := sub.New(socket.WithConflate(true))
	require.NoError(t, err)
	defer s.Close()
	s.Subscribe(nil)
	require.NoError(t, s.Bind("tcp://127.0.0.1:0"))
	p, err := pub.New(socket.WithLinger(0), socket.WithSendHWM(0))
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.Connect(s.Addr()))
	testutil.CheckFor(t, 10*time.Second, func() bool {
		n := 0
		p.Subscribers(func([]byte, int) { n++ })
		return n == 1
	})
	const n = 1000
	for i := range n {
		require.NoError(t, p.SendFrames(ctx, []byte(fmt.Sprint(i))))
	}
	testutil.CheckFor(t, 10*time.Second, func() bool { return s.Stats().MsgsIn == n }, "all received")
	m, err := s.Recv(ctx)
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprint(n-1), string(m.Frames[0]))
	m.Release()
	_, err = s.TryRecv()
	assert.ErrorIs(t, err, socket.ErrWouldBlock)
}

// WithInvertMatching on a Sub keeps what matches none of its
// subscriptions.
func TestSubInvert(t *testing.T) {
	ctx := testutil.Context(t, 10*time.Second)
	s, err := sub.New(socket.WithInvertMatching(true))
	require.NoError(t, err)
	defer s.Close()
	s.Subscribe([]byte("a"))
	require.NoError(t, s.Bind("tcp://127.0.0.1:0"))
	p, err := pub.New(socket.WithLinger(0), socket.WithInvertMatching(true))
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.Connect(s.Addr()))
	testutil.CheckFor(t, 10*time.Second, func() bool {
		n := 0
		p.Subscribers(func([]byte, int) { n++ })
		return n == 1
	})
	for _, f := range []string{"a1", "b1", "ab", "c1"} {
		require.NoError(t, p.SendFrames(ctx, []byte(f)))
	}
	for _, want := range []string{"b1", "c1"} {
		m, err := s.Recv(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, string(m.Frames[0]))
		m.Release()
	}
}
