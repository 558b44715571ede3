package pub_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/sub"
	"github.com/zrouter/zrouter/wire"
)

// SendAll delivers a batch as Sends would: each subscriber gets the
// messages it matches, in order; an inproc subscriber gets copies of its
// own, which it may change; an empty message is dropped and counted.
func TestSendAll(t *testing.T) {
	ctx := testutil.Context(t, 20*time.Second)
	p := newPub(t)
	require.NoError(t, p.Bind("tcp://127.0.0.1:0"))
	require.NoError(t, p.Bind("inproc://"+t.Name()))
	subs := map[string]*sub.Sub{}
	for i, c := range []struct{ ep, topic string }{
		{p.Addr(), "a"}, {p.Addr(), ""}, {"inproc://" + t.Name(), "a"}, {"inproc://" + t.Name(), "b"},
	} {
		s := newSub(t)
		s.Subscribe([]byte(c.topic))
		require.NoError(t, s.Connect(c.ep))
		subs[fmt.Sprint(i, c.topic)] = s
	}
	waitSubscribers(t, p, "a", 2)
	waitSubscribers(t, p, "", 1)
	waitSubscribers(t, p, "b", 1)

	var ms []*wire.Msg
	want := map[string][]string{}
	for i := range 300 {
		topic := [...]string{"a", "b", "c"}[i%3]
		body := fmt.Sprint(topic, i)
		ms = append(ms, wire.New([]byte(body)))
		for name := range subs {
			if strings.HasPrefix(body, name[1:]) {
				want[name] = append(want[name], body)
			}
		}
		if i == 150 {
			ms = append(ms, wire.Get()) // empty
		}
	}
	n, err := p.SendAll(ctx, ms)
	require.NoError(t, err)
	assert.Equal(t, len(ms), n)
	for name, s := range subs {
		for _, w := range want[name] {
			m, err := s.Recv(ctx)
			require.NoError(t, err)
			require.Equal(t, w, string(m.Frames[0]), name)
			m.Frames[0][0] = 'X' // an inproc subscriber's copy is its own
			m.Release()
		}
	}
	for name, s := range subs {
		_, err := s.TryRecv()
		assert.ErrorIs(t, err, socket.ErrWouldBlock, "%s got more", name)
	}
	assert.Equal(t, uint64(1), p.Stats().DroppedEmpty)

	require.NoError(t, p.Close())
	m := wire.New([]byte("late"))
	n, err = p.SendAll(ctx, []*wire.Msg{m})
	assert.Zero(t, n)
	assert.ErrorIs(t, err, net.ErrClosed)
	m.Release()
}

// A subscriber that does not read misses what its full queue cannot take
// of each batch, counted exactly, while the one that reads gets all.
func TestSendAllSlowSubscriber(t *testing.T) {
	ctx := testutil.Context(t, 60*time.Second)
	const hwm, batch, batches = 50, 20, 250
	p := newPub(t, socket.WithSendHWM(hwm))
	require.NoError(t, p.Bind("tcp://127.0.0.1:0"))
	slow := newSub(t, socket.WithRecvHWM(hwm))
	fast := newSub(t)
	for i, s := range []*sub.Sub{fast, slow} {
		s.Subscribe(nil)
		require.NoError(t, s.Connect(p.Addr()))
		waitSubscribers(t, p, "", i+1)
	}
	payload := make([]byte, 1024)
	got := make(chan int)
	go func() {
		k := 0
		for k < batch*batches {
			m, err := fast.Recv(ctx)
			if err != nil {
				break
			}
			m.Release()
			k++
		}
		got <- k
	}()
	ms := make([]*wire.Msg, batch)
	for range batches {
		testutil.CheckFor(t, waitFor, func() bool { return fastQueued(p) <= hwm-batch })
		for i := range ms {
			ms[i] = wire.New(payload)
		}
		n, err := p.SendAll(ctx, ms)
		require.NoError(t, err)
		require.Equal(t, batch, n)
		require.LessOrEqual(t, p.Peers()[1].Queued, hwm+256)
	}
	assert.Equal(t, batch*batches, <-got, "the fast subscriber gets everything")
	var dropped, slowDropped uint64
	for _, pi := range p.Peers() {
		dropped += pi.DroppedHWM
		slowDropped = max(slowDropped, pi.DroppedHWM)
	}
	require.NotZero(t, dropped)
	assert.Equal(t, dropped, slowDropped, "only the slow subscriber drops")
	assert.Equal(t, dropped, p.Stats().DroppedHWM)
	for range batch*batches - int(dropped) {
		m, err := slow.Recv(ctx)
		require.NoError(t, err)
		m.Release()
	}
	_, err := slow.TryRecv()
	assert.ErrorIs(t, err, socket.ErrWouldBlock)
	assert.Zero(t, p.Stats().Queued)
}
