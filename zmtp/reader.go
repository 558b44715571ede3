package zmtp

import (
	"errors"
	"io"
	"sync"

	"github.com/zrouter/zrouter/wire"
)

const (
	// smallBufSize is the buffer an idle reader keeps: enough for a
	// greeting, a handshake command or a few small messages.
	smallBufSize = 256
	// bigBufSize is the buffer a busy reader borrows from a pool.
	bigBufSize = 32 << 10
	// DefaultMaxCommandSize bounds a command frame's body unless the
	// Reader is told otherwise.
	DefaultMaxCommandSize = 64 << 10
	// A body longer than what is buffered gets storage as its bytes
	// arrive, never by its header's claim. A large message frame gets
	// firstStep bytes, then up to three times what has arrived, by at most
	// growStep at a time: a peer that stalls pins at most 64 KiB or four
	// times what it sent. A command gets minStep bytes, then as much as
	// has arrived.
	firstStep = 64 << 10
	growStep  = 1 << 20
	minStep   = 4 << 10
	// afterLargeRead bounds the read that follows a large frame's body,
	// which went straight into its message: the read brings the next
	// header and the start of what follows, and if that is another large
	// body, most of it then arrives straight in its message too instead
	// of through the buffer and a copy.
	afterLargeRead = 2 << 10
	// maxKeptCommand is how much of a command's body ReadFrame keeps after
	// the handshake: a command zrouter acts on then (PING, ERROR) is no
	// longer, and the rest is skipped as it arrives.
	maxKeptCommand = 512
)

// maxEmptyReads is how many reads in a row may return no bytes and no error
// before the Reader gives up with io.ErrNoProgress.
const maxEmptyReads = 100

// errPeekTooLarge is returned by Peek for more bytes than the buffer holds.
var errPeekTooLarge = errors.New("zmtp: Peek of more than 32 KiB")

var bigBufs = sync.Pool{New: func() any { b := make([]byte, bigBufSize); return &b }}

// Reader decodes ZMTP frames from a stream.
//
// It reads ahead into a buffer. A reader that is idle keeps only a small
// buffer; one that sees traffic borrows a larger one from a pool and gives it
// back when it drains its input with a short read. Bytes returned by
// ReadCommand are valid until the next call on the Reader.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	r io.Reader
	// MaxSize is the largest message frame body accepted; a negative value
	// means no limit. A bigger frame fails with ErrMessageTooLarge as soon
	// as its header is read.
	MaxSize int64
	// MaxCommandSize is the largest command body accepted.
	MaxCommandSize int64
	// BeforeRead, when set, is called before every Read on the underlying
	// reader: the moment the Reader is about to wait for bytes. A consumer
	// uses it to hand over what it decoded so far before it may block.
	BeforeRead func()
	// KeepSubscriptions makes ReadFrame return SUBSCRIBE and CANCEL
	// commands whole, up to MaxCommandSize, where it keeps only the head
	// of other long commands: a PUB needs every byte of a topic.
	KeepSubscriptions bool

	buf      []byte // small[:] or *big
	big      *[]byte
	rpos     int
	wpos     int
	lastRead int
	// streak is the bytes the reads since the latest short one brought:
	// every one of them filled what it was given (Streak).
	streak int
	// full is set when the latest read filled what it was given (Drained).
	full bool
	// empty counts ReadSome's reads in a row that brought nothing.
	empty int
	// afterLarge is set when the latest frame body was read straight
	// into its message: the next read is kept short (afterLargeRead).
	afterLarge bool
	small      [smallBufSize]byte

	// codec, once a handshake has set it, opens the MESSAGE commands that
	// carry every frame of an encrypting mechanism; nil for a plain one.
	codec   Codec
	scratch []byte // a sealed command too big for buf, as it arrives
	// v2 is set for a ZMTP 2.0 peer, whose frames have no command flag:
	// bit 2 is reserved there, as bits 3 to 7 are in ZMTP 3.
	v2 bool

	frame Frame // what ReadFrame returns
}

// maxScratch is the most a Reader keeps of a sealed frame too big for its
// buffer once it is opened.
const maxScratch = 2 << 20

// Frame is what ReadFrame read: a command, or a message frame appended to
// the message it was given.
type Frame struct {
	// Command is the body of a command; nil for a message frame.
	Command []byte
	// More reports that more frames of the message follow.
	More bool
	// Size is the message frame's size.
	Size uint64
}

// seal makes the Reader open every frame with c, which is not plain.
func (rd *Reader) seal(c Codec) {
	rd.codec = c
	rd.MaxCommandSize = c.Limit(rd.MaxSize)
	if rd.MaxCommandSize < 0 {
		rd.MaxCommandSize = 1<<63 - 1
	}
}

// ReadFrame reads the next frame after the handshake: a command, whose body
// it returns, or a message frame, which it appends to m. Under an
// encrypting mechanism it opens the MESSAGE command that carries either,
// checking the message size its header implies before anything is
// allocated or decrypted. The Frame is the Reader's own, and it and the
// command body stay valid until the next call; on error the Frame is
// empty.
func (rd *Reader) ReadFrame(m *wire.Msg) (*Frame, error) {
	// The Frame is written in place and read by the caller field by
	// field: returned by value it was copied whole through the stack, a
	// stall at every frame of a busy reader.
	f := &rd.frame
	*f = Frame{}
	h, err := rd.ReadHeader()
	switch {
	case err != nil:
	case rd.codec != nil:
		*f, err = rd.readSealed(m, h)
	case h.IsCommand():
		if h.Size > maxKeptCommand && !rd.keepWhole() {
			*f, err = rd.readCommandHead(h)
		} else if f.Command, err = rd.ReadCommand(h); err != nil {
			f.Command = nil
		}
	default:
		if err = rd.ReadFrameInto(m, h); err == nil {
			f.More, f.Size = h.More(), h.Size
		}
	}
	return f, err
}

// readSealed reads a frame of an encrypting mechanism and opens it: a
// MESSAGE command, which libzmq 4.3 sends as a message frame and which RFC
// 25 calls a command, so either is taken. A message frame's body is
// decrypted into m's storage, with its flags byte in front, which the frame
// then leaves out.
func (rd *Reader) readSealed(m *wire.Msg, h Header) (Frame, error) {
	var body []byte
	if h.Size <= bigBufSize {
		b, err := rd.readBuffered(int(h.Size))
		if err != nil {
			return Frame{}, err
		}
		body = b
	} else {
		b, err := rd.readGrowing(rd.scratch[:0], h.Size)
		if err != nil {
			return Frame{}, err
		}
		rd.scratch, body = b, b
	}
	// The plaintext is the body less what sealing adds: a flags byte and the
	// frame.
	n := rd.codec.OpenLen(len(body))
	if n < 1 {
		return Frame{}, protoErr("command of %d bytes too short to carry a sealed frame", len(body))
	}
	f := m.NewFrame(n)
	out, flags, err := rd.codec.Open(f[:0], body)
	if cap(rd.scratch) > maxScratch {
		rd.scratch = nil // keep no more than a few frames' worth per connection
	}
	if err != nil || len(out) != n || &out[0] != &f[0] {
		m.Frames = m.Frames[:len(m.Frames)-1]
		if err == nil {
			err = protoErr("sealed frame of the wrong size")
		}
		return Frame{}, err
	}
	m.Frames[len(m.Frames)-1] = out[1:]
	if flags&FlagCommand != 0 {
		m.Frames = m.Frames[:len(m.Frames)-1]
		return Frame{Command: out[1:]}, nil
	}
	return Frame{More: flags&FlagMore != 0, Size: uint64(n - 1)}, nil
}

// NewReader returns a Reader over r that accepts message frames of up to
// maxSize bytes (negative: no limit).
func NewReader(r io.Reader, maxSize int64) *Reader {
	rd := &Reader{r: r, MaxSize: maxSize, MaxCommandSize: DefaultMaxCommandSize}
	rd.buf = rd.small[:]
	return rd
}

// LastRead returns the bytes the latest read of the underlying reader
// returned: a consumer that sees big reads knows its peer has more waiting.
func (rd *Reader) LastRead() int { return rd.lastRead }

// SetSource makes rd read from r from now on, in place of the reader it
// was made over; what rd has buffered is kept. A consumer uses it to read
// the same stream through a VectorReader of its own.
func (rd *Reader) SetSource(r io.Reader) { rd.r = r }

// Streak returns the bytes that the reads of the underlying reader since
// the latest one that came back short brought, or since EndStreak. A read
// that fills all it was given says the peer has more waiting; a long streak
// says the connection has been read on and on without waiting for the
// network.
func (rd *Reader) Streak() int { return rd.streak }

// Drained reports whether the latest read of the underlying reader came
// back short, having taken all the stream had, or none was made yet: the
// next read is likely to wait for the network. EndStreak leaves it as it
// is.
func (rd *Reader) Drained() bool { return !rd.full }

// EndStreak starts Streak again from zero: the consumer gave way to others.
func (rd *Reader) EndStreak() { rd.streak = 0 }

// count notes a read that asked for want bytes and got n.
func (rd *Reader) count(n, want int) {
	rd.lastRead = n
	rd.full = n == want
	if rd.full {
		rd.streak += n
	} else {
		rd.streak = 0
	}
}

// Buffered returns the number of bytes read ahead and not yet consumed.
func (rd *Reader) Buffered() int { return rd.wpos - rd.rpos }

// Release gives the pooled buffer back. Buffered bytes are kept in the small
// buffer when they fit there; otherwise the pooled buffer is kept.
func (rd *Reader) Release() {
	if rd.big == nil || rd.wpos-rd.rpos > smallBufSize {
		return
	}
	n := copy(rd.small[:], rd.buf[rd.rpos:rd.wpos])
	bigBufs.Put(rd.big)
	rd.big = nil
	rd.buf = rd.small[:]
	rd.rpos, rd.wpos = 0, n
}

// fill makes sure at least n (<= bigBufSize) bytes are buffered.
func (rd *Reader) fill(n int) error {
	if rd.rpos == rd.wpos {
		rd.rpos, rd.wpos = 0, 0
		if rd.big != nil && rd.lastRead < smallBufSize {
			rd.Release() // traffic is light: give the big buffer back
		}
	}
	if rd.big == nil && (n > smallBufSize || rd.lastRead >= smallBufSize) {
		rd.borrow() // traffic is heavy: read in big gulps
	}
	for empty := 0; rd.wpos-rd.rpos < n; {
		if rd.rpos+n > len(rd.buf) {
			rd.wpos = copy(rd.buf, rd.buf[rd.rpos:rd.wpos])
			rd.rpos = 0
		}
		if rd.BeforeRead != nil {
			rd.BeforeRead()
		}
		end := len(rd.buf)
		if rd.afterLarge {
			rd.afterLarge = false
			end = min(end, max(rd.wpos+afterLargeRead, rd.rpos+n))
		}
		m, err := rd.r.Read(rd.buf[rd.wpos:end])
		rd.count(m, end-rd.wpos)
		rd.wpos += m
		if m > 0 {
			empty = 0
		} else if err == nil {
			if empty++; empty >= maxEmptyReads {
				return io.ErrNoProgress
			}
		}
		if err != nil {
			if rd.wpos-rd.rpos >= n {
				return nil
			}
			if err == io.EOF && rd.wpos > rd.rpos {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// fillBody is fill for the body of a frame whose header was read: the
// stream ending there is unexpected even when no body byte came yet.
func (rd *Reader) fillBody(n int) error {
	err := rd.fill(n)
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Whole reports whether the next frame is in the buffer whole, or bad
// enough for ReadFrame to refuse it from its header: ReadFrame then makes
// no read. A consumer that must not wait for the rest of a frame (the
// receiver a connection's reading is lent to) reads through ReadSome and
// decodes only while Whole holds.
func (rd *Reader) Whole() bool {
	h, n, err := ParseHeader(rd.buf[rd.rpos:rd.wpos])
	switch {
	case err != nil:
		return true
	case n == 0:
		return false
	}
	switch {
	case h.Size <= uint64(rd.wpos-rd.rpos-n):
		return true
	case rd.v2 && h.IsCommand():
		return true
	case rd.codec != nil || h.IsCommand():
		return h.Size > uint64(rd.MaxCommandSize)
	}
	return rd.MaxSize >= 0 && h.Size > uint64(rd.MaxSize)
}

// ReadSome makes one read of the underlying reader into the buffer, as
// ReadFrame would to decode the next frame, waiting for bytes when none
// are there; BeforeRead is not called. It reads nothing and reports false
// when the next frame cannot be buffered whole: its body is for ReadFrame
// to read, straight into its message.
func (rd *Reader) ReadSome() (bool, error) {
	need := MaxHeaderLen
	if h, n, err := ParseHeader(rd.buf[rd.rpos:rd.wpos]); err == nil && n > 0 {
		if h.Size > uint64(bigBufSize-n) {
			return false, nil
		}
		need = n + int(h.Size)
	}
	if rd.rpos == rd.wpos {
		rd.rpos, rd.wpos = 0, 0
		if rd.big != nil && rd.lastRead < smallBufSize {
			rd.Release()
		}
	}
	if rd.big == nil && (need > smallBufSize || rd.lastRead >= smallBufSize) {
		rd.borrow()
	}
	if rd.rpos+need > len(rd.buf) {
		rd.wpos = copy(rd.buf, rd.buf[rd.rpos:rd.wpos])
		rd.rpos = 0
	}
	rd.afterLarge = false
	m, err := rd.r.Read(rd.buf[rd.wpos:])
	rd.count(m, len(rd.buf)-rd.wpos)
	rd.wpos += m
	switch {
	case m > 0:
		rd.empty = 0
		return true, nil
	case err == io.EOF && rd.wpos > rd.rpos:
		return true, io.ErrUnexpectedEOF
	case err != nil:
		return true, err
	}
	if rd.empty++; rd.empty >= maxEmptyReads {
		return true, io.ErrNoProgress
	}
	return true, nil
}

// borrow moves the buffered bytes into a pooled big buffer.
func (rd *Reader) borrow() {
	if rd.big != nil {
		return
	}
	rd.big = bigBufs.Get().(*[]byte)
	nb := *rd.big
	rd.wpos = copy(nb, rd.buf[rd.rpos:rd.wpos])
	rd.rpos = 0
	rd.buf = nb
}

// ReadFull reads exactly len(p) bytes, through the buffer.
func (rd *Reader) ReadFull(p []byte) error { return rd.readFull(p, nil) }

// readFull is ReadFull, reading through vr (readInto) when it is set.
func (rd *Reader) readFull(p []byte, vr VectorReader) error {
	n := copy(p, rd.buf[rd.rpos:rd.wpos])
	rd.rpos += n
	if n == len(p) {
		return nil
	}
	if rd.BeforeRead != nil {
		rd.BeforeRead()
	}
	return rd.readInto(p[n:], vr)
}

// readInto reads len(p) bytes straight into p, once the buffer is empty.
// With vr, each read also fills what it can of the buffer's first
// afterLargeRead bytes once p is full: what follows p in the stream.
func (rd *Reader) readInto(p []byte, vr VectorReader) error {
	var after []byte
	if vr != nil {
		rd.rpos, rd.wpos = 0, 0
		after = rd.buf[:min(len(rd.buf), afterLargeRead)]
	}
	for empty := 0; len(p) > 0; {
		var m int
		var err error
		if vr != nil {
			m, err = vr.ReadVec(p, after)
			rd.count(m, len(p)+len(after))
			if m > len(p) {
				rd.wpos = m - len(p)
				m = len(p)
			}
		} else {
			m, err = rd.r.Read(p)
			rd.count(m, len(p))
		}
		p = p[m:]
		if m > 0 {
			empty = 0
		} else if err == nil {
			if empty++; empty >= maxEmptyReads {
				return io.ErrNoProgress
			}
		}
		if err != nil && len(p) > 0 {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	// Whatever the last read brought, the body was big enough to go
	// straight into its message: traffic is heavy.
	rd.lastRead = bigBufSize
	return nil
}

// Peek returns the next n (<= 32 KiB) bytes without consuming them. They are
// valid until the next call on the Reader.
func (rd *Reader) Peek(n int) ([]byte, error) {
	if n < 0 || n > bigBufSize {
		return nil, errPeekTooLarge
	}
	if err := rd.fill(n); err != nil {
		return nil, err
	}
	return rd.buf[rd.rpos : rd.rpos+n], nil
}

// Discard consumes n bytes previously returned by Peek.
func (rd *Reader) Discard(n int) { rd.rpos += n }

// ReadHeader reads the next frame header and checks its size against the
// limits before anything is allocated for the body. The body must then be
// consumed with ReadCommand, ReadFrameInto or SkipBody.
func (rd *Reader) ReadHeader() (Header, error) {
	h, n, err := ParseHeader(rd.buf[rd.rpos:rd.wpos])
	// Wait for the flags byte, then the short size, then the long size,
	// so that bad flags are refused as soon as they arrive.
	for _, need := range [...]int{1, 2, MaxHeaderLen} {
		if n != 0 || err != nil {
			break
		}
		if rd.wpos-rd.rpos >= need {
			continue
		}
		if err = rd.fill(need); err == nil {
			h, n, err = ParseHeader(rd.buf[rd.rpos:rd.wpos])
		}
	}
	if err != nil {
		return Header{}, err
	}
	rd.rpos += n
	switch {
	case rd.v2 && h.IsCommand():
		return Header{}, protoErr("reserved frame flag bits set in ZMTP 2.0 (flags %#02x)", h.Flags)
	case rd.codec != nil:
		// Every frame is sealed, as a command or as libzmq sends it, a
		// message frame: the limit is that of the frame it carries.
		if h.Size > uint64(rd.MaxCommandSize) {
			return h, ErrMessageTooLarge
		}
	case h.IsCommand():
		if h.Size > uint64(rd.MaxCommandSize) {
			return h, protoErr("command of %d bytes exceeds the %d-byte limit", h.Size, rd.MaxCommandSize)
		}
	case rd.MaxSize >= 0 && h.Size > uint64(rd.MaxSize):
		return h, ErrMessageTooLarge
	}
	return h, nil
}

// ReadCommand reads the body of a command frame whose header ReadHeader
// returned. The body is valid until the next call on the Reader. A body
// that is not buffered whole gets storage of its own as its bytes arrive.
func (rd *Reader) ReadCommand(h Header) ([]byte, error) {
	n := int(h.Size)
	if n <= smallBufSize || rd.wpos-rd.rpos >= n {
		return rd.readBuffered(n)
	}
	return rd.readGrowing(nil, h.Size)
}

// readBuffered reads a body of n (<= bigBufSize) bytes into the buffer and
// returns it there, valid until the next call on the Reader.
func (rd *Reader) readBuffered(n int) ([]byte, error) {
	if err := rd.fillBody(n); err != nil {
		return nil, err
	}
	b := rd.buf[rd.rpos : rd.rpos+n]
	rd.rpos += n
	return b, nil
}

// keepWhole reports whether the long command whose header was just read
// is to be kept whole: a SUBSCRIBE or CANCEL, under KeepSubscriptions.
func (rd *Reader) keepWhole() bool {
	if !rd.KeepSubscriptions {
		return false
	}
	// The name's length byte and the longer name; the body is longer.
	head, err := rd.Peek(1 + len(CmdSubscribe))
	if err != nil {
		return false // ReadCommand meets the error
	}
	name := head[1:min(1+int(head[0]), len(head))]
	return int(head[0]) == len(name) && (string(name) == CmdSubscribe || string(name) == CmdCancel)
}

// readCommandHead reads a command too long to keep after the handshake: it
// returns the first maxKeptCommand bytes of its body and skips the rest as
// it arrives.
func (rd *Reader) readCommandHead(h Header) (Frame, error) {
	// Apart from the buffer, which SkipBody reuses.
	head, err := rd.readGrowing(rd.scratch[:0], maxKeptCommand)
	if err != nil {
		return Frame{}, err
	}
	rd.scratch = head
	if err := rd.SkipBody(Header{Flags: h.Flags, Size: h.Size - maxKeptCommand}); err != nil {
		return Frame{}, err
	}
	return Frame{Command: rd.scratch}, nil
}

// VectorReader is a source that fills two buffers in one read, a and then
// b, as readv does. A Reader over one (SetSource) reads the end of a large
// frame's body and the bytes after it, up to the next header and a little
// more, in one system call instead of two.
type VectorReader interface {
	io.Reader
	// ReadVec reads up to len(a)+len(b) bytes into a, then b, and returns
	// how many it read; like Read, it returns an error only with 0.
	ReadVec(a, b []byte) (int, error)
}

// readBody is ReadFull for part of a large frame's body. When the source
// is a VectorReader and last is set (p ends the body), the read that
// completes p also brings what follows into the buffer.
func (rd *Reader) readBody(p []byte, last bool) error {
	vr, _ := rd.r.(VectorReader)
	if !last {
		vr = nil
	}
	return rd.readFull(p, vr)
}

// readGrowing appends n bytes to dst: what is buffered, then the rest with
// dst growing ahead of the bytes that arrived by no more than what arrived
// (at least minStep, at most growStep).
func (rd *Reader) readGrowing(dst []byte, n uint64) ([]byte, error) {
	start := len(dst)
	k := min(uint64(rd.wpos-rd.rpos), n)
	dst = append(dst, rd.buf[rd.rpos:rd.rpos+int(k)]...)
	rd.rpos += int(k)
	n -= k
	for n > 0 {
		step := min(n, uint64(max(len(dst)-start, minStep)), growStep)
		off := len(dst)
		dst = append(dst, make([]byte, step)...)
		if err := rd.ReadFull(dst[off:]); err != nil {
			return nil, err
		}
		n -= step
	}
	return dst, nil
}

// ReadFrameInto reads the body of a message frame whose header ReadHeader
// returned and appends it to m as a new frame. Storage for a large frame
// grows with the bytes that arrive: 64 KiB at first, then never ahead of
// them by more than three times what arrived, or 1 MiB.
func (rd *Reader) ReadFrameInto(m *wire.Msg, h Header) error {
	size := h.Size
	if size < wire.LargeFrame {
		n := int(size)
		if rd.wpos-rd.rpos < n {
			if err := rd.fillBody(n); err != nil {
				return err
			}
		}
		copy(m.NewFrame(n), rd.buf[rd.rpos:rd.rpos+n])
		rd.rpos += n
		return nil
	}
	first := min(size, firstStep)
	f := m.NewFrame(int(first))
	if err := rd.readBody(f, first == size); err != nil {
		return err
	}
	for got := first; got < size; {
		step := min(size-got, 3*got, growStep)
		f = m.ResizeLast(int(got + step))
		if err := rd.readBody(f[got:], got+step == size); err != nil {
			return err
		}
		got += step
	}
	rd.afterLarge = rd.rpos == rd.wpos
	return nil
}

// SkipBody consumes and drops the body of a frame.
func (rd *Reader) SkipBody(h Header) error {
	n := h.Size
	for n > 0 {
		if rd.rpos == rd.wpos {
			if err := rd.fillBody(1); err != nil {
				return err
			}
		}
		k := uint64(rd.wpos - rd.rpos)
		if k > n {
			k = n
		}
		rd.rpos += int(k)
		n -= k
	}
	return nil
}
