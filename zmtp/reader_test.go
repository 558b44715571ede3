package zmtp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/wire"
)

// frame is one decoded frame, as the tests compare them.
type frame struct {
	cmd  bool
	more bool
	body string
}

func (f frame) String() string {
	return fmt.Sprintf("{cmd:%v more:%v len:%d}", f.cmd, f.more, len(f.body))
}

// encode returns the wire form of frames.
func encode(frames ...frame) []byte {
	var b []byte
	for _, f := range frames {
		var flags byte
		if f.cmd {
			flags |= FlagCommand
		}
		if f.more {
			flags |= FlagMore
		}
		b = AppendFrame(b, flags, []byte(f.body))
	}
	return b
}

// readAll reads frames until an error: commands with ReadCommand, message
// frames with ReadFrameInto, one wire.Msg per message.
func readAll(rd *Reader) ([]frame, error) {
	var out []frame
	m := wire.Get()
	defer m.Release()
	for {
		h, err := rd.ReadHeader()
		if err != nil {
			return out, err
		}
		if h.IsCommand() {
			body, err := rd.ReadCommand(h)
			if err != nil {
				return out, err
			}
			out = append(out, frame{cmd: true, body: string(body)})
			continue
		}
		if err := rd.ReadFrameInto(m, h); err != nil {
			return out, err
		}
		out = append(out, frame{more: h.More(), body: string(m.Frames[m.Len()-1])})
		if !h.More() {
			m.Reset()
		}
	}
}

// readSomeAll decodes rd as a receiver that a connection's reading is lent
// to does (Whole, ReadSome), falling back to readOne as the reader
// goroutine would when ReadSome cannot buffer the next frame. It fails the
// test if a frame decoded under Whole made a read.
func readSomeAll(t testing.TB, rd *Reader, reads *int) ([]frame, error) {
	var out []frame
	m := wire.Get()
	defer m.Release()
	for {
		for rd.Whole() {
			before := *reads
			f, err := readOne(rd, m)
			require.Equal(t, before, *reads, "a frame decoded under Whole made a read")
			if err != nil {
				return out, err
			}
			out = append(out, f)
		}
		ok, err := rd.ReadSome()
		if err != nil {
			return out, err
		}
		if !ok {
			f, err := readOne(rd, m)
			if err != nil {
				return out, err
			}
			out = append(out, f)
		}
	}
}

// readOne decodes one frame, as readAll does.
func readOne(rd *Reader, m *wire.Msg) (frame, error) {
	h, err := rd.ReadHeader()
	if err != nil {
		return frame{}, err
	}
	if h.IsCommand() {
		body, err := rd.ReadCommand(h)
		return frame{cmd: true, body: string(body)}, err
	}
	if err := rd.ReadFrameInto(m, h); err != nil {
		return frame{}, err
	}
	f := frame{more: h.More(), body: string(m.Frames[m.Len()-1])}
	if !h.More() {
		m.Reset()
	}
	return f, nil
}

// countReads counts the reads of its reader, keeping ReadVec when r has it.
func countReads(r io.Reader, n *int) io.Reader {
	if v, ok := r.(VectorReader); ok {
		return &countingVec{v, n}
	}
	return &counting{r, n}
}

type counting struct {
	r io.Reader
	n *int
}

func (c *counting) Read(p []byte) (int, error) { *c.n++; return c.r.Read(p) }

type countingVec struct {
	VectorReader
	n *int
}

func (c *countingVec) Read(p []byte) (int, error) { *c.n++; return c.VectorReader.Read(p) }

func (c *countingVec) ReadVec(a, b []byte) (int, error) {
	*c.n++
	return c.VectorReader.ReadVec(a, b)
}

// chunkReader hands out data in reads of the given sizes, in order; the last
// size repeats.
type chunkReader struct {
	data  []byte
	sizes []int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := r.sizes[0]
	if len(r.sizes) > 1 {
		r.sizes = r.sizes[1:]
	}
	n = min(max(n, 1), len(p), len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// vecChunkReader is a chunkReader that is also a VectorReader: ReadVec
// brings the same chunks, spread over its two buffers.
type vecChunkReader struct{ chunkReader }

func (r *vecChunkReader) ReadVec(a, b []byte) (int, error) {
	n, err := r.Read(a)
	if n < len(a) || err != nil || len(b) == 0 || len(r.data) == 0 {
		return n, err
	}
	k, err := r.Read(b)
	return n + k, err
}

// readers are the ways a stream's bytes may arrive.
var readers = []struct {
	name string
	wrap func(b []byte) io.Reader
}{
	{"whole", func(b []byte) io.Reader { return bytes.NewReader(b) }},
	{"one byte", func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) }},
	{"half", func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) }},
	{"data with EOF", func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) }},
	{"chunks of 7", func(b []byte) io.Reader { return &chunkReader{data: b, sizes: []int{7}} }},
	{"chunks of 300", func(b []byte) io.Reader { return &chunkReader{data: b, sizes: []int{300}} }},
	{"chunks of 40000", func(b []byte) io.Reader { return &chunkReader{data: b, sizes: []int{40000}} }},
	{"chunks big then small", func(b []byte) io.Reader {
		return &chunkReader{data: b, sizes: []int{256, 32 << 10, 32 << 10, 3, 100, 1 << 20, 9}}
	}},
	{"vector chunks of 300", func(b []byte) io.Reader {
		return &vecChunkReader{chunkReader{data: b, sizes: []int{300}}}
	}},
	{"vector chunks big then small", func(b []byte) io.Reader {
		return &vecChunkReader{chunkReader{data: b, sizes: []int{256, 32 << 10, 70 << 10, 3, 100, 1 << 20, 9}}}
	}},
}

func TestReaderFrames(t *testing.T) {
	x := func(n int) string { return strings.Repeat("x", n) }
	seq := func(n int) string {
		var sb strings.Builder
		for i := range n {
			sb.WriteByte(byte(i % 251))
		}
		return sb.String()
	}
	longSmall := []byte{FlagLong | FlagMore, 0, 0, 0, 0, 0, 0, 0, 3, 'a', 'b', 'c', 0x00, 0x00}
	tests := []struct {
		name   string
		stream []byte
		want   []frame
	}{
		{name: "nothing", stream: nil},
		{name: "empty frame", stream: encode(frame{}), want: []frame{{}}},
		{name: "envelope", stream: encode(frame{more: true, body: "id"}, frame{more: true}, frame{body: "hello"}),
			want: []frame{{more: true, body: "id"}, {more: true}, {body: "hello"}}},
		{name: "long header carrying a small size", stream: longSmall, want: []frame{{more: true, body: "abc"}, {}}},
		{name: "command between messages", stream: encode(frame{body: "a"}, frame{cmd: true, body: "\x04PING\x00\x0a"}, frame{body: "b"}),
			want: []frame{{body: "a"}, {cmd: true, body: "\x04PING\x00\x0a"}, {body: "b"}}},
		{name: "libzmq message", stream: encode(frame{more: true}, frame{more: true, body: "hello"}, frame{body: x(300)}),
			want: []frame{{more: true}, {more: true, body: "hello"}, {body: x(300)}}},
		{name: "around the small buffer", stream: encode(frame{more: true, body: seq(254)}, frame{more: true, body: seq(255)}, frame{body: seq(256)}, frame{body: seq(257)}),
			want: []frame{{more: true, body: seq(254)}, {more: true, body: seq(255)}, {body: seq(256)}, {body: seq(257)}}},
		{name: "around LargeFrame", stream: encode(frame{more: true, body: seq(wire.LargeFrame - 1)}, frame{body: seq(wire.LargeFrame)}, frame{body: seq(wire.LargeFrame + 1)}),
			want: []frame{{more: true, body: seq(wire.LargeFrame - 1)}, {body: seq(wire.LargeFrame)}, {body: seq(wire.LargeFrame + 1)}}},
		{name: "bigger than the 32 KiB buffer", stream: encode(frame{more: true, body: seq(40 << 10)}, frame{body: "tail"}, frame{body: seq(bigBufSize)}),
			want: []frame{{more: true, body: seq(40 << 10)}, {body: "tail"}, {body: seq(bigBufSize)}}},
		{name: "bigger than a growth step", stream: encode(frame{more: true, body: seq(3*growStep + 17)}, frame{body: "after"}),
			want: []frame{{more: true, body: seq(3*growStep + 17)}, {body: "after"}}},
		{name: "command bigger than the 32 KiB buffer", stream: encode(frame{cmd: true, body: "\x03BIG" + seq(40<<10)}, frame{body: "z"}),
			want: []frame{{cmd: true, body: "\x03BIG" + seq(40<<10)}, {body: "z"}}},
		{name: "many small messages", stream: bytes.Repeat(encode(frame{more: true, body: "k"}, frame{body: seq(100)}), 500),
			want: func() []frame {
				var fs []frame
				for range 500 {
					fs = append(fs, frame{more: true, body: "k"}, frame{body: seq(100)})
				}
				return fs
			}()},
	}
	for _, tc := range tests {
		for _, r := range readers {
			if len(tc.stream) > 1<<20 && r.name == "one byte" && testing.Short() {
				continue
			}
			t.Run(tc.name+"/"+r.name, func(t *testing.T) {
				for _, lent := range []bool{false, true} {
					var got []frame
					var err error
					if lent {
						var reads int
						got, err = readSomeAll(t, NewReader(countReads(r.wrap(tc.stream), &reads), -1), &reads)
					} else {
						got, err = readAll(NewReader(r.wrap(tc.stream), -1))
					}
					require.ErrorIs(t, err, io.EOF, "lent %v: a stream that ends between frames ends with io.EOF", lent)
					require.Equal(t, len(tc.want), len(got), "lent %v: frames read: %v", lent, got)
					for i := range tc.want {
						require.Equal(t, tc.want[i].cmd, got[i].cmd, "lent %v: frame %d", lent, i)
						require.Equal(t, tc.want[i].more, got[i].more, "lent %v: frame %d", lent, i)
						require.True(t, tc.want[i].body == got[i].body, "lent %v: frame %d body differs (len %d, want %d)", lent, i, len(got[i].body), len(tc.want[i].body))
					}
				}
			})
		}
	}
}

func TestReaderMaxSize(t *testing.T) {
	tests := []struct {
		name    string
		maxSize int64
		frame   frame
		wantErr error
	}{
		{name: "zero allows empty", maxSize: 0, frame: frame{}},
		{name: "zero refuses one byte", maxSize: 0, frame: frame{body: "x"}, wantErr: ErrMessageTooLarge},
		{name: "at the limit", maxSize: 100, frame: frame{body: strings.Repeat("a", 100)}},
		{name: "one over", maxSize: 100, frame: frame{body: strings.Repeat("a", 101)}, wantErr: ErrMessageTooLarge},
		{name: "long form over", maxSize: 1000, frame: frame{more: true, body: strings.Repeat("a", 5000)}, wantErr: ErrMessageTooLarge},
		{name: "commands are not message frames", maxSize: 10, frame: frame{cmd: true, body: strings.Repeat("c", 1000)}},
		{name: "no limit", maxSize: -1, frame: frame{body: strings.Repeat("a", 1<<20)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rd := NewReader(bytes.NewReader(encode(tc.frame)), tc.maxSize)
			h, err := rd.ReadHeader()
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Equal(t, uint64(len(tc.frame.body)), h.Size, "the refused header is returned")
				return
			}
			require.NoError(t, err)
			if h.IsCommand() {
				body, err := rd.ReadCommand(h)
				require.NoError(t, err)
				assert.Equal(t, tc.frame.body, string(body))
				return
			}
			m := wire.Get()
			defer m.Release()
			require.NoError(t, rd.ReadFrameInto(m, h))
			assert.Equal(t, tc.frame.body, string(m.Frames[0]))
		})
	}
}

func TestReaderMaxCommandSize(t *testing.T) {
	tests := []struct {
		name    string
		limit   int64
		frame   frame
		wantErr bool
	}{
		{name: "at the limit", limit: 10, frame: frame{cmd: true, body: "\x04PING\x00\x00abc"}},
		{name: "one over", limit: 10, frame: frame{cmd: true, body: "\x04PING\x00\x00abcd"}, wantErr: true},
		{name: "default refuses more than 64 KiB", limit: DefaultMaxCommandSize, frame: frame{cmd: true, body: strings.Repeat("c", DefaultMaxCommandSize+1)}, wantErr: true},
		{name: "message frames are not commands", limit: 10, frame: frame{body: strings.Repeat("m", 100)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rd := NewReader(bytes.NewReader(encode(tc.frame)), -1)
			rd.MaxCommandSize = tc.limit
			got, err := readAll(rd)
			if tc.wantErr {
				var pe *ProtocolError
				require.ErrorAs(t, err, &pe)
				assert.Empty(t, got)
				return
			}
			require.ErrorIs(t, err, io.EOF)
			require.Len(t, got, 1)
			assert.Equal(t, tc.frame.body, got[0].body)
		})
	}
	assert.Equal(t, int64(DefaultMaxCommandSize), NewReader(nil, 0).MaxCommandSize)
}

func TestReaderUnexpectedEOF(t *testing.T) {
	big := strings.Repeat("b", 2*growStep+5)
	tests := []struct {
		name   string
		stream []byte
		frames int // whole frames before the cut
	}{
		{name: "cut in short header", stream: encode(frame{body: "ok"})[:1]},
		{name: "cut in long header", stream: encode(frame{body: strings.Repeat("l", 300)})[:5]},
		{name: "long flag only", stream: []byte{FlagLong}},
		{name: "cut in small body", stream: encode(frame{body: "hello"})[:4]},
		{name: "cut in body after a whole frame", stream: encode(frame{more: true, body: "a"}, frame{body: "hello"})[:6], frames: 1},
		{name: "cut in command body", stream: encode(frame{cmd: true, body: "\x05READY"})[:5]},
		{name: "cut in big command body", stream: encode(frame{cmd: true, body: strings.Repeat("c", 40<<10)})[:30<<10]},
		{name: "cut in large body", stream: encode(frame{body: strings.Repeat("L", 20<<10)})[:15<<10]},
		{name: "cut in huge body", stream: encode(frame{body: big})[:growStep+100]},
		{name: "cut right after a huge header", stream: encode(frame{body: big})[:9]},
		{name: "cut right after a small header", stream: encode(frame{body: "abc"})[:2]},
	}
	for _, tc := range tests {
		for _, r := range readers {
			if r.name == "one byte" && len(tc.stream) > 64<<10 {
				continue // the whole and chunked readers cover the big ones
			}
			t.Run(tc.name+"/"+r.name, func(t *testing.T) {
				got, err := readAll(NewReader(r.wrap(tc.stream), -1))
				require.ErrorIs(t, err, io.ErrUnexpectedEOF)
				assert.Len(t, got, tc.frames)
			})
		}
	}
}

// TestReaderCleanEOF checks that io.EOF, not io.ErrUnexpectedEOF, marks a
// stream that ends between frames, also after a command.
func TestReaderCleanEOF(t *testing.T) {
	for _, stream := range [][]byte{nil, encode(frame{body: "x"}), encode(frame{cmd: true, body: "\x04PONG"}), encode(frame{more: true, body: "x"})} {
		_, err := readAll(NewReader(bytes.NewReader(stream), -1))
		assert.Equal(t, io.EOF, err, "stream % x", stream)
	}
}

func TestReaderPassesReadErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		r    io.Reader
	}{
		{name: "at once", r: iotest.ErrReader(boom)},
		{name: "in a header", r: io.MultiReader(bytes.NewReader([]byte{FlagLong, 0, 0}), iotest.ErrReader(boom))},
		{name: "in a small body", r: io.MultiReader(bytes.NewReader([]byte{0, 10, 'a'}), iotest.ErrReader(boom))},
		{name: "in a large body", r: io.MultiReader(bytes.NewReader(encode(frame{body: strings.Repeat("a", 20<<10)})[:100]), iotest.ErrReader(boom))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAll(NewReader(tc.r, -1))
			assert.ErrorIs(t, err, boom)
		})
	}
}

// zeroReader returns no bytes and no error, forever.
type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestReaderNoProgress(t *testing.T) {
	_, err := NewReader(zeroReader{}, -1).ReadHeader()
	assert.ErrorIs(t, err, io.ErrNoProgress)
}

func TestReaderBadHeader(t *testing.T) {
	tests := []struct {
		name   string
		stream []byte
	}{
		{name: "reserved bits", stream: []byte{0x08, 0}},
		{name: "command with more", stream: []byte{0x05, 0}},
		{name: "after a good frame", stream: append(encode(frame{body: "ok"}), 0x40, 0)},
		{name: "size 2^63", stream: []byte{FlagLong, 0x80, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, tc := range tests {
		for _, r := range readers {
			t.Run(tc.name+"/"+r.name, func(t *testing.T) {
				_, err := readAll(NewReader(r.wrap(tc.stream), -1))
				var pe *ProtocolError
				assert.ErrorAs(t, err, &pe)
			})
		}
	}
}

// TestReaderRefusesBadFlagsAtOnce gives the Reader a bad flags byte and then
// an error for any further read: the flags alone must decide.
func TestReaderRefusesBadFlagsAtOnce(t *testing.T) {
	for _, flags := range []byte{0x08, 0x30, 0x80, FlagCommand | FlagMore, FlagCommand | FlagMore | FlagLong} {
		r := io.MultiReader(bytes.NewReader([]byte{flags}), iotest.ErrReader(errors.New("read past the flags byte")))
		_, err := NewReader(r, -1).ReadHeader()
		var pe *ProtocolError
		assert.ErrorAs(t, err, &pe, "flags %#x", flags)
	}
}

func TestSkipBody(t *testing.T) {
	bodies := []string{"", "s", strings.Repeat("m", 300), strings.Repeat("L", 40<<10)}
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			var stream []byte
			for _, b := range bodies {
				stream = append(stream, encode(frame{more: true, body: b}, frame{body: "keep:" + b[:min(len(b), 3)]})...)
			}
			rd := NewReader(r.wrap(stream), -1)
			m := wire.Get()
			defer m.Release()
			for _, b := range bodies {
				h, err := rd.ReadHeader()
				require.NoError(t, err)
				require.Equal(t, uint64(len(b)), h.Size)
				require.NoError(t, rd.SkipBody(h))
				h, err = rd.ReadHeader()
				require.NoError(t, err)
				require.NoError(t, rd.ReadFrameInto(m, h))
				assert.Equal(t, "keep:"+b[:min(len(b), 3)], string(m.Frames[m.Len()-1]))
			}
			_, err := rd.ReadHeader()
			assert.Equal(t, io.EOF, err)
		})
	}
	_, err := readAll(NewReader(bytes.NewReader([]byte{0, 5, 'a'}), -1))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	rd := NewReader(bytes.NewReader([]byte{0, 5, 'a'}), -1)
	h, err := rd.ReadHeader()
	require.NoError(t, err)
	assert.ErrorIs(t, rd.SkipBody(h), io.ErrUnexpectedEOF)
}

func TestPeek(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 5000)
	rd := NewReader(iotest.HalfReader(bytes.NewReader(data)), -1)
	b, err := rd.Peek(11)
	require.NoError(t, err)
	assert.Equal(t, data[:11], b)
	b, err = rd.Peek(GreetingSize)
	require.NoError(t, err)
	assert.Equal(t, data[:GreetingSize], b)
	rd.Discard(3)
	b, err = rd.Peek(bigBufSize)
	require.NoError(t, err, "Peek may ask for a whole big buffer")
	assert.Equal(t, data[3:3+bigBufSize], b)
	_, err = rd.Peek(bigBufSize + 1)
	assert.Error(t, err, "Peek beyond the big buffer must fail, not hang")
	_, err = rd.Peek(-1)
	assert.Error(t, err)
	rd.Discard(bigBufSize)
	rest := make([]byte, len(data)-3-bigBufSize)
	require.NoError(t, rd.ReadFull(rest))
	assert.Equal(t, data[3+bigBufSize:], rest)
	_, err = rd.Peek(1)
	assert.Equal(t, io.EOF, err)

	_, err = NewReader(bytes.NewReader([]byte("abc")), -1).Peek(4)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

// TestReaderBufferLifecycle follows the small and big buffers: a reader that
// sees full reads borrows the big buffer, one that drains its input with a
// short read gives it back, and no byte is lost or reordered on the way.
func TestReaderBufferLifecycle(t *testing.T) {
	msg := encode(frame{more: true, body: "id"}, frame{body: strings.Repeat("p", 100)})
	const n = 1000
	stream := bytes.Repeat(msg, n)
	// A few full reads, then 10-byte reads: a burst of traffic followed by
	// a trickle. The stream is 106000 bytes long.
	sizes := make([]int, 0, 20)
	for range 2 {
		sizes = append(sizes, bigBufSize)
	}
	sizes = append(sizes, 10)
	rd := NewReader(&chunkReader{data: stream, sizes: sizes}, -1)
	require.True(t, rd.big == nil, "a new reader has only its small buffer")

	m := wire.Get()
	defer m.Release()
	sawBig, bigAgainAfterTrickle := false, false
	for i := range n {
		for _, want := range []string{"id", strings.Repeat("p", 100)} {
			h, err := rd.ReadHeader()
			require.NoError(t, err, "message %d", i)
			require.NoError(t, rd.ReadFrameInto(m, h))
			require.Equal(t, want, string(m.Frames[m.Len()-1]), "message %d", i)
		}
		m.Reset()
		if rd.big != nil {
			if i < n/2 {
				sawBig = true
			} else if i > n-100 {
				bigAgainAfterTrickle = true
			}
		}
	}
	_, err := rd.ReadHeader()
	require.Equal(t, io.EOF, err)
	assert.True(t, sawBig, "a busy reader borrows the big buffer")
	assert.False(t, bigAgainAfterTrickle, "a trickling reader gives the big buffer back")
	assert.True(t, rd.big == nil)
}

func TestReaderRelease(t *testing.T) {
	frames := make([]frame, 40)
	for i := range frames {
		frames[i] = frame{body: fmt.Sprintf("%03d:%s", i, strings.Repeat("r", 20))}
	}
	stream := encode(frames...) // 40 frames of 26 bytes: 1040 bytes
	tests := []struct {
		name     string
		read     int  // frames to read before Release
		keepsBig bool // whether the buffered bytes are too many to move
	}{
		{name: "many bytes buffered", read: 5, keepsBig: true},
		{name: "few bytes buffered", read: 35},
		{name: "nothing buffered", read: 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rd := NewReader(bytes.NewReader(stream), -1)
			_, err := rd.Peek(len(stream)) // borrows, reads everything
			require.NoError(t, err)
			require.True(t, rd.big != nil)
			m := wire.Get()
			defer m.Release()
			for range tc.read {
				h, err := rd.ReadHeader()
				require.NoError(t, err)
				require.NoError(t, rd.ReadFrameInto(m, h))
			}
			buffered := rd.Buffered()
			rd.Release()
			assert.Equal(t, buffered, rd.Buffered(), "Release keeps every buffered byte")
			assert.Equal(t, tc.keepsBig, rd.big != nil)
			got, err := readAll(rd)
			require.Equal(t, io.EOF, err)
			require.Equal(t, len(frames)-tc.read, len(got))
			if len(got) > 0 {
				require.Equal(t, frames[tc.read:], got)
			}
			rd.Release()
			assert.True(t, rd.big == nil)
		})
	}
}

// TestReaderBorrowKeepsBufferedBytes has the small buffer hold part of a
// frame when a big read makes the reader borrow; the part must move along.
func TestReaderBorrowKeepsBufferedBytes(t *testing.T) {
	body := strings.Repeat("0123456789", 100) // 1000 bytes
	stream := encode(frame{body: "first"}, frame{cmd: true, body: body}, frame{body: body}, frame{body: "last"})
	rd := NewReader(&chunkReader{data: stream, sizes: []int{100, 50, 7}}, -1)
	got, err := readAll(rd)
	require.Equal(t, io.EOF, err)
	assert.Equal(t, []frame{{body: "first"}, {cmd: true, body: body}, {body: body}, {body: "last"}}, got)
}

// bufferedCounter counts the bytes that reads into the Reader's buffer
// (those of at most bigBufSize bytes) returned: the bytes ReadFrameInto
// then copies into a message.
type bufferedCounter struct {
	r        io.Reader
	buffered int
}

func (c *bufferedCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if len(p) <= bigBufSize {
		c.buffered += n
	}
	return n, err
}

// TestReaderLargeBodiesArriveInPlace: after a large frame's body, read
// straight into its message, the next read is short, so that of a stream
// of large frames only each header and a few bytes come through the buffer
// and are copied; the rest of every body arrives in its message.
func TestReaderLargeBodiesArriveInPlace(t *testing.T) {
	const size = 64 << 10
	var want []frame
	for i := range 4 {
		want = append(want, frame{body: strings.Repeat(string(rune('a'+i)), size)})
	}
	want = append(want, frame{body: "small"}, frame{body: strings.Repeat("z", size)})
	c := &bufferedCounter{r: bytes.NewReader(encode(want...))}
	rd := NewReader(c, -1)
	got, err := readAll(rd)
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, want, got)
	assert.LessOrEqual(t, c.buffered, smallBufSize+len(want)*afterLargeRead,
		"bytes that came through the buffer, for %d frames of %d bytes", len(want)-1, size)
}

// shortAfter fills every read until its first n bytes are out, then
// returns at most one byte a read.
type shortAfter struct {
	r io.Reader
	n int
}

func (s *shortAfter) Read(p []byte) (int, error) {
	if s.n <= 0 && len(p) > 1 {
		p = p[:1]
	}
	k, err := s.r.Read(p)
	s.n -= k
	return k, err
}

// TestReaderStreak: Streak adds up the reads that filled what they were
// given, small and large bodies alike, and a read that comes back short or
// EndStreak starts it again.
func TestReaderStreak(t *testing.T) {
	var stream []byte
	for range 4 {
		stream = append(stream, encode(frame{body: strings.Repeat("a", 20<<10)})...)
	}
	for range 2000 {
		stream = append(stream, encode(frame{body: "b"})...)
	}
	src := &shortAfter{r: bytes.NewReader(stream), n: len(stream) - 100}
	rd := NewReader(src, -1)
	assert.True(t, rd.Drained(), "before any read")
	m := wire.Get()
	defer m.Release()
	for range 4 {
		h, err := rd.ReadHeader()
		require.NoError(t, err)
		require.NoError(t, rd.ReadFrameInto(m, h))
	}
	assert.GreaterOrEqual(t, rd.Streak(), 4*20<<10, "the large bodies' reads were full")
	assert.False(t, rd.Drained())
	rd.EndStreak()
	assert.Zero(t, rd.Streak())
	assert.False(t, rd.Drained(), "ending a streak is no read")
	for {
		h, err := rd.ReadHeader()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		require.NoError(t, rd.ReadFrameInto(m, h))
	}
	assert.Zero(t, rd.Streak(), "the last reads came back short")
	assert.True(t, rd.Drained())
}

// TestReaderNoProgressInLargeBody: a large body whose reads bring nothing
// fails instead of spinning.
func TestReaderNoProgressInLargeBody(t *testing.T) {
	head := encode(frame{body: strings.Repeat("a", 20<<10)})[:9]
	rd := NewReader(io.MultiReader(bytes.NewReader(head), zeroReader{}), -1)
	h, err := rd.ReadHeader()
	require.NoError(t, err)
	m := wire.Get()
	defer m.Release()
	assert.ErrorIs(t, rd.ReadFrameInto(m, h), io.ErrNoProgress)
}
