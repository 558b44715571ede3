package core_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/pair"
	"github.com/zrouter/zrouter/pull"
	"github.com/zrouter/zrouter/push"
	"github.com/zrouter/zrouter/socket"
)

func TestInprocPushPull(t *testing.T) {
	// A PUSH that connects before its PULLs bind spreads its messages
	// round robin once they are there.
	a, b := inprocName(t, "a"), inprocName(t, "b")
	p, err := push.New(socket.WithLinger(0))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	require.NoError(t, p.Connect(a))
	require.NoError(t, p.Connect(b))
	var sinks []*pull.Pull
	for _, ep := range []string{a, b} {
		s, err := pull.New(socket.WithLinger(0))
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		require.NoError(t, s.Bind(ep))
		sinks = append(sinks, s)
	}
	for i := range 6 {
		send(t, p, fmt.Sprint(i))
	}
	for i := range 6 {
		assert.Equal(t, []string{fmt.Sprint(i)}, recv(t, sinks[i%2]))
	}
	_, err = p.TryRecv()
	assert.ErrorIs(t, err, errors.ErrUnsupported)
}

func TestInprocPushDropsWhatItIsSent(t *testing.T) {
	// Socket types are not checked over inproc, as in libzmq: a DEALER may
	// connect to a PUSH. What it sends is dropped and counted, as over tcp.
	ep := inprocName(t, "push")
	p, err := push.New(socket.WithLinger(0))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	require.NoError(t, p.Bind(ep))
	d := newDealer(t)
	require.NoError(t, d.Connect(ep))
	const n = 5000 // beyond both sides' HWM: nothing piles up
	for i := range n {
		send(t, d, fmt.Sprint(i))
	}
	testutil.CheckFor(t, 5*time.Second, func() bool { return p.Stats().DroppedIn == n }, "all dropped")
	send(t, p, "to the dealer")
	assert.Equal(t, []string{"to the dealer"}, recv(t, d))
}

func TestInprocPairHoldsASecondPeer(t *testing.T) {
	// A PAIR's second connection is held, over inproc as over tcp: what it
	// sends waits until the first peer has gone.
	ep := inprocName(t, "pair")
	newPair := func() *pair.Pair {
		p, err := pair.New(socket.WithLinger(0))
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, p.Close()) })
		return p
	}
	bound, first, second := newPair(), newPair(), newPair()
	require.NoError(t, bound.Bind(ep))
	require.NoError(t, first.Connect(ep))
	send(t, first, "first")
	assert.Equal(t, []string{"first"}, recv(t, bound))

	require.NoError(t, second.Connect(ep))
	testutil.CheckFor(t, 5*time.Second, func() bool { return bound.Stats().Connected == 2 }, "second connected")
	send(t, second, "second")
	send(t, first, "first again")
	assert.Equal(t, []string{"first again"}, recv(t, bound), "the held peer's message went first")

	require.NoError(t, first.Close())
	assert.Equal(t, []string{"second"}, recv(t, bound))
	send(t, bound, "to second")
	assert.Equal(t, []string{"to second"}, recv(t, second))
}
