package wire

import (
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
