package wire

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/msgmeta"
)

// pattern returns n bytes that differ from those of another seed.
func pattern(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// framesOf returns copies of m's frames, for comparing after m is reused.
func framesOf(m *Msg) [][]byte {
	out := make([][]byte, len(m.Frames))
	for i, f := range m.Frames {
		out[i] = append([]byte{}, f...)
	}
	return out
}

func TestAppendFrame(t *testing.T) {
	tests := []struct {
		name   string
		frames [][]byte
	}{
		{name: "none"},
		{name: "one empty", frames: [][]byte{{}}},
		{name: "envelope", frames: [][]byte{[]byte("id"), {}, []byte("hello")}},
		{name: "small", frames: [][]byte{pattern(1, 16), pattern(2, 100), pattern(3, 255)}},
		{name: "just below large", frames: [][]byte{pattern(4, LargeFrame-1)}},
		{name: "exactly large", frames: [][]byte{pattern(5, LargeFrame)}},
		{name: "mixed", frames: [][]byte{pattern(6, 10), pattern(7, 3*LargeFrame), {}, pattern(8, 300), pattern(9, LargeFrame+1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New(tc.frames...)
			defer m.Release()
			require.Equal(t, len(tc.frames), m.Len())
			size := 0
			for i, f := range tc.frames {
				assert.Equal(t, f, m.Frames[i], "frame %d", i)
				size += len(f)
			}
			assert.Equal(t, size, m.Size())
			for i, f := range m.Frames {
				if len(f) > 0 {
					assert.NotSame(t, &tc.frames[i][0], &f[0], "frame %d must be a copy", i)
				}
			}
		})
	}
}

func TestAppendString(t *testing.T) {
	m := Get()
	defer m.Release()
	m.AppendString("hello")
	m.AppendString("")
	m.AppendString(string(pattern(3, LargeFrame)))
	require.Equal(t, 3, m.Len())
	assert.Equal(t, "hello", string(m.Frames[0]))
	assert.Empty(t, m.Frames[1])
	assert.Equal(t, pattern(3, LargeFrame), m.Frames[2])
}

// TestArenaGrowth adds small frames until the arena has moved several times
// and checks after every step that each earlier frame still points at its own
// bytes in the current arena.
func TestArenaGrowth(t *testing.T) {
	m := Get()
	defer m.Release()
	var want [][]byte
	moves := 0
	for i := range 200 {
		n := (i * 37) % (LargeFrame / 4)
		before := cap(m.arenaBytes())
		f := pattern(byte(i), n)
		m.AppendFrame(f)
		want = append(want, f)
		if cap(m.arenaBytes()) != before {
			moves++
		}
		require.Len(t, m.Frames, len(want))
		for j := range want {
			require.Equal(t, want[j], m.Frames[j], "frame %d after adding frame %d", j, i)
		}
	}
	require.Greater(t, moves, 3, "the arena must have moved")

	arena := m.arenaBytes()
	off := 0
	for i, f := range m.Frames {
		if len(f) == 0 {
			continue
		}
		assert.Same(t, &arena[off], &f[0], "frame %d points into the current arena", i)
		assert.Equal(t, len(f), cap(f), "frame %d must not be able to grow into its neighbour", i)
		off += len(f)
	}
}

// TestNewFrameWithinArenaGrowth checks NewFrame's promise: Frames follows the
// storage, and writing through Frames changes only that frame.
func TestNewFrameWithinArenaGrowth(t *testing.T) {
	m := Get()
	defer m.Release()
	a := m.NewFrame(10)
	copy(a, "0123456789")
	for i := range 50 {
		copy(m.NewFrame(100), pattern(byte(i), 100))
	}
	m.Frames[0][0] = 'X'
	assert.Equal(t, "X123456789", string(m.Frames[0]))
	for i := 1; i <= 50; i++ {
		assert.Equal(t, pattern(byte(i-1), 100), m.Frames[i], "frame %d", i)
	}
}

func TestLargeFrameOwnStorage(t *testing.T) {
	m := Get()
	defer m.Release()
	m.AppendFrame([]byte("small"))
	big := pattern(9, LargeFrame)
	m.AppendFrame(big)
	m.AppendFrame([]byte("tail"))
	require.Equal(t, [][]byte{[]byte("small"), big, []byte("tail")}, m.Frames)
	require.Len(t, m.large, 1)
	assert.Same(t, &(*m.large[0])[0], &m.Frames[1][0])
	assert.Len(t, m.arenaBytes(), len("small")+len("tail"), "only small frames use the arena")
}

func TestResizeLast(t *testing.T) {
	tests := []struct {
		name    string
		initial int
		sizes   []int
	}{
		{name: "grow within capacity", initial: 2 * LargeFrame, sizes: []int{2 * LargeFrame}},
		{name: "grow past capacity", initial: LargeFrame, sizes: []int{3 * LargeFrame}},
		{name: "grow in steps", initial: LargeFrame, sizes: []int{LargeFrame + 1, 4 * LargeFrame, 9*LargeFrame + 5, 40 * LargeFrame}},
		{name: "shrink", initial: 4 * LargeFrame, sizes: []int{LargeFrame}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := Get()
			defer m.Release()
			m.AppendString("head")
			f := m.NewFrame(tc.initial)
			want := pattern(42, tc.initial)
			copy(f, want)
			for _, n := range tc.sizes {
				f = m.ResizeLast(n)
				require.Len(t, f, n)
				require.Len(t, m.Frames[1], n)
				assert.Same(t, &f[0], &m.Frames[1][0], "Frames must hold the resized frame")
				keep := min(len(want), n)
				require.Equal(t, want[:keep], f[:keep], "ResizeLast must keep the frame's first bytes")
				// Fill the new part as a reader would.
				want = append(want[:keep], pattern(byte(n), n-keep)...)
				copy(f[keep:], want[keep:])
			}
			assert.Equal(t, "head", string(m.Frames[0]))
			assert.Equal(t, want, m.Frames[1])
		})
	}
}

func TestResizeLastPanics(t *testing.T) {
	tests := []struct {
		name  string
		build func(m *Msg)
		n     int
	}{
		{name: "no frames", build: func(*Msg) {}, n: LargeFrame},
		{name: "last is small", build: func(m *Msg) { m.NewFrame(LargeFrame); m.NewFrame(10) }, n: LargeFrame},
		{name: "last is a reference", build: func(m *Msg) { m.NewFrame(LargeFrame); m.AppendRef(make([]byte, LargeFrame)) }, n: LargeFrame},
		{name: "too small", build: func(m *Msg) { m.NewFrame(LargeFrame) }, n: LargeFrame - 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := Get()
			defer m.Release()
			tc.build(m)
			assert.Panics(t, func() { m.ResizeLast(tc.n) })
		})
	}
}

func TestAppendRef(t *testing.T) {
	m := Get()
	defer m.Release()
	ref := []byte("routing-id")
	m.AppendRef(ref)
	m.AppendFrame([]byte("copied"))
	for i := range 100 { // move the arena
		m.AppendFrame(pattern(byte(i), 200))
	}
	require.Same(t, &ref[0], &m.Frames[0][0], "a reference is not copied, nor moved with the arena")
	ref[0] = 'R'
	assert.Equal(t, "Routing-id", string(m.Frames[0]))
	assert.Equal(t, "copied", string(m.Frames[1]))

	m.Reset()
	assert.Equal(t, "Routing-id", string(ref), "Reset must leave the caller's memory alone")
}

func TestClone(t *testing.T) {
	ref := []byte("ref")
	m := New([]byte("a"), pattern(1, LargeFrame+3), []byte{})
	m.AppendRef(ref)
	c := m.Clone()
	defer c.Release()
	want := framesOf(m)
	require.Equal(t, want, c.Frames)
	for i, f := range c.Frames {
		if len(f) > 0 {
			assert.NotSame(t, &m.Frames[i][0], &f[0], "frame %d must be copied", i)
		}
	}
	m.Release()
	ref[0] = 'X'
	// m's storage is back in the pools; whoever gets it next may scribble on
	// it. The clone must not care.
	n := New(pattern(200, 20), pattern(201, LargeFrame+3))
	defer n.Release()
	assert.Equal(t, want, c.Frames)
}

func TestReset(t *testing.T) {
	m := New([]byte("one"), pattern(1, 2*LargeFrame), []byte("three"))
	defer m.Release()
	old := m.Frames[:3]
	m.Reset()
	assert.Equal(t, 0, m.Len())
	assert.Equal(t, 0, m.Size())
	assert.Empty(t, m.Frames)
	assert.Nil(t, m.arena)
	assert.Empty(t, m.large)
	for i, f := range old {
		assert.Nil(t, f, "Reset must drop frame %d so its storage is not kept alive", i)
	}

	m.AppendString("again")
	m.AppendFrame(pattern(2, LargeFrame))
	assert.Equal(t, [][]byte{[]byte("again"), pattern(2, LargeFrame)}, m.Frames)
}

func TestZeroMsg(t *testing.T) {
	m := new(Msg)
	m.AppendString("x")
	m.AppendFrame(pattern(3, LargeFrame))
	assert.Equal(t, 2, m.Len())
	assert.NotPanics(t, m.Release, "a zero Msg may be released once")
	assert.PanicsWithValue(t, "wire: message released twice", m.Release)
}

func TestDoubleReleasePanics(t *testing.T) {
	tests := []struct {
		name   string
		frames [][]byte
	}{
		{name: "empty"},
		{name: "small", frames: [][]byte{[]byte("x")}},
		{name: "large", frames: [][]byte{pattern(1, LargeFrame)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New(tc.frames...)
			m.Release()
			assert.PanicsWithValue(t, "wire: message released twice", m.Release)
		})
	}
}

func TestGetAfterReleaseIsEmpty(t *testing.T) {
	for i := range 100 {
		m := New(pattern(byte(i), 50), pattern(byte(i), LargeFrame))
		m.Release()
		m = Get()
		require.Equal(t, 0, m.Len(), "round %d", i)
		m.AppendString("fresh")
		require.Equal(t, [][]byte{[]byte("fresh")}, m.Frames)
		m.Release()
	}
}

// arenaBytes returns the arena's bytes, nil when there is none.
func (m *Msg) arenaBytes() []byte { return m.ab }

var benchSizes = []int{16, 1 << 10, 64 << 10}

// warmup is enough builds for bytebufferpool to calibrate at least once.
const warmup = 50_000

// BenchmarkMsgBuildRelease builds a 3-frame message from the pools and
// releases it. Once the pools are warm it must not allocate.
func BenchmarkMsgBuildRelease(b *testing.B) {
	for _, size := range benchSizes {
		frame := bytes.Repeat([]byte{'x'}, size)
		build := func() {
			m := Get()
			m.AppendFrame(frame)
			m.AppendFrame(frame)
			m.AppendFrame(frame)
			m.Release()
		}
		b.Run(fmt.Sprintf("3x%s", sizeName(size)), func(b *testing.B) {
			// Let bytebufferpool recalibrate to this size first (it does so
			// every 42000 returns) so that the loop measures the steady
			// state, not the switch from the previous size.
			for range warmup {
				build()
			}
			b.ReportAllocs()
			b.SetBytes(int64(3 * size))
			for b.Loop() {
				build()
			}
		})
	}
}

// BenchmarkMsgOneFrame makes a one-frame message of 16 bytes, as a PULL's
// reader does for each message it decodes, and releases it.
func BenchmarkMsgOneFrame(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		m := Get()
		m.NewFrame(16)[0] = 1
		m.Release()
	}
}

func sizeName(n int) string {
	if n >= 1<<10 {
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// TestResizeLastGrowsGeometrically builds a 40 MiB frame in 1 MiB steps, as
// a reader does while the bytes arrive. Past the largest pool class the
// storage must still grow by doubling; growing it to each exact size would
// copy the whole frame at every step (some 800 MiB for this one).
func TestResizeLastGrowsGeometrically(t *testing.T) {
	const step, total = 1 << 20, 40 << 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m := Get()
	f := m.NewFrame(step)
	f[0] = 1
	for n := 2 * step; n <= total; n += step {
		f = m.ResizeLast(n)
		f[n-step] = byte(n / step)
	}
	runtime.ReadMemStats(&after)
	require.Len(t, m.Frames[0], total)
	for n := step; n <= total; n += step {
		require.Equal(t, byte(n/step), f[n-step], "first byte of step %d", n/step)
	}
	m.Release()
	used := after.TotalAlloc - before.TotalAlloc
	assert.Less(t, used, uint64(4*total), "allocated %d MiB for a %d MiB frame", used>>20, total>>20)
}

// TestAppendOwnFrame appends copies of the message's own first frame until
// the arena has moved several times. The source of each copy lives in the
// arena being replaced, so that arena must not go back to the pool before
// the copy is made.
func TestAppendOwnFrame(t *testing.T) {
	m := Get()
	defer m.Release()
	first := pattern(7, 300)
	m.AppendFrame(first)
	moves := 0
	for i := range 60 {
		old := &m.ab[0]
		wasPooled := m.arena != nil
		m.AppendFrame(m.Frames[0])
		if &m.ab[0] != old {
			moves++
			if wasPooled {
				require.NotNil(t, m.retired, "append %d: the old arena is kept", i)
				assert.Same(t, old, &(*m.retired)[:1][0], "append %d: the old arena is kept", i)
			}
		}
		require.Equal(t, first, m.Frames[i+1], "append %d", i)
	}
	for i, f := range m.Frames {
		require.Equal(t, first, f, "frame %d", i)
	}
	assert.Greater(t, moves, 2)
}

func TestReleaseAllAndCache(t *testing.T) {
	ms := []*Msg{New([]byte("a")), New(make([]byte, 2000)), New(make([]byte, LargeFrame))}
	for _, m := range ms {
		msgmeta.Of(m).Origin = "somewhere"
	}
	ReleaseAll(ms)
	for _, m := range ms {
		assert.Nil(t, m, "ReleaseAll clears the slice")
	}
	var c Cache
	seen := map[*Msg]bool{}
	for range 3 {
		m := c.Get()
		assert.Empty(t, m.Frames)
		assert.Nil(t, msgmeta.Of(m).Origin, "Reset clears the origin")
		m.AppendString("reused")
		seen[m] = true
		m.Release()
	}
	c.Flush()
	assert.Zero(t, c.Len())
	m := Get()
	ReleaseAll([]*Msg{m})
	assert.Panics(t, func() { ReleaseAll([]*Msg{m}) }, "a message released twice")
}

// TestMetaIsInsideTheMessage checks that msgmeta.Of finds the Meta of the
// message it is given, and of no other.
func TestMetaIsInsideTheMessage(t *testing.T) {
	a, b := Get(), Get()
	defer a.Release()
	defer b.Release()
	assert.Same(t, &a.meta, msgmeta.Of(a))
	assert.Same(t, &b.meta, msgmeta.Of(b))
	msgmeta.Of(a).Drained = true
	assert.True(t, a.meta.Drained)
	assert.False(t, b.meta.Drained)
}

func TestResetClearsMeta(t *testing.T) {
	m := New([]byte("a"))
	msgmeta.Of(m).Drained = true
	msgmeta.Of(m).Origin = m
	m.Reset()
	assert.Equal(t, msgmeta.Meta{}, *msgmeta.Of(m))
	m.Release()
}

// TestReslicedFrames edits Frames as ordinary Go code does (dropping,
// reordering and replacing frames) and then adds frames until the arena has
// moved several times: every frame must keep its bytes, and nothing may
// panic.
func TestReslicedFrames(t *testing.T) {
	edits := []struct {
		name string
		edit func(m *Msg) [][]byte // returns the frames m should now hold
	}{
		{name: "drop first", edit: func(m *Msg) [][]byte {
			m.Frames = m.Frames[1:]
			return framesOf(m)
		}},
		{name: "drop last", edit: func(m *Msg) [][]byte {
			m.Frames = m.Frames[:len(m.Frames)-1]
			return framesOf(m)
		}},
		{name: "swap", edit: func(m *Msg) [][]byte {
			m.Frames[0], m.Frames[2] = m.Frames[2], m.Frames[0]
			return framesOf(m)
		}},
		{name: "replace", edit: func(m *Msg) [][]byte {
			m.Frames[1] = []byte("the caller's own bytes")
			return framesOf(m)
		}},
		{name: "new slice", edit: func(m *Msg) [][]byte {
			m.Frames = [][]byte{m.Frames[3], m.Frames[0]}
			return framesOf(m)
		}},
		{name: "emptied", edit: func(m *Msg) [][]byte {
			m.Frames = m.Frames[:0]
			return nil
		}},
		{name: "nil", edit: func(m *Msg) [][]byte {
			m.Frames = nil
			return nil
		}},
	}
	for _, tc := range edits {
		t.Run(tc.name, func(t *testing.T) {
			m := New([]byte("id"), nil, pattern(1, 100), pattern(2, LargeFrame), pattern(3, 50))
			want := tc.edit(m)
			for i := range 100 {
				f := pattern(byte(i), 90)
				m.AppendFrame(f)
				want = append(want, f)
				require.Equal(t, len(want), len(m.Frames), "append %d", i)
				for j := range want {
					require.Equal(t, want[j], m.Frames[j], "frame %d after append %d", j, i)
				}
			}
			m.Release()
			m = Get()
			defer m.Release()
			assert.Empty(t, m.Frames, "a recycled message starts empty")
			m.AppendString("next")
			assert.Equal(t, [][]byte{[]byte("next")}, m.Frames)
		})
	}
}

func TestPrependFrame(t *testing.T) {
	for _, size := range []int{0, 100, inlineSize, 1 << 10, LargeFrame} {
		m := Get()
		body := m.NewFrame(size)
		for i := range body {
			body[i] = byte(i)
		}
		want := append([]byte(nil), body...)
		at := unsafe.SliceData(m.Frames[0])
		m.PrependFrame([]byte("id"))
		if len(m.Frames) != 2 || string(m.Frames[0]) != "id" {
			t.Fatalf("%d bytes: frames %q", size, m.Frames)
		}
		if size > 0 && unsafe.SliceData(m.Frames[1]) != at {
			t.Errorf("%d bytes: the frame moved", size)
		}
		if !bytes.Equal(m.Frames[1], want) {
			t.Errorf("%d bytes: the frame changed", size)
		}
		m.AppendFrame([]byte("tail"))
		if string(m.Frames[0]) != "id" || string(m.Frames[2]) != "tail" || !bytes.Equal(m.Frames[1], want) {
			t.Errorf("%d bytes: after an append: %q", size, m.Frames)
		}
		// Enough ids to fill every spare byte, and more.
		for i := range 100 {
			m.PrependFrame(bytes.Repeat([]byte{byte(i)}, 3))
		}
		for i := range 100 {
			if f := m.Frames[99-i]; !bytes.Equal(f, bytes.Repeat([]byte{byte(i)}, 3)) {
				t.Fatalf("%d bytes: id %d is %q", size, i, f)
			}
		}
		if !bytes.Equal(m.Frames[101], want) {
			t.Errorf("%d bytes: the frame changed under the ids", size)
		}
		m.Release()
	}
}

func TestShare(t *testing.T) {
	m := New([]byte("topic"), pattern(3, LargeFrame+5))
	want := framesOf(m)
	m.Share(3)
	assert.True(t, m.Shared())
	m.Release()
	ReleaseAll([]*Msg{m})
	assert.False(t, m.released, "the message must live while a holder does")
	assert.True(t, m.Shared())
	assert.Equal(t, want, framesOf(m), "the last holder's frames")
	ReleaseAll([]*Msg{m})
	assert.True(t, m.released, "the last holder releases the message")
	assert.False(t, m.Shared())
}

func TestShareMisuse(t *testing.T) {
	m := New([]byte("x"))
	assert.PanicsWithValue(t, "wire: Share to fewer than one holder", func() { m.Share(0) })
	m.Share(2)
	assert.PanicsWithValue(t, "wire: message shared twice", func() { m.Share(2) })
	assert.PanicsWithValue(t, "wire: Reset of a shared message", func() { m.Reset() })
	m.Release()
	m.Release()
	assert.PanicsWithValue(t, "wire: message released twice", func() { m.Release() })
}

// TestShareMixedRelease gives ReleaseAll shared messages among messages
// of one owner: only the last holder's release of each shared one
// returns it, and every other message goes back at once.
func TestShareMixedRelease(t *testing.T) {
	a, b := New([]byte("a")), New([]byte("b"))
	a.Share(2)
	own := New([]byte("own"))
	ReleaseAll([]*Msg{a, own, b})
	assert.True(t, own.released)
	assert.True(t, b.released)
	assert.False(t, a.released)
	assert.Equal(t, [][]byte{[]byte("a")}, framesOf(a))
	ms := []*Msg{a}
	ReleaseAll(ms)
	assert.True(t, a.released)
	assert.Nil(t, ms[0], "ReleaseAll clears its slice")
}

func TestShareConcurrentRelease(t *testing.T) {
	for range 100 {
		m := New([]byte("x"))
		m.Share(8)
		done := make(chan struct{})
		for i := range 8 {
			go func() {
				_ = len(m.Frames[0]) // every holder reads while the others release
				if i%2 == 0 {
					m.Release()
				} else {
					ReleaseAll([]*Msg{m})
				}
				done <- struct{}{}
			}()
		}
		for range 8 {
			<-done
		}
		assert.True(t, m.released)
	}
}

func TestReleaseN(t *testing.T) {
	m := New([]byte("x"))
	m.Share(5)
	m.ReleaseN(3)
	assert.False(t, m.released)
	assert.PanicsWithValue(t, "wire: message released twice", func() { m.ReleaseN(3) }, "more holds than are left")
	m = New([]byte("y"))
	m.Share(4)
	m.Release()
	m.ReleaseN(3)
	assert.True(t, m.released, "the last hold returns it")
	m = New([]byte("z"))
	m.ReleaseN(1)
	assert.True(t, m.released, "ReleaseN(1) of a message of one owner is Release")
	m = New([]byte("w"))
	assert.Panics(t, func() { m.ReleaseN(2) }, "two holds of a message of one owner")
	assert.Panics(t, func() { New().ReleaseN(0) })
}

// TestMsgLayout checks what the layout of Msg promises: what a message of
// one small frame touches as it is filled, taken and released lies in
// three cache lines, the count of a shared message's holders in a line of
// its own, and a Msg fills the 384-byte size class.
func TestMsgLayout(t *testing.T) {
	var m Msg
	const line = 64
	lineOf := func(off, size uintptr) [2]uintptr { return [2]uintptr{off / line, (off + size - 1) / line} }
	first := [2]uintptr{0, 0}
	for name, f := range map[string][2]uintptr{
		"Frames":   lineOf(unsafe.Offsetof(m.Frames), unsafe.Sizeof(m.Frames)),
		"ab":       lineOf(unsafe.Offsetof(m.ab), unsafe.Sizeof(m.ab)),
		"arena":    lineOf(unsafe.Offsetof(m.arena), unsafe.Sizeof(m.arena)),
		"shared":   lineOf(unsafe.Offsetof(m.shared), unsafe.Sizeof(m.shared)),
		"released": lineOf(unsafe.Offsetof(m.released), unsafe.Sizeof(m.released)),
		"spare":    lineOf(unsafe.Offsetof(m.spare), unsafe.Sizeof(m.spare)),
		"hasLarge": lineOf(unsafe.Offsetof(m.hasLarge), unsafe.Sizeof(m.hasLarge)),
	} {
		assert.Equal(t, first, f, "%s is in the first line", name)
	}
	second := [2]uintptr{1, 1}
	assert.Equal(t, second, lineOf(unsafe.Offsetof(m.meta), unsafe.Sizeof(m.meta)), "meta")
	assert.Equal(t, second, lineOf(unsafe.Offsetof(m.fbuf), unsafe.Sizeof(m.fbuf[0])), "the first frame's header")
	inline := lineOf(unsafe.Offsetof(m.inline), 16)
	assert.Equal(t, inline[0], inline[1], "a 16 B frame in inline spans one line")
	holders := lineOf(unsafe.Offsetof(m.holders), unsafe.Sizeof(m.holders))
	assert.Equal(t, [2]uintptr{5, 5}, holders, "the count of holders has the last line, which the others of a small message are not in")
	assert.Equal(t, uintptr(384), unsafe.Sizeof(m), "the 384-byte size class, whose objects start on a line")
}
