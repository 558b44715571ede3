package wire

import (
	"sync/atomic"
	"unsafe"

	"github.com/zrouter/zrouter/internal/msgmeta"
)

// LargeFrame is the size from which a frame gets storage of its own instead of
// sharing the message's arena. Large frames are then written to the network
// straight from that storage, without being copied into a write buffer.
const LargeFrame = 8 << 10

// inlineSize is the storage every message carries inside itself, so that a
// small message costs one pooled object and no buffer from a pool.
const inlineSize = 124

// Msg is a multipart message.
//
// Frames lists the frames in order. Frames copied in with [Msg.AppendFrame]
// or made with [Msg.NewFrame] live in storage owned by the message, which is
// recycled by [Msg.Release]: do not keep a frame after releasing its message.
// A frame added with [Msg.AppendRef] is referenced, not copied; its memory
// stays the caller's and must not change until the message is released.
//
// Frames is an ordinary slice: it may be resliced, reordered, or given
// frames of the caller's own, and the Append methods go on working on what
// it holds. A message received from a socket owns all of its frames, the
// routing id included, so changing one changes nothing else.
//
// A Msg is not safe for concurrent use. Handing a message to a socket's Send
// transfers ownership: the caller must not touch it afterwards.
type Msg struct {
	// Frames are the message's frames, in order.
	Frames [][]byte

	// A small message of one frame lies in three cache lines, and these
	// are all that passing it between goroutines and releasing it touch:
	// the first holds the fields every use reads or writes, the second
	// meta and the first frame's header, the fourth the start of inline.
	// A message goes from the core that fills it to the one that takes
	// it and back to the pool, so each line it spans is moved twice.
	// A shared message is read by its holders on every core at once, and
	// only its count of holders changes while they have it: that count
	// has the sixth line, so that a holder's release on one core does not
	// take the lines that the others read from their caches.

	ab       []byte  // small frames, back to back: inline or *arena
	arena    *[]byte // pooled storage once inline is too small
	released bool    // set by Release and cleared by Get: a second Release panics
	// shared is set by Share, and cleared when the last holder releases.
	shared bool
	// spare is how much of inline PrependFrame has used since the small
	// frames moved to an arena, which leaves inline free.
	spare uint8
	// hasLarge is set while large holds storage, so that Reset looks at
	// large only then.
	hasLarge bool

	meta   msgmeta.Meta
	fbuf   [4][]byte
	inline [inlineSize]byte
	// holders counts the holders of a shared message that have not
	// released it yet; 0 for a message of one owner.
	holders atomic.Int32

	large []*[]byte // pooled storage of large frames
	// retired is the arena before the last growth. It goes back to the
	// pool only at the next growth or at Reset, so that a frame being
	// copied in from the old arena (m.AppendFrame(m.Frames[i])) is still
	// there when NewFrame returns. It is only set while arena is.
	retired *[]byte
	// fheap is the largest array Frames has grown into beyond fbuf, kept
	// for reuse after Reset.
	fheap [][]byte
}

func init() {
	msgmeta.SetOffset(unsafe.Offsetof(Msg{}.meta))
}

// newMsg returns a message whose first frames' headers use its own storage.
func newMsg() *Msg {
	m := new(Msg)
	m.Frames = m.fbuf[:0]
	return m
}

// Get returns an empty message from the pool.
func Get() *Msg {
	m := getMsg()
	m.released = false
	return m
}

// New returns a message holding copies of frames.
func New(frames ...[]byte) *Msg {
	m := Get()
	for _, f := range frames {
		m.AppendFrame(f)
	}
	return m
}

// Len returns the number of frames.
func (m *Msg) Len() int { return len(m.Frames) }

// Size returns the total number of body bytes over all frames.
func (m *Msg) Size() int {
	n := 0
	for _, f := range m.Frames {
		n += len(f)
	}
	return n
}

// AppendFrame appends a copy of p as the last frame.
func (m *Msg) AppendFrame(p []byte) {
	copy(m.NewFrame(len(p)), p)
}

// AppendString appends a copy of s as the last frame.
func (m *Msg) AppendString(s string) {
	copy(m.NewFrame(len(s)), s)
}

// AppendRef appends p as the last frame without copying it. The caller keeps
// ownership of p's memory and must not modify it while the message lives.
func (m *Msg) AppendRef(p []byte) {
	m.addFrame(p)
}

// addFrame appends f to Frames, remembering the array Frames grows into.
func (m *Msg) addFrame(f []byte) {
	if len(m.Frames) < cap(m.Frames) {
		m.Frames = append(m.Frames, f)
		return
	}
	m.Frames = append(m.Frames, f)
	if cap(m.Frames) > cap(m.fheap) {
		if m.fheap == nil {
			clear(m.fbuf[:]) // the headers moved out for good
		}
		m.fheap = m.Frames[:0]
	}
}

// PrependFrame puts a copy of p in front of the frames. It never moves the
// frames already there: when the message's storage for small frames has
// no room left, the copy gets pooled storage of its own.
func (m *Msg) PrependFrame(p []byte) {
	if m.ab == nil {
		m.ab = m.inline[:0]
	}
	var f []byte
	if off, n := len(m.ab), len(p); off+n <= cap(m.ab) {
		m.ab = m.ab[:off+n]
		f = m.ab[off : off+n : off+n]
	} else if at := int(m.spare); m.arena != nil && at+n <= inlineSize {
		// The small frames are in the arena: inline is free, and a
		// routing id fits there.
		f = m.inline[at : at+n : at+n]
		m.spare = uint8(at + n)
	} else {
		b := getBuf(n)
		m.large = append(m.large, b)
		m.hasLarge = true
		f = *b
	}
	copy(f, p)
	m.addFrame(nil)
	copy(m.Frames[1:], m.Frames[:len(m.Frames)-1])
	m.Frames[0] = f
}

// NewFrame appends a frame of n bytes owned by the message and returns it for
// the caller to fill. The returned slice stays valid until the next call that
// adds a frame; Frames always points at the current storage.
func (m *Msg) NewFrame(n int) []byte {
	if n >= LargeFrame {
		b := getBuf(n)
		m.large = append(m.large, b)
		m.hasLarge = true
		m.addFrame(*b)
		return *b
	}
	if m.ab == nil {
		m.ab = m.inline[:0]
	}
	off := len(m.ab)
	if off+n > cap(m.ab) {
		m.growArena(off + n)
	}
	m.ab = m.ab[:off+n]
	f := m.ab[off : off+n : off+n]
	m.addFrame(f)
	return f
}

// ResizeLast changes the length of the last frame to n and returns it, keeping
// its first bytes. It lets a reader grow a frame as its bytes actually arrive,
// instead of trusting a size announced by a peer. The last frame must have
// been made by NewFrame with at least LargeFrame bytes, and n must be at least
// LargeFrame; otherwise ResizeLast panics.
func (m *Msg) ResizeLast(n int) []byte {
	last := len(m.Frames) - 1
	if last < 0 || len(m.large) == 0 || n < LargeFrame {
		panic("wire: ResizeLast on a frame that is not large")
	}
	b := m.large[len(m.large)-1]
	if f := m.Frames[last]; len(f) == 0 || len(*b) == 0 || &f[0] != &(*b)[0] {
		panic("wire: ResizeLast on a frame that is not large")
	}
	if cap(*b) < n {
		// Grow geometrically: past the largest pool class getBuf gives
		// exactly what is asked, and a frame grown in small steps would
		// be copied whole at every step.
		nb := getBuf(max(n, 2*cap(*b)))
		copy(*nb, *b)
		putBuf(b)
		b = nb
		m.large[len(m.large)-1] = b
	}
	*b = (*b)[:n]
	m.Frames[last] = *b
	return *b
}

// growArena moves the small frames to pooled storage of at least need bytes
// and points every frame of Frames that lies in the old arena at its new
// place. It goes by where each frame's bytes are, not by its index, so
// frames the caller dropped, moved or replaced are handled alike.
func (m *Msg) growArena(need int) {
	if need < 4*inlineSize {
		need = 4 * inlineSize
	}
	old := m.ab
	nb := getBuf(need)
	b := append((*nb)[:0], old...)
	*nb = b
	if m.retired != nil {
		putBuf(m.retired)
	}
	m.retired = m.arena // nil when the frames were inline
	m.arena = nb
	m.ab = b
	base := uintptr(unsafe.Pointer(unsafe.SliceData(old)))
	end := base + uintptr(len(old))
	for i, f := range m.Frames {
		if len(f) == 0 {
			m.Frames[i] = b[:0:0] // nothing to move; let go of the old arena
			continue
		}
		if p := uintptr(unsafe.Pointer(unsafe.SliceData(f))); p >= base && p < end {
			off := int(p - base)
			m.Frames[i] = b[off : off+len(f) : off+len(f)]
		}
	}
}

// Reset empties the message and returns its storage to the pools, keeping the
// message itself for reuse.
func (m *Msg) Reset() {
	if m.shared {
		panic("wire: Reset of a shared message")
	}
	m.reset()
}

// reset is Reset without the check.
func (m *Msg) reset() {
	if m.arena != nil {
		putBuf(m.arena)
		m.arena = nil
		if m.retired != nil {
			putBuf(m.retired)
			m.retired = nil
		}
	}
	m.ab = m.inline[:0]
	m.spare = 0
	if m.hasLarge {
		m.hasLarge = false
		for i, b := range m.large {
			putBuf(b)
			m.large[i] = nil
		}
		m.large = m.large[:0]
		if cap(m.large) > maxKeptLarge {
			m.large = nil
		}
	}
	// Clear the frame headers so that no stale frame keeps memory alive:
	// one by one, which for the few frames of most messages is cheaper
	// than the call that clear makes.
	f := m.Frames
	if len(f) <= len(m.fbuf) {
		for i := 0; i < len(f); i++ {
			f[i] = nil
		}
	} else {
		clear(f)
	}
	if cap(f) > 0 && &f[:1][0] == &m.fbuf[0] {
		m.Frames = m.fbuf[:0]
	} else {
		m.resetFrames(f)
	}
	m.meta = msgmeta.Meta{}
	m.shared = false
}

// resetFrames is Reset's slow path, for Frames beyond fbuf or no longer a
// prefix of an array the message owns (the caller resliced or replaced
// it): those arrays are cleared too.
func (m *Msg) resetFrames(f [][]byte) {
	if cap(m.fheap) > maxKeptFrames {
		// Grown for a message of many frames: let the collector have it.
		clear(m.fbuf[:])
		m.fheap = nil
		m.Frames = m.fbuf[:0]
		return
	}
	if m.fheap != nil && cap(f) > 0 && &f[:1][0] == &m.fheap[:1][0] {
		m.Frames = m.fheap
		return
	}
	clear(m.fbuf[:])
	m.Frames = m.fbuf[:0]
	if m.fheap != nil {
		clear(m.fheap[:cap(m.fheap)])
		m.Frames = m.fheap
	}
}

// Release returns the message and its storage to the pools. The message and
// every frame it held must not be used afterwards. Releasing a message twice
// is a bug in the caller and panics. A shared message (Share) goes back to
// the pool with its last holder's release. A Msg need not come from Get: a zero
// Msg is an empty message too, and may be released once.
func (m *Msg) Release() {
	if !m.unshare() {
		return
	}
	if m.released {
		panic("wire: message released twice")
	}
	m.released = true
	m.reset()
	putMsg(m)
}

// unshare counts one holder's release of a shared message, and reports
// whether the message is to go back to the pool: always for a message of
// one owner, and for the last holder of a shared one.
func (m *Msg) unshare() bool {
	if !m.shared {
		return true
	}
	return m.holders.Add(-1) == 0
}

// Share gives m to n holders at once, without copying it or making a
// message for each: every holder gets the same *Msg, and releases it once
// (Release or ReleaseAll); the last release returns it to the pool. Share
// must come before m is handed to any holder, and a message is shared at
// most once. A shared message is read-only: holders on several goroutines
// may read its frames at the same time, so none may change it (nor Reset
// it, which panics), and a holder that may change what it gets (an inproc
// receiver) needs a Clone. n must be at least 1.
func (m *Msg) Share(n int) {
	if n < 1 {
		panic("wire: Share to fewer than one holder")
	}
	if m.shared {
		panic("wire: message shared twice")
	}
	m.shared = true
	m.holders.Store(int32(n))
}

// ReleaseN gives back k holds of a shared message at once, as k Releases
// would: a holder that took several, or a sender that shares a message
// with one hold of its own for the time it hands it out and then gives
// back, in one step, that hold and those of the holders that did not take
// it. The last hold returns m to the pool. ReleaseN(1) is Release.
func (m *Msg) ReleaseN(k int) {
	if k < 1 {
		panic("wire: ReleaseN of fewer than one hold")
	}
	if m.shared || k > 1 {
		left := m.holders.Add(int32(-k))
		if left > 0 {
			return
		}
		if left < 0 {
			panic("wire: message released twice")
		}
	}
	if m.released {
		panic("wire: message released twice")
	}
	m.released = true
	m.reset()
	putMsg(m)
}

// Shared reports whether m has holders that Share gave it and that have
// not all released it.
func (m *Msg) Shared() bool { return m.shared }

// Clone returns a copy of m with storage of its own.
func (m *Msg) Clone() *Msg {
	c := Get()
	for _, f := range m.Frames {
		c.AppendFrame(f)
	}
	return c
}

// A recycled message keeps the arrays that grew for its frame headers and
// its large frames only up to these sizes. A message that carried more goes
// back to the free list without them, so that the free list pins at most
// about 1.3 KiB per message, whatever the messages it recycled carried, and
// only until the collections after a peak trim it (see maxFree).
const (
	maxKeptFrames = 32
	maxKeptLarge  = 16
)
