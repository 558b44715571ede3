//go:build !race

// The race detector makes sync.Pool drop a random share of what it is given,
// so allocation counts are only meaningful without it.

package zmtp

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/wire"
)

// TestCodecSteadyStateAllocs checks that encoding into a reused buffer and
// decoding into a reused wire.Msg cost no allocation once the pools are warm.
func TestCodecSteadyStateAllocs(t *testing.T) {
	for _, size := range benchFrameSizes {
		t.Run(benchName(size), func(t *testing.T) {
			frames := benchFrames(size)
			buf := make([]byte, 0, 3*(MaxHeaderLen+size))
			assert.Zero(t, testing.AllocsPerRun(100, func() {
				buf = AppendMessage(buf[:0], frames)
			}), "encode")

			var stream []byte
			for range 8 {
				stream = AppendMessage(stream, frames)
			}
			rd := NewReader(&loopReader{data: stream}, -1)
			m := wire.Get()
			defer m.Release()
			var err error
			decode := func() {
				for err == nil {
					var h Header
					if h, err = rd.ReadHeader(); err == nil {
						err = rd.ReadFrameInto(m, h)
					}
					if !h.More() {
						break
					}
				}
				m.Reset()
			}
			for range 50_000 {
				decode()
			}
			allocs := testing.AllocsPerRun(1000, decode)
			require.NoError(t, err)
			assert.Zero(t, allocs, "decode")
		})
	}
}
