package wire

import (
	"sync"

	"github.com/valyala/bytebufferpool"
)

// LargeFrame is the size from which a frame gets storage of its own instead of
// sharing the message's arena. Large frames are then written to the network
// straight from that storage, without being copied into a write buffer.
const LargeFrame = 8 << 10

// Msg is a multipart message.
//
// Frames lists the frames in order. Frames copied in with [Msg.AppendFrame]
// or made with [Msg.NewFrame] live in storage owned by the message, which is
// recycled by [Msg.Release]: do not keep a frame after releasing its message.
// A frame added with [Msg.AppendRef] is referenced, not copied; its memory
// stays the caller's and must not change until the message is released.
//
// A Msg is not safe for concurrent use. Handing a message to a socket's Send
// transfers ownership: the caller must not touch it afterwards.
type Msg struct {
	// Frames are the message's frames, in order.
	Frames [][]byte

	arena *bytebufferpool.ByteBuffer   // small frames, back to back
	spans []int32                      // per frame: offset in arena, or -1
	large []*bytebufferpool.ByteBuffer // storage of large frames
	live  bool                         // between Get and Release
}

var (
	msgPool   = sync.Pool{New: func() any { return new(Msg) }}
	arenaPool bytebufferpool.Pool
	largePool bytebufferpool.Pool
)

// Get returns an empty message from the pool.
func Get() *Msg {
	m := msgPool.Get().(*Msg)
	m.live = true
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
	m.Frames = append(m.Frames, p)
	m.spans = append(m.spans, -1)
}

// NewFrame appends a frame of n bytes owned by the message and returns it for
// the caller to fill. The returned slice stays valid until the next call that
// adds a frame; Frames always points at the current storage.
func (m *Msg) NewFrame(n int) []byte {
	if n >= LargeFrame {
		b := largePool.Get()
		b.B = grow(b.B[:0], n)
		m.large = append(m.large, b)
		m.Frames = append(m.Frames, b.B)
		m.spans = append(m.spans, -1)
		return b.B
	}
	if m.arena == nil {
		m.arena = arenaPool.Get()
		m.arena.B = m.arena.B[:0]
	}
	off := len(m.arena.B)
	if off+n > cap(m.arena.B) {
		m.growArena(off + n)
	}
	m.arena.B = m.arena.B[:off+n]
	f := m.arena.B[off : off+n : off+n]
	m.Frames = append(m.Frames, f)
	m.spans = append(m.spans, int32(off))
	return f
}

// ResizeLast changes the length of the last frame to n and returns it, keeping
// its first bytes. It lets a reader grow a frame as its bytes actually arrive,
// instead of trusting a size announced by a peer. The last frame must have
// been made by NewFrame with at least LargeFrame bytes, and n must be at least
// LargeFrame.
func (m *Msg) ResizeLast(n int) []byte {
	last := len(m.Frames) - 1
	b := m.large[len(m.large)-1]
	if cap(b.B) < n {
		c := 2 * cap(b.B)
		if c < n {
			c = n
		}
		nb := make([]byte, len(b.B), c)
		copy(nb, b.B)
		b.B = nb
	}
	b.B = b.B[:n]
	m.Frames[last] = b.B
	return b.B
}

// growArena moves the arena to storage of at least need bytes and points the
// frames that live in it at their new place.
func (m *Msg) growArena(need int) {
	c := 2 * cap(m.arena.B)
	if c < need {
		c = need
	}
	if c < 256 {
		c = 256
	}
	nb := make([]byte, len(m.arena.B), c)
	copy(nb, m.arena.B)
	m.arena.B = nb
	for i, off := range m.spans {
		if off >= 0 {
			n := int32(len(m.Frames[i]))
			m.Frames[i] = nb[off : off+n : off+n]
		}
	}
}

// Reset empties the message and returns its storage to the pools, keeping the
// message itself for reuse.
func (m *Msg) Reset() {
	if m.arena != nil {
		arenaPool.Put(m.arena)
		m.arena = nil
	}
	for i, b := range m.large {
		largePool.Put(b)
		m.large[i] = nil
	}
	m.large = m.large[:0]
	clear(m.Frames)
	m.Frames = m.Frames[:0]
	m.spans = m.spans[:0]
}

// Release returns the message and its storage to the pools. The message and
// every frame it held must not be used afterwards. Releasing a message twice
// is a bug in the caller and panics.
func (m *Msg) Release() {
	if !m.live {
		panic("wire: message released twice")
	}
	m.live = false
	m.Reset()
	msgPool.Put(m)
}

// Clone returns a copy of m with storage of its own.
func (m *Msg) Clone() *Msg {
	c := Get()
	for _, f := range m.Frames {
		c.AppendFrame(f)
	}
	return c
}

// grow returns b with length n, reusing its storage when it is big enough.
func grow(b []byte, n int) []byte {
	if cap(b) >= n {
		return b[:n]
	}
	return make([]byte, n)
}
