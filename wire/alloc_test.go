//go:build !race

// The race detector makes sync.Pool drop a random share of what it is given,
// so allocation counts are only meaningful without it.

package wire

import (
	"bytes"
	"fmt"
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
