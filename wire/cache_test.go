package wire

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// depotLen returns how many messages the depot holds, checking that its
// lock-free count agrees.
func depotLen(t *testing.T) int {
	t.Helper()
	free.mu.Lock()
	defer free.mu.Unlock()
	require.Equal(t, int64(len(free.msgs)), free.n.Load(), "the depot's count")
	return len(free.msgs)
}

// TestDepotBounded: however many messages are released, one at a time or
// in bulk, the depot keeps at most maxFree of them; the collector takes the
// rest.
func TestDepotBounded(t *testing.T) {
	ms := make([]*Msg, 0, 3*maxFree)
	for range cap(ms) {
		m := Get()
		m.AppendString("x")
		ms = append(ms, m)
	}
	for _, m := range ms[:maxFree] {
		m.Release()
	}
	ReleaseAll(ms[maxFree:])
	assert.LessOrEqual(t, depotLen(t), maxFree)
	var c Cache
	for range 2 * cacheBatch {
		m := c.Get()
		assert.Empty(t, m.Frames)
		m.Release()
	}
	c.Flush()
	assert.LessOrEqual(t, depotLen(t), maxFree)
}

// TestRecycleConcurrent makes and releases messages on many goroutines at
// once, through Get and Release, ReleaseAll and Caches: no message may be
// handed to two holders (the race detector sees it when one is) and every
// one comes back empty.
func TestRecycleConcurrent(t *testing.T) {
	const workers, rounds = 8, 2000
	var wg sync.WaitGroup
	handoff := make(chan *Msg, 64)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c Cache
			defer c.Flush()
			batch := make([]*Msg, 0, 16)
			for i := range rounds {
				var m *Msg
				if w%2 == 0 {
					m = Get()
				} else {
					m = c.Get()
				}
				if !assert.Empty(t, m.Frames, "a recycled message is empty") {
					return
				}
				m.AppendString("mine")
				switch i % 3 {
				case 0:
					m.Release()
				case 1:
					batch = append(batch, m)
					if len(batch) == cap(batch) {
						ReleaseAll(batch)
						batch = batch[:0]
					}
				case 2:
					// Released by another goroutine, as a PULL's
					// application releases what its reader made.
					select {
					case handoff <- m:
					default:
						m.Release()
					}
					select {
					case o := <-handoff:
						assert.Equal(t, [][]byte{[]byte("mine")}, o.Frames)
						o.Release()
					default:
					}
				}
			}
			ReleaseAll(batch)
		}()
	}
	wg.Wait()
	close(handoff)
	for m := range handoff {
		m.Release()
	}
	assert.LessOrEqual(t, depotLen(t), maxFree)
}

// drainDepot empties the depot and returns what it held, for the caller
// to put back with putFree.
func drainDepot() []*Msg {
	var drained []*Msg
	for free.n.Load() > 0 {
		drained = takeFree(drained, maxFree)
	}
	return drained
}

// TestDepotTrim: at each collection the depot gives back the messages it
// held unused since the one before, and keeps what the swings of the
// messages in flight drew on.
func TestDepotTrim(t *testing.T) {
	defer putFree(drainDepot())
	release := func(n int) {
		ms := make([]*Msg, n)
		for i := range ms {
			ms[i] = newMsg()
		}
		ReleaseAll(ms)
	}
	release(1000)
	trimFree() // the depot went down to nothing before the 1,000 came in
	require.Equal(t, 1000, depotLen(t), "the messages released since the last trim")

	// A swing that draws the depot down to 100 leaves 100 unused all
	// along: those go back, and what came in after the low point stays.
	taken := takeFree(nil, 900)
	require.Equal(t, 100, depotLen(t))
	putFree(taken)
	clear(taken)
	require.Equal(t, 1000, depotLen(t))
	trimFree()
	assert.Equal(t, 900, depotLen(t), "the 100 the swing never drew on went back")

	// Through a cycle with no takes at all, everything goes back.
	n := depotLen(t)
	require.NotZero(t, n)
	trimFree()
	assert.Zero(t, depotLen(t), "all %d sat unused through the cycle", n)
}

// TestDepotTrimmedByCollections: the trim runs at the end of collection
// cycles, with no call from the program.
func TestDepotTrimmedByCollections(t *testing.T) {
	defer putFree(drainDepot())
	ms := make([]*Msg, 1000)
	for i := range ms {
		ms[i] = newMsg()
	}
	ReleaseAll(ms)
	// The first trim after the release may find the depot's low point
	// from before it; the one after that finds the 1,000 unused.
	for i := 0; depotLen(t) > 0; i++ {
		require.Less(t, i, 10_000, "the depot still holds %d messages after %d collections", depotLen(t), i)
		runtime.GC()
		runtime.Gosched()
	}
}

// BenchmarkInFlightSwing: a reader's Cache fills a queue of n messages,
// then the application releases them one at a time, as the queues of
// subscribers that fall behind fill and drain in turns. One op is one
// message made and released; allocs/op counts the messages that the depot
// had no room for on the way back, and that the next fill made again.
func BenchmarkInFlightSwing(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("inflight=%d", n), func(b *testing.B) {
			queue := make([]*Msg, n)
			var c Cache
			defer c.Flush()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				k := i % n
				if k == 0 && i > 0 {
					for j, m := range queue {
						m.Release()
						queue[j] = nil
					}
				}
				m := c.Get()
				m.AppendString("0123456789abcdef")
				queue[k] = m
			}
			for _, m := range queue {
				if m != nil {
					m.Release()
				}
			}
		})
	}
}
