package peer

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/wire"
)

func TestQueueHWM(t *testing.T) {
	q := NewQueue(3, 0)
	for range 3 {
		require.NoError(t, q.Push(wire.New([]byte("x"))))
	}
	m := wire.New([]byte("y"))
	assert.ErrorIs(t, q.Push(m), ErrQueueFull)
	assert.True(t, q.Full())

	// Messages the writer has taken make room, as in libzmq, but still
	// show in Len until written.
	batch, _, _ := q.take(nil, nil, 1<<20)
	require.Len(t, batch, 3)
	require.NoError(t, q.Push(m))
	assert.Equal(t, 4, q.Len())
	q.done(len(batch), 0, nil)
	release(batch)
	assert.Equal(t, 1, q.Len())
	q.Close()
	assert.ErrorIs(t, q.Push(wire.New()), net.ErrClosed)
}

func TestQueueUnlimited(t *testing.T) {
	q := NewQueue(0, 0)
	defer q.Close()
	for range 10000 {
		require.NoError(t, q.Push(wire.Get()))
	}
	assert.Equal(t, 10000, q.Len())
}

func TestQueuePushWait(t *testing.T) {
	q := NewQueue(1, 0)
	defer q.Close()
	require.NoError(t, q.Push(wire.Get()))

	// ctx ends the wait.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	m := wire.Get()
	assert.ErrorIs(t, q.PushWait(ctx, m, nil, nil), context.DeadlineExceeded)

	// gone ends the wait with its error.
	gone := make(chan struct{})
	errGoneTest := errors.New("gone")
	res := make(chan error, 1)
	go func() { res <- q.PushWait(context.Background(), m, gone, errGoneTest) }()
	close(gone)
	assert.ErrorIs(t, <-res, errGoneTest)

	// room ends the wait with success.
	go func() { res <- q.PushWait(context.Background(), m, nil, nil) }()
	batch, _, _ := q.take(nil, nil, 1<<20)
	q.done(len(batch), 0, nil)
	release(batch)
	require.NoError(t, <-res)
	assert.Equal(t, 1, q.Len())
}

func TestQueueTakeBoundedByBytes(t *testing.T) {
	q := NewQueue(0, 0)
	defer q.Close()
	for range 10 {
		require.NoError(t, q.Push(wire.New(make([]byte, 100))))
	}
	batch, _, _ := q.take(nil, nil, 250)
	assert.Len(t, batch, 3, "stops once 250 bytes are reached")
	q.done(len(batch), 0, nil)
	release(batch)
	batch, _, _ = q.take(batch[:0], nil, 1)
	assert.Len(t, batch, 1, "at least one message")
	q.done(len(batch), 0, nil)
	release(batch)
	assert.Equal(t, 6, q.Len())
}

func TestQueueCloseWakesWaiters(t *testing.T) {
	q := NewQueue(1, 0)
	require.NoError(t, q.Push(wire.Get()))
	res := make(chan error, 1)
	m := wire.Get()
	go func() { res <- q.PushWait(context.Background(), m, nil, nil) }()
	q.Close()
	assert.ErrorIs(t, <-res, net.ErrClosed)
	m.Release()
}

func TestQueueControlBounded(t *testing.T) {
	q := NewQueue(1, 0)
	defer q.Close()
	cmd := make([]byte, 100)
	n := 0
	for q.pushControl(cmd) {
		n++
	}
	assert.Equal(t, maxControl/104, n, "each body and its length")
}

// TestQueueRoomHook: a full queue asked with WantRoom calls its room hook
// once, when the writer takes messages and so makes room; a queue with
// room asks nothing.
func TestQueueRoomHook(t *testing.T) {
	q := NewQueue(2, 0)
	calls := 0
	q.SetRoomHook(func() { calls++ })
	assert.False(t, q.WantRoom(), "an empty queue has room")
	require.NoError(t, q.Push(wire.New([]byte("a"))))
	require.NoError(t, q.Push(wire.New([]byte("b"))))
	assert.True(t, q.WantRoom(), "a full queue")
	batch, _, _ := q.take(nil, nil, maxWriteBatch)
	require.Len(t, batch, 2)
	assert.Equal(t, 1, calls, "taking makes room")
	q.done(len(batch), 2, nil)
	wire.ReleaseAll(batch)
	batch, _, _ = q.take(batch[:0], nil, maxWriteBatch)
	assert.Empty(t, batch)
	assert.Equal(t, 1, calls, "once per request")

	require.NoError(t, q.Push(wire.New([]byte("c"))))
	require.NoError(t, q.Push(wire.New([]byte("d"))))
	assert.True(t, q.WantRoom())
	q.Close()
	assert.Equal(t, 2, calls, "closing wakes the sender too")
	assert.True(t, q.WantRoom(), "a closed queue never has room")
}

// TestQueuePushAll checks that PushAll takes what the mark lets in, in
// order, counts it, wakes the writer once, and leaves the rest.
func TestQueuePushAll(t *testing.T) {
	q := NewQueue(4, 0)
	require.NoError(t, q.Push(wire.New([]byte("0"))))
	<-q.wake
	ms := []*wire.Msg{wire.New([]byte("1")), wire.New([]byte("2")), wire.New([]byte("3")), wire.New([]byte("4"))}
	n, err := q.PushAll(ms)
	assert.Equal(t, 3, n)
	assert.ErrorIs(t, err, ErrQueueFull)
	assert.Empty(t, q.wake, "no wake: the queue had a message for the writer already")
	ms[3].Release()
	assert.Equal(t, uint64(4), q.Stats().Pushed)

	batch, _, _ := q.take(nil, nil, 1<<20)
	var got []string
	for _, m := range batch {
		got = append(got, string(m.Frames[0]))
	}
	assert.Equal(t, []string{"0", "1", "2", "3"}, got)
	q.done(len(batch), 0, nil)
	release(batch)

	n, err = q.PushAll([]*wire.Msg{wire.New([]byte("5")), wire.New([]byte("6"))})
	assert.Equal(t, 2, n)
	require.NoError(t, err)
	assert.Len(t, q.wake, 1, "an empty queue wakes its writer")
	assert.Equal(t, 2, q.Len())
	q.Close()
	m := wire.New([]byte("7"))
	n, err = q.PushAll([]*wire.Msg{m})
	assert.Zero(t, n)
	assert.ErrorIs(t, err, net.ErrClosed)
	m.Release()
}

func TestQueuePushAllConflate(t *testing.T) {
	q := NewQueue(1, 0)
	q.SetConflate()
	defer q.Close()
	n, err := q.PushAll([]*wire.Msg{wire.New([]byte("a")), wire.New([]byte("b")), wire.New([]byte("c"))})
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	batch, _, _ := q.take(nil, nil, 1<<20)
	require.Len(t, batch, 1)
	assert.Equal(t, "c", string(batch[0].Frames[0]), "the newest is kept")
	q.done(1, 0, nil)
	release(batch)
}

// Offer on a queue that has just filled yields, so that a writer waiting
// for the P empties it (under GOMAXPROCS=1, where Push alone is refused
// until the scheduler preempts the sender); once refused after its yields,
// it refuses at once until the queue takes a message again.
func TestQueueOfferLetsWriterRun(t *testing.T) {
	q := NewQueue(10, 0)
	defer q.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	func() {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		wg.Go(func() { // the writer, without a connection
			for {
				select {
				case <-q.wake:
				case <-stop:
					return
				}
				batch, _, _ := q.take(nil, nil, 1<<20)
				q.done(len(batch), 0, nil)
				release(batch)
			}
		})
		for i := range 1000 {
			require.NoError(t, q.Offer(wire.Get()), "message %d", i)
		}
	}()

	// A queue nobody empties: Offer gives up, and then refuses at once.
	r := NewQueue(2, 0)
	defer r.Close()
	ms := []*wire.Msg{wire.Get(), wire.Get(), wire.Get()}
	n, err := r.OfferAll(ms)
	assert.Equal(t, 2, n)
	assert.ErrorIs(t, err, ErrQueueFull)
	assert.False(t, r.yieldable())
	assert.ErrorIs(t, r.Offer(ms[2]), ErrQueueFull)
	batch, _, _ := r.take(nil, nil, 1<<20)
	r.done(len(batch), 0, nil)
	release(batch)
	require.NoError(t, r.Offer(ms[2]))
	assert.True(t, r.yieldable(), "taking a message ends the refusal")
}
