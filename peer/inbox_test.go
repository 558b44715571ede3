package peer

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/msgmeta"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/wire"
)

func msgs(tag string, n int) []*wire.Msg {
	out := make([]*wire.Msg, n)
	for i := range out {
		out[i] = wire.New([]byte(tag))
	}
	return out
}

func TestInboxFairQueue(t *testing.T) {
	in := NewInbox()
	defer in.Close()
	a, b, c := in.NewSource(0, nil), in.NewSource(0, nil), in.NewSource(0, nil)
	require.NoError(t, a.Push(msgs("a", 100), 0, nil))
	require.NoError(t, b.Push(msgs("b", 3), 0, nil))
	require.NoError(t, c.Push(msgs("c", 3), 0, nil))
	var got string
	for range 9 {
		m := in.TryRecv()
		require.NotNil(t, m)
		got += string(m.Frames[0])
		m.Release()
	}
	assert.Equal(t, "abcabcabc", got, "a chatty source takes turns")
	for range 97 {
		m := in.TryRecv()
		require.NotNil(t, m)
		assert.Equal(t, "a", string(m.Frames[0]))
		m.Release()
	}
	assert.Nil(t, in.TryRecv())
}

func TestInboxBackpressure(t *testing.T) {
	in := NewInbox()
	defer in.Close()
	s := in.NewSource(4, nil)
	done := make(chan error, 1)
	go func() { done <- s.Push(msgs("x", 10), 0, nil) }()
	testutil.CheckFor(t, time.Second, func() bool { return s.Len() == 4 })
	select {
	case <-done:
		t.Fatal("Push returned while the source was full")
	default:
	}
	for range 10 {
		m, err := in.Recv(context.Background())
		require.NoError(t, err)
		m.Release()
		assert.LessOrEqual(t, s.Len(), 4)
	}
	require.NoError(t, <-done)
	assert.EqualValues(t, 10, s.Received())
}

// TestInboxWakesProducerAtLowWater: a producer that waits on a full
// source goes on once the source has drained to half its bound, not at
// each message a receiver takes, as libzmq's pipes let a writer go on once
// per (hwm+1)/2 messages read.
func TestInboxWakesProducerAtLowWater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const hwm = 4 * recvBatch
		in := NewInbox()
		defer in.Close()
		s := in.NewSource(hwm, nil)
		done := make(chan error, 1)
		go func() { done <- s.Push(msgs("x", 3*hwm), 0, nil) }()
		synctest.Wait()
		require.Equal(t, hwm, s.Len())
		slept := 0 // looks at a source below its bound, the producer waiting
		for range 3 * hwm {
			m := in.TryRecv()
			require.NotNil(t, m)
			m.Release()
			synctest.Wait()
			if len(done) == 1 {
				continue // all pushed
			}
			n := s.Len()
			require.Greater(t, n, hwm/2, "the producer waits while the source is at or below half its bound")
			if n < hwm {
				slept++
			}
		}
		assert.Positive(t, slept, "the producer went on as soon as there was room")
		assert.Nil(t, in.TryRecv())
		require.NoError(t, <-done)
	})
}

func TestInboxPushGivesUpWhenGone(t *testing.T) {
	in := NewInbox()
	defer in.Close()
	s := in.NewSource(1, nil)
	gone := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- s.Push(msgs("x", 3), 0, gone) }()
	testutil.CheckFor(t, time.Second, func() bool { return s.Len() == 1 })
	close(gone)
	assert.Error(t, <-done)
}

func TestInboxRecvContextAndClose(t *testing.T) {
	in := NewInbox()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := in.Recv(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	res := make(chan error, 1)
	go func() {
		_, err := in.Recv(context.Background())
		res <- err
	}()
	in.Close()
	assert.ErrorIs(t, <-res, net.ErrClosed)
}

func TestInboxPushNotifyAndManyWaiters(t *testing.T) {
	in := NewInbox()
	defer in.Close()
	src := in.NewSource(1, nil)
	const waiters = 8
	res := make(chan string, waiters)
	for range waiters {
		go func() {
			m, err := in.Recv(context.Background())
			if err != nil {
				res <- err.Error()
				return
			}
			res <- string(m.Frames[0])
			m.Release()
		}()
	}
	for range waiters {
		src.PushNotify(wire.New([]byte("n")), 0) // beyond the bound of 1
	}
	for range waiters {
		assert.Equal(t, "n", <-res)
	}
}

// TestInboxConcurrentReceiversSeeOrder checks that two receivers sharing an
// inbox each see one source's messages in order, although each takes a
// batch at a time.
func TestInboxConcurrentReceiversSeeOrder(t *testing.T) {
	for range 50 {
		in := NewInbox()
		s := in.NewSource(0, nil)
		batch := make([]*wire.Msg, 2000)
		for i := range batch {
			batch[i] = wire.New([]byte{byte(i >> 8), byte(i)})
		}
		require.NoError(t, s.Push(batch, 0, nil))
		got := make([][]int, 2)
		var wg sync.WaitGroup
		for r := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					m := in.TryRecv()
					if m == nil {
						return
					}
					got[r] = append(got[r], int(m.Frames[0][0])<<8|int(m.Frames[0][1]))
					m.Release()
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, 2000, len(got[0])+len(got[1]))
		for _, seq := range got {
			assert.True(t, slices.IsSorted(seq), "a receiver saw messages out of order")
		}
		in.Close()
	}
}

func TestSourceDropping(t *testing.T) {
	in := NewInbox()
	defer in.Close()
	s := in.NewSource(1, nil)
	s.SetDropping()
	// Far over the mark, and never waits.
	require.NoError(t, s.Push(msgs("x", 100), 300, nil))
	assert.EqualValues(t, 100, s.Received())
	assert.EqualValues(t, 100, s.Dropped())
	assert.EqualValues(t, 300, s.Bytes())
	assert.Zero(t, s.Len())
	assert.Nil(t, in.TryRecv())
}

func TestSourceHold(t *testing.T) {
	in := NewInbox()
	defer in.Close()
	s := in.NewSource(0, nil)
	s.Hold()
	s.SetHWM(5) // a change of the mark does not let a held producer in
	done := make(chan error, 1)
	go func() { done <- s.Push(msgs("x", 3), 0, nil) }()
	testutil.CheckFor(t, time.Second, func() bool {
		in.mu.Lock()
		defer in.mu.Unlock()
		return s.waiting
	}, "the producer waits")
	assert.Zero(t, s.Len())
	assert.Nil(t, in.TryRecv())
	s.Release()
	require.NoError(t, <-done)
	for range 3 {
		m := in.TryRecv()
		require.NotNil(t, m)
		m.Release()
	}
}

func TestSourceDiscardDropsLaterPushes(t *testing.T) {
	in := NewInbox()
	defer in.Close()
	s := in.NewSource(2, nil)
	done := make(chan error, 1)
	go func() { done <- s.Push(msgs("x", 5), 0, nil) }()
	testutil.CheckFor(t, time.Second, func() bool { return s.Len() == 2 })
	// The producer waits with three; Discard drops the two queued and the
	// three it still holds.
	s.Discard()
	require.NoError(t, <-done)
	assert.Zero(t, s.Len())
	assert.Nil(t, in.TryRecv())
	require.NoError(t, s.Push(msgs("y", 1), 0, nil))
	assert.Nil(t, in.TryRecv())
	assert.EqualValues(t, 6, s.Received())
}

// TestInboxNotifyBound: PushNotify's messages, which no source's bound
// holds, have a bound of their own across the inbox: beyond it they are
// dropped, and a Discard or a Recv makes room again.
func TestInboxNotifyBound(t *testing.T) {
	in := NewInbox()
	defer in.Close()
	var srcs []*Source
	for range 4 {
		srcs = append(srcs, in.NewSource(1, nil))
	}
	assert.True(t, srcs[0].PushNotify(wire.New([]byte("a")), 2))
	assert.True(t, srcs[1].PushNotify(wire.New([]byte("b")), 2))
	assert.False(t, srcs[2].PushNotify(wire.New([]byte("c")), 2), "the third waits beyond the bound")
	srcs[1].Discard()
	assert.True(t, srcs[2].PushNotify(wire.New([]byte("c")), 2), "a Discard makes room")
	assert.False(t, srcs[3].PushNotify(wire.New([]byte("d")), 2))
	assert.True(t, srcs[3].PushNotify(wire.New([]byte("d")), 0), "0: no bound")
	var got []string
	for m := in.TryRecv(); m != nil; m = in.TryRecv() {
		got = append(got, string(m.Frames[0]))
		assert.False(t, msgmeta.Of(m).Notify, "the mark stays inside")
		m.Release()
	}
	assert.Equal(t, []string{"a", "c", "d"}, got)
	assert.Zero(t, in.notifies, "a Recv makes room")
}

// TestInboxRunOfOneSource: the messages a receiver takes in one go from
// the only source with messages carry that source's origin, in order, and
// only the last one, with nothing behind it, is marked drained.
func TestInboxRunOfOneSource(t *testing.T) {
	in := NewInbox()
	defer in.Close()
	s := in.NewSource(0, "origin")
	const n = 3*recvBatch + 5
	batch := make([]*wire.Msg, n)
	for i := range batch {
		batch[i] = wire.New([]byte{byte(i)})
	}
	require.NoError(t, s.Push(batch, 0, nil))
	for i := range n {
		m, err := in.Recv(context.Background())
		require.NoError(t, err)
		assert.Equal(t, []byte{byte(i)}, m.Frames[0])
		meta := msgmeta.Of(m)
		assert.Equal(t, "origin", meta.Origin)
		assert.Equal(t, i == n-1, meta.Drained, "message %d drained", i)
		m.Release()
	}
	assert.Zero(t, s.Len())
}

// TestInboxReceiversProducersAndClose: producers push while receivers
// take, and the inbox closes midway; every message is either received
// once or released by the inbox, never both (a second release panics).
func TestInboxReceiversProducersAndClose(t *testing.T) {
	for range 20 {
		in := NewInbox()
		var wg sync.WaitGroup
		for p := range 3 {
			s := in.NewSource(64, nil)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					batch := make([]*wire.Msg, 20)
					for j := range batch {
						batch[j] = wire.New([]byte{byte(p), byte(i), byte(j)})
					}
					if s.Push(batch, 0, nil) != nil {
						return
					}
				}
			}()
		}
		var got sync.Map
		var rwg sync.WaitGroup
		for range 3 {
			rwg.Add(1)
			go func() {
				defer rwg.Done()
				for {
					m, err := in.Recv(context.Background())
					if err != nil {
						return
					}
					_, dup := got.LoadOrStore(string(m.Frames[0]), true)
					assert.False(t, dup, "a message received twice")
					m.Release()
				}
			}()
		}
		testutil.CheckFor(t, 5*time.Second, func() bool {
			n := 0
			got.Range(func(any, any) bool { n++; return n < 100 })
			return n >= 100
		})
		in.Close()
		wg.Wait()
		rwg.Wait()
	}
}
