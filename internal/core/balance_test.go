package core

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/peer"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// newTestBalancer returns a Balancer on a PUSH core that has no endpoint,
// for tests that give it pipes of their own.
func newTestBalancer(t *testing.T) *Balancer {
	t.Helper()
	c, err := New(Spec{Type: zmtp.PUSH}, nil, &socket.Socket{})
	require.NoError(t, err)
	b := new(Balancer)
	b.Init(c)
	return b
}

func testPipe(hwm int) *Pipe { return &Pipe{Q: peer.NewQueue(hwm, 0)} }

// leave takes p out as the core's detach does: marked, then removed.
func leave(b *Balancer, p *Pipe) {
	p.removed.Store(true)
	b.RemovePipe(p)
}

func msg(s string) *wire.Msg { m := wire.Get(); m.AppendString(s); return m }

// TestBalancerTurns: messages go to the pipes in turn, passing over full
// pipes and pipes that left, and the turn after a full pipe moves past it.
func TestBalancerTurns(t *testing.T) {
	b := newTestBalancer(t)
	ps := []*Pipe{testPipe(0), testPipe(1), testPipe(0), testPipe(0)}
	for _, p := range ps {
		require.NoError(t, b.AddPipe(p))
	}
	var got []*Pipe
	for range 8 {
		p, err := b.SendPipe(context.Background(), msg("x"), false)
		require.NoError(t, err)
		got = append(got, p)
	}
	// ps[1] holds one message, then is full.
	assert.Equal(t, []*Pipe{ps[0], ps[1], ps[2], ps[3], ps[0], ps[2], ps[3], ps[0]}, got)

	leave(b, ps[2])
	got = got[:0]
	for range 4 {
		p, err := b.SendPipe(context.Background(), msg("x"), false)
		require.NoError(t, err)
		got = append(got, p)
	}
	assert.NotContains(t, got, ps[2], "a pipe that left takes nothing")
	assert.Contains(t, got, ps[3])
	assert.Contains(t, got, ps[0])
}

// TestBalancerNoRoom: with every pipe full, or none, a Send that may not
// wait says so and keeps the message; one that waits gives up with its
// context.
func TestBalancerNoRoom(t *testing.T) {
	b := newTestBalancer(t)
	m := msg("x")
	_, err := b.SendPipe(context.Background(), m, false)
	assert.ErrorIs(t, err, socket.ErrWouldBlock, "no pipe")
	p := testPipe(1)
	require.NoError(t, b.AddPipe(p))
	_, err = b.SendPipe(context.Background(), m, false)
	require.NoError(t, err)
	m = msg("y")
	_, err = b.SendPipe(context.Background(), m, false)
	assert.ErrorIs(t, err, socket.ErrWouldBlock, "the one pipe is full")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = b.SendPipe(ctx, m, true)
	assert.ErrorIs(t, err, context.Canceled)
	m.Release()
}

// TestBalancerCompacts: pipes that left are dropped from the list once they
// outnumber those that remain, so churn does not grow it, and a departure
// costs O(1) amortized.
func TestBalancerCompacts(t *testing.T) {
	b := newTestBalancer(t)
	keep := testPipe(0)
	require.NoError(t, b.AddPipe(keep))
	for range 10_000 {
		p := testPipe(0)
		require.NoError(t, b.AddPipe(p))
		leave(b, p)
		require.LessOrEqual(t, len(b.list.Load().pipes), 2*b.pipes+compactSlack+1)
	}
	for range 10 {
		p, err := b.SendPipe(context.Background(), msg("x"), false)
		require.NoError(t, err)
		assert.Same(t, keep, p)
	}
}

// TestBalancerConcurrent sends from several goroutines while pipes come
// and go: every message lands in exactly one queue.
func TestBalancerConcurrent(t *testing.T) {
	b := newTestBalancer(t)
	all := []*Pipe{testPipe(0)}
	require.NoError(t, b.AddPipe(all[0]))
	const senders, each = 4, 2000
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if _, err := b.SendPipe(context.Background(), msg("x"), true); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	live := []*Pipe{}
	for range 200 {
		p := testPipe(0)
		require.NoError(t, b.AddPipe(p))
		all = append(all, p)
		live = append(live, p)
		if len(live) > 3 {
			leave(b, live[0])
			live = live[1:]
		}
	}
	wg.Wait()
	var pushed uint64
	for _, p := range all {
		pushed += p.Q.Stats().Pushed
		p.Q.Close()
	}
	assert.Equal(t, uint64(senders*each), pushed, "messages queued, over every pipe")
}

// TestBalancerWaitsForAnyPipe: a Send that finds every pipe full waits
// until any of them has room, whichever it is, and goes there.
func TestBalancerWaitsForAnyPipe(t *testing.T) {
	for roomy := range 3 {
		synctest.Test(t, func(t *testing.T) {
			b := newTestBalancer(t)
			ps := []*Pipe{testPipe(1), testPipe(1), testPipe(1)}
			for _, p := range ps {
				require.NoError(t, b.AddPipe(p))
			}
			for range ps {
				_, err := b.SendPipe(context.Background(), msg("fill"), false)
				require.NoError(t, err)
			}
			got := make(chan *Pipe, 1)
			go func() {
				p, err := b.SendPipe(context.Background(), msg("waits"), true)
				assert.NoError(t, err)
				got <- p
			}()
			synctest.Wait() // the Send waits
			select {
			case <-got:
				t.Fatal("the Send went through with every pipe full")
			default:
			}
			ps[roomy].Q.SetHWM(2)
			assert.Same(t, ps[roomy], <-got, "the pipe that made room")
			for _, p := range ps {
				p.Q.Close()
			}
		})
	}
}
