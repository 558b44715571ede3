package zmtp

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/zrouter/zrouter/wire"
)

var benchFrameSizes = []int{16, 1 << 10, 64 << 10}

func benchName(size int) string {
	if size >= 1<<10 {
		return fmt.Sprintf("3x%dKiB", size>>10)
	}
	return fmt.Sprintf("3x%dB", size)
}

func benchFrames(size int) [][]byte {
	return [][]byte{
		bytes.Repeat([]byte{'a'}, size),
		bytes.Repeat([]byte{'b'}, size),
		bytes.Repeat([]byte{'c'}, size),
	}
}

// BenchmarkEncode appends a 3-frame message to a reused buffer.
func BenchmarkEncode(b *testing.B) {
	for _, size := range benchFrameSizes {
		frames := benchFrames(size)
		b.Run(benchName(size), func(b *testing.B) {
			buf := make([]byte, 0, 3*(MaxHeaderLen+size))
			b.ReportAllocs()
			b.SetBytes(int64(3 * size))
			for b.Loop() {
				buf = AppendMessage(buf[:0], frames)
			}
			if len(buf) < 3*size {
				b.Fatal("short encoding")
			}
		})
	}
}

// loopReader serves the same bytes forever, as a peer that keeps sending the
// same message would.
type loopReader struct {
	data []byte
	off  int
}

func (r *loopReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off += n
	if r.off == len(r.data) {
		r.off = 0
	}
	return n, nil
}

// BenchmarkDecode reads a 3-frame message from a stream into a wire.Msg, and
// resets the message for the next one.
func BenchmarkDecode(b *testing.B) {
	for _, size := range benchFrameSizes {
		frames := benchFrames(size)
		b.Run(benchName(size), func(b *testing.B) {
			// Several messages per round, so that reads are not all cut at
			// the round's end.
			var stream []byte
			for range 8 {
				stream = AppendMessage(stream, frames)
			}
			rd := NewReader(&loopReader{data: stream}, -1)
			m := wire.Get()
			defer m.Release()
			decode := func() {
				for {
					h, err := rd.ReadHeader()
					if err != nil {
						b.Fatal(err)
					}
					if err := rd.ReadFrameInto(m, h); err != nil {
						b.Fatal(err)
					}
					if !h.More() {
						break
					}
				}
				if m.Len() != 3 || len(m.Frames[2]) != size {
					b.Fatalf("decoded %d frames", m.Len())
				}
				m.Reset()
			}
			// Warm the pools, past a bytebufferpool calibration.
			for range 50_000 {
				decode()
			}
			b.ReportAllocs()
			b.SetBytes(int64(3 * size))
			for b.Loop() {
				decode()
			}
		})
	}
}
