//go:build !race

// The race detector makes sync.Pool drop a random share of what it is given,
// so allocation counts are only meaningful without it.

package wire

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSteadyStateAllocs checks that building and releasing messages costs no
// allocation once the pools are warm, also after bytebufferpool has
// calibrated itself (it does so every 42000 returns).
func TestSteadyStateAllocs(t *testing.T) {
	for _, size := range benchSizes {
		t.Run(sizeName(size), func(t *testing.T) {
			frame := bytes.Repeat([]byte{'x'}, size)
			build := func() {
				m := Get()
				m.AppendFrame(frame)
				m.AppendFrame(frame)
				m.AppendFrame(frame)
				m.Release()
			}
			for range warmup {
				build()
			}
			assert.Zero(t, testing.AllocsPerRun(1000, build), fmt.Sprintf("allocations per 3 x %d B message", size))
		})
	}
}

// TestPrependFrameAllocs checks that putting a routing id in front of a
// message costs no allocation, whatever the size of its frames.
func TestPrependFrameAllocs(t *testing.T) {
	id := []byte{0, 1, 2, 3, 4}
	for _, size := range benchSizes {
		t.Run(sizeName(size), func(t *testing.T) {
			frame := bytes.Repeat([]byte{'x'}, size)
			build := func() {
				m := Get()
				m.AppendFrame(frame)
				m.PrependFrame(id)
				m.Release()
			}
			for range warmup {
				build()
			}
			assert.Zero(t, testing.AllocsPerRun(1000, build), fmt.Sprintf("allocations per %d B message and its id", size))
		})
	}
}

// TestShareAllocs checks that handing one message to many holders costs no
// allocation once the pools are warm, whatever its size.
func TestShareAllocs(t *testing.T) {
	frame := bytes.Repeat([]byte{'x'}, 1024)
	out := make([]*Msg, 100)
	share := func() {
		m := Get()
		m.AppendFrame(frame)
		m.Share(len(out))
		for i := range out {
			out[i] = m
		}
		ReleaseAll(out[:50])
		for _, s := range out[50:] {
			s.Release()
		}
	}
	for range warmup {
		share()
	}
	assert.Zero(t, testing.AllocsPerRun(1000, share), "allocations per message shared 100 times")
}

// TestSingleReleasesReachTheDepot: messages released one at a time, as
// Recv's callers release them, go back in bulk to where a reader's Cache
// takes them, half a magazine at a time, instead of staying with the
// processor that released them.
func TestSingleReleasesReachTheDepot(t *testing.T) {
	var drained []*Msg
	for free.n.Load() > 0 {
		drained = takeFree(drained, maxFree)
	}
	defer putFree(drained) // empty and released already
	ms := make([]*Msg, 4*magSize)
	for i := range ms {
		ms[i] = newMsg()
	}
	for _, m := range ms {
		m.Release()
	}
	assert.GreaterOrEqual(t, depotLen(t), magSize/2, "the depot got the magazine's spill")
	var c Cache
	defer c.Flush()
	ours := map[*Msg]bool{}
	for _, m := range ms {
		ours[m] = true
	}
	m := c.Get()
	assert.True(t, ours[m], "a Cache hands out a message released singly")
	m.Release()
}

// TestCrossGoroutineAllocs: a producer that makes messages and a consumer
// on another goroutine that releases them, the shape of a PULL's reader
// and its application, allocate nothing in steady state.
func TestCrossGoroutineAllocs(t *testing.T) {
	const n = 200_000
	run := func() {
		ch := make(chan *Msg, 128)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for m := range ch {
				m.Release()
			}
		}()
		var c Cache
		for range n {
			m := c.Get()
			m.AppendString("0123456789abcdef")
			ch <- m
		}
		c.Flush()
		close(ch)
		<-done
	}
	run() // warm the magazines and the depot
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	run()
	runtime.ReadMemStats(&after)
	assert.Less(t, after.Mallocs-before.Mallocs, uint64(n/100), "allocations for %d messages", n)
}
