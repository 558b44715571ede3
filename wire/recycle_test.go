package wire

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestResetDropsGrownStorage: a message that held many frames goes back to
// the free list without the arrays that grew for them, so recycled
// messages pin a few hundred bytes each, not what the largest message they
// ever carried needed.
func TestResetDropsGrownStorage(t *testing.T) {
	m := Get()
	for range 100_000 {
		m.AppendRef(nil)
	}
	for range 2 * maxKeptLarge {
		m.NewFrame(LargeFrame)
	}
	m.Reset()
	assert.LessOrEqual(t, cap(m.Frames), maxKeptFrames)
	assert.Nil(t, m.fheap)
	assert.LessOrEqual(t, cap(m.large), maxKeptLarge)

	// A message of a few frames more than fbuf holds keeps its headers'
	// array: a steady stream of 8-frame messages does not allocate.
	for range 8 {
		m.AppendRef(nil)
	}
	heap := cap(m.fheap)
	m.Reset()
	assert.Equal(t, heap, cap(m.fheap))
	assert.Equal(t, 0, len(m.Frames))
	m.Release()
}

// TestManyFrameBurstsLeaveNoHeap reproduces the bursts of 100,000-frame
// messages that once left tens of MiB live in the free list after every
// message was released.
func TestManyFrameBurstsLeaveNoHeap(t *testing.T) {
	const msgs, frames = 32, 100_000 // ≈ 100 MiB of frame headers while they live
	live := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	drainDepot() // to the collector: what other tests left would go at the trims inside live
	before := live()
	batch := make([]*Msg, msgs)
	for i := range batch {
		m := Get()
		for range frames {
			m.AppendRef(nil)
		}
		batch[i] = m
	}
	require.Greater(t, live(), before+64<<20, "the burst itself holds its headers")
	ReleaseAll(batch) // to the free list, which the collector does not empty
	after := live()
	kept := int64(after) - int64(before)
	t.Logf("heap kept after the burst: %d KiB", kept>>10)
	assert.Less(t, kept, int64(8<<20), "heap kept after the burst: %d MiB", kept>>20)
}
