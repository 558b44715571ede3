package zmtp

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fuzzMaxSize is the message frame limit of FuzzReader and FuzzHandshake.
const fuzzMaxSize = 1 << 16

// splitChunks takes the chunk sizes for a chunkReader off the front of data:
// the first byte says how many size bytes follow (0 to 7); each size byte b
// means reads of 1+b*b bytes (1 to 65026). The rest is the stream.
func splitChunks(data []byte) (sizes []int, stream []byte) {
	if len(data) == 0 {
		return []int{1 << 20}, nil
	}
	n := min(int(data[0]%8), len(data)-1)
	for _, b := range data[1 : 1+n] {
		sizes = append(sizes, 1+int(b)*int(b))
	}
	if len(sizes) == 0 {
		sizes = []int{1 << 20}
	}
	return sizes, data[1+n:]
}

// referenceDecode decodes stream as a Reader with the given limits should,
// straight from the bytes, and returns the frames and the error that ends
// them.
func referenceDecode(stream []byte, maxSize, maxCommand int64) ([]frame, error) {
	var out []frame
	for {
		if len(stream) == 0 {
			return out, io.EOF
		}
		h, n, err := ParseHeader(stream)
		if err != nil {
			return out, err
		}
		if n == 0 {
			return out, io.ErrUnexpectedEOF
		}
		stream = stream[n:]
		if h.IsCommand() && h.Size > uint64(maxCommand) {
			return out, protoErr("command too large")
		}
		if !h.IsCommand() && h.Size > uint64(maxSize) {
			return out, ErrMessageTooLarge
		}
		if uint64(len(stream)) < h.Size {
			return out, io.ErrUnexpectedEOF
		}
		out = append(out, frame{cmd: h.IsCommand(), more: h.More(), body: string(stream[:h.Size])})
		stream = stream[h.Size:]
	}
}

// sameErrorKind reports whether got is the same kind of error as want.
func sameErrorKind(got, want error) bool {
	var pe *ProtocolError
	switch {
	case errors.As(want, &pe):
		return errors.As(got, &pe)
	default:
		return got == want
	}
}

func readerSeeds() [][]byte {
	msg := AppendMessage(nil, [][]byte{[]byte("id"), {}, []byte("hello")})
	big := AppendMessage(nil, [][]byte{bytes.Repeat([]byte{'b'}, 300), bytes.Repeat([]byte{'L'}, 9000)})
	cmd := AppendCommand(nil, &Ping{TTL: 10, Context: []byte("ctx")})
	ready := AppendCommand(nil, &Ready{Metadata: (&Config{SocketType: DEALER, Identity: []byte("w")}).LocalMetadata()})
	longSmall := []byte{FlagLong, 0, 0, 0, 0, 0, 0, 0, 2, 'h', 'i'}
	return [][]byte{
		append([]byte{0}, msg...),
		append([]byte{1, 0}, msg...), // one-byte reads
		append([]byte{2, 3, 16}, append(cmd, msg...)...),
		append([]byte{1, 200}, big...),
		append([]byte{0}, append(ready, msg...)...),
		append([]byte{0}, longSmall...),
		append([]byte{0}, AppendHeader(nil, 0, 1<<62)...),
		append([]byte{0}, AppendHeader(nil, FlagMore, fuzzMaxSize)...),
		append([]byte{0}, 0x08, 0x00),
		append([]byte{0}, msg[:len(msg)-2]...),
	}
}

// FuzzReader feeds a stream through a Reader in reads of sizes taken from
// the input, and checks that it decodes exactly what referenceDecode finds
// in the same bytes: the same frames, ended by the same kind of error.
func FuzzReader(f *testing.F) {
	for _, s := range readerSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sizes, stream := splitChunks(data)
		want, wantErr := referenceDecode(stream, fuzzMaxSize, DefaultMaxCommandSize)
		for _, src := range []io.Reader{
			&chunkReader{data: stream, sizes: sizes},
			&vecChunkReader{chunkReader{data: stream, sizes: sizes}},
		} {
			got, err := readAll(NewReader(src, fuzzMaxSize))
			require.Error(t, err)
			require.True(t, sameErrorKind(err, wantErr), "%T: error %v, want %v", src, err, wantErr)
			require.Equal(t, len(want), len(got), "%T: frames", src)
			for i := range want {
				require.Equal(t, want[i], got[i], "%T: frame %d", src, i)
			}
		}
		// Decoded as a receiver that the reading is lent to decodes it.
		var reads int
		got, err := readSomeAll(t, NewReader(countReads(&chunkReader{data: stream, sizes: sizes}, &reads), fuzzMaxSize), &reads)
		require.Error(t, err)
		require.True(t, sameErrorKind(err, wantErr), "lent: error %v, want %v", err, wantErr)
		require.Equal(t, len(want), len(got), "lent: frames")
		for i := range want {
			require.Equal(t, want[i], got[i], "lent: frame %d", i)
		}
	})
}

// FuzzGreeting parses greetings; whatever parses must encode back to a
// greeting that parses the same and carries the same version, mechanism
// and as-server bytes.
func FuzzGreeting(f *testing.F) {
	for _, g := range []Greeting{
		{Major: 3, Minor: 1, Mechanism: "NULL"},
		{Major: 3, Minor: 0, Mechanism: "PLAIN", AsServer: true},
		{Major: 3, Minor: 1, Mechanism: "CURVE"},
		{Major: 2, Minor: 0, Mechanism: "NULL"},
	} {
		f.Add(g.Append(nil))
	}
	staged := Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}.Append(nil)
	staged[8] = 9
	f.Add(staged)
	f.Add([]byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := ParseGreeting(b)
		if err != nil {
			var pe *ProtocolError
			var ve *VersionError
			require.True(t, errors.As(err, &pe) || errors.As(err, &ve), "error of an unexpected type: %v", err)
			return
		}
		enc := g.Append(nil)
		require.Len(t, enc, GreetingSize)
		g2, err := ParseGreeting(enc)
		require.NoError(t, err)
		require.Equal(t, g, g2)
		require.Equal(t, b[10:32], enc[10:32], "version and mechanism")
		require.Equal(t, b[32] != 0, enc[32] == 1, "as-server: any byte but 0 is set, and goes out as 1")
	})
}

func commandSeeds() []Command {
	return []Command{
		&Ready{Metadata: (&Config{SocketType: ROUTER}).LocalMetadata()},
		&Ready{Metadata: Metadata{{Name: "Socket-Type", Value: []byte("DEALER")}, {Name: "Identity", Value: []byte("worker-1")}, {Name: "X-A", Value: []byte{0, 1}}}},
		&Error{Reason: "invalid socket type"},
		&Ping{TTL: 300, Context: []byte("0123456789abcdef")},
		&Ping{},
		&Pong{Context: []byte("ctx")},
		&Subscribe{Topic: []byte("topic")},
		&Cancel{Topic: []byte("topic")},
		&Unknown{CmdName: "HELLO", Data: []byte{1, 2}},
	}
}

// FuzzCommand parses command bodies; whatever parses must re-encode to a
// body of the announced length that parses to an equal command.
func FuzzCommand(f *testing.F) {
	for _, c := range commandSeeds() {
		f.Add(c.Append(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCommand(b)
		if err != nil {
			var pe *ProtocolError
			require.ErrorAs(t, err, &pe)
			return
		}
		enc := c.Append(nil)
		require.Len(t, enc, c.Len())
		c2, err := ParseCommand(enc)
		require.NoError(t, err)
		require.Equal(t, c, c2)
		require.Equal(t, enc, c2.Append(nil))
	})
}

// FuzzMetadata parses metadata; the encoding has no slack, so whatever parses
// must encode back to the very same bytes, and be valid.
func FuzzMetadata(f *testing.F) {
	for _, md := range []Metadata{
		(&Config{SocketType: DEALER, Identity: []byte("abc")}).LocalMetadata(),
		{{Name: "Resource", Value: []byte("/x")}, {Name: "X-Empty"}},
		{{Name: "a.b+c_d-e", Value: bytes.Repeat([]byte{0xFF}, 300)}},
	} {
		f.Add(md.Append(nil))
	}
	f.Add([]byte{8, 'I', 'd', 'e', 'n', 't', 'i', 't', 'y', 0x7F, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		md, err := ParseMetadata(b)
		if err != nil {
			var pe *ProtocolError
			require.ErrorAs(t, err, &pe)
			return
		}
		require.NoError(t, md.Validate())
		require.Equal(t, len(b), md.Len())
		require.True(t, bytes.Equal(b, md.Append(nil)), "re-encoding differs")
		for _, p := range md {
			v, ok := md.Get(strings.ToUpper(p.Name))
			require.True(t, ok, "Get(%q) ignores case", p.Name)
			for _, q := range md { // Get returns the first match
				if strings.EqualFold(q.Name, p.Name) {
					require.Equal(t, q.Value, v)
					break
				}
			}
		}
	})
}

func handshakeSeeds() [][]byte {
	greeting := Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}.Append(nil)
	ready := func(typ SocketType, id string) []byte {
		return AppendCommand(nil, &Ready{Metadata: (&Config{SocketType: typ, Identity: []byte(id)}).LocalMetadata()})
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	return [][]byte{
		cat(greeting, ready(DEALER, "w1")),
		cat(greeting, ready(REQ, ""), AppendMessage(nil, [][]byte{{}, []byte("hi")})),
		cat(greeting, ready(PUB, "")),
		cat(greeting, AppendCommand(nil, &Error{Reason: "nope"})),
		cat(greeting, AppendCommand(nil, &Ping{TTL: 1})),
		cat(Greeting{Major: 3, Minor: 0, Mechanism: "PLAIN"}.Append(nil), ready(DEALER, "")),
		{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 1, 5},
		greeting[:40],
		cat(v2Opening(5, "jdealer"), AppendMessage(nil, [][]byte{[]byte("a"), {}})),
		cat(v2Opening(3, ""), AppendMessage(nil, [][]byte{{}, []byte("req")})),
		v2Opening(1, "pub"),
	}
}

// FuzzHandshake runs a whole Handshake as ROUTER over net.Pipe against a
// peer that writes the input, reads whatever it is sent, and closes. The
// handshake must end, with a session for a compatible peer or an error.
func FuzzHandshake(f *testing.F) {
	for _, s := range handshakeSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		ours, theirs := net.Pipe()
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			_, _ = io.Copy(io.Discard, theirs)
		}()
		wrote := make(chan struct{})
		go func() {
			defer close(wrote)
			_, _ = theirs.Write(script)
			_ = theirs.Close()
		}()
		s, err := Handshake(ours, &Config{SocketType: ROUTER, Timeout: time.Second, MaxSize: fuzzMaxSize})
		_ = ours.Close()
		<-wrote
		<-drained
		if err != nil {
			assert.Nil(t, s)
			return
		}
		require.True(t, Compatible(ROUTER, s.SocketType), "session with a %q peer", s.SocketType)
		if script[10] == revisionZMTP20 {
			checkV2Session(t, s, script[signatureSize+1:])
			return
		}
		g, err := ParseGreeting(script)
		require.NoError(t, err, "a session needs a valid greeting first")
		require.Equal(t, g, s.Greeting)
		require.Equal(t, "NULL", g.Mechanism)
		id, _ := s.Metadata.Get(PropIdentity)
		require.Equal(t, id, s.Identity)
	})
}

// checkV2Session checks the session of a ZMTP 2.0 handshake against the
// bytes the peer sent after its revision byte: a socket type byte and an
// identity frame.
func checkV2Session(t *testing.T, s *Session, after []byte) {
	t.Helper()
	require.Equal(t, Greeting{Major: 2}, s.Greeting)
	require.False(t, s.Commands())
	require.Equal(t, v2Types[after[0]], s.SocketType)
	h, n, err := ParseHeader(after[1:])
	require.NoError(t, err)
	require.NotZero(t, n)
	require.False(t, h.More() || h.IsCommand())
	require.Equal(t, string(after[1+n:1+n+int(h.Size)]), string(s.Identity))
	require.Empty(t, s.Metadata)
}

// referenceDecodeV2 is referenceDecode for a ZMTP 2.0 peer, whose frames
// have no command flag: a frame with it set ends the stream.
func referenceDecodeV2(stream []byte, maxSize int64) ([]frame, error) {
	var out []frame
	for {
		if len(stream) == 0 {
			return out, io.EOF
		}
		h, n, err := ParseHeader(stream)
		if err != nil {
			return out, err
		}
		if n == 0 {
			return out, io.ErrUnexpectedEOF
		}
		if h.IsCommand() {
			return out, protoErr("command flag")
		}
		stream = stream[n:]
		if h.Size > uint64(maxSize) {
			return out, ErrMessageTooLarge
		}
		if uint64(len(stream)) < h.Size {
			return out, io.ErrUnexpectedEOF
		}
		out = append(out, frame{more: h.More(), body: string(stream[:h.Size])})
		stream = stream[h.Size:]
	}
}

// chunkedPeer writes script to c in writes of the given sizes, in turn,
// then closes c; it reads and drops what it is sent. It returns a channel
// closed when both its goroutines are done.
func chunkedPeer(c net.Conn, script []byte, sizes []int) <-chan struct{} {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _, _ = io.Copy(io.Discard, c) }()
	go func() {
		defer wg.Done()
		for i := 0; len(script) > 0; i++ {
			n := min(sizes[i%len(sizes)], len(script))
			if _, err := c.Write(script[:n]); err != nil {
				break
			}
			script = script[n:]
		}
		_ = c.Close()
	}()
	go func() { wg.Wait(); close(done) }()
	return done
}

// FuzzHandshakeV2 plays a ZMTP 2.0 peer whose signature and revision are
// fixed and whose socket type byte, identity frame and messages are the
// input, written in chunks of sizes taken from the input's front (see
// splitChunks). The handshake must keep to libzmq's stages, and end with a
// session whose socket type and identity are those sent, then read exactly
// the frames of ZMTP 2.0 that follow, ended by the same kind of error as
// referenceDecodeV2's; or with an error.
func FuzzHandshakeV2(f *testing.F) {
	for _, s := range [][]byte{
		append([]byte{0}, v2Opening(5, "jdealer")[signatureSize+1:]...),
		append([]byte{1, 0}, append(v2Opening(3, "")[signatureSize+1:], AppendMessage(nil, [][]byte{{}, []byte("hello")})...)...),
		append([]byte{2, 3, 16}, append(v2Opening(6, "r")[signatureSize+1:], AppendMessage(nil, [][]byte{bytes.Repeat([]byte("L"), 300), {}})...)...),
		append([]byte{0}, append(v2Opening(5, "")[signatureSize+1:], AppendCommand(nil, &Ping{TTL: 1})...)...),
		append([]byte{0}, 5, FlagMore, 1, 'x'),
		append([]byte{0}, 5, FlagLong, 0, 0, 0, 0, 0, 0, 1, 0),
		append([]byte{0}, 1, 0, 0),
		append([]byte{0}, 9),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sizes, after := splitChunks(data)
		script := append([]byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, revisionZMTP20}, after...)
		a, theirs := net.Pipe()
		ours := &recordConn{Conn: a}
		peerDone := chunkedPeer(theirs, script, sizes)
		s, err := Handshake(ours, &Config{SocketType: ROUTER, Timeout: time.Second, MaxSize: fuzzMaxSize})
		if err == nil {
			checkV2Session(t, s, after)
			got, rerr := readAll(s.Reader)
			_, n, _ := ParseHeader(after[1:])
			h, _, _ := ParseHeader(after[1:])
			rest := after[1+n+int(h.Size):]
			want, wantErr := referenceDecodeV2(rest, fuzzMaxSize)
			require.True(t, sameErrorKind(rerr, wantErr), "error %v, want %v", rerr, wantErr)
			require.Equal(t, want, got)
		} else {
			assert.Nil(t, s)
		}
		_ = ours.Close()
		<-peerDone
		requireStaged(t, ours.log())
	})
}

// FuzzHandshakeStaged runs a whole Handshake as ROUTER against a peer that
// writes the input after the chunk sizes at its front (see splitChunks), in
// writes of those sizes: whatever the peer sends, in whatever pieces, the
// handshake must end, and send nothing before the bytes that libzmq's
// stages wait for have come.
func FuzzHandshakeStaged(f *testing.F) {
	for _, s := range handshakeSeeds() {
		f.Add(append([]byte{0}, s...))
		f.Add(append([]byte{3, 0, 3, 7}, s...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sizes, script := splitChunks(data)
		a, theirs := net.Pipe()
		ours := &recordConn{Conn: a}
		peerDone := chunkedPeer(theirs, script, sizes)
		s, err := Handshake(ours, &Config{SocketType: ROUTER, Timeout: time.Second, MaxSize: fuzzMaxSize})
		_ = ours.Close()
		<-peerDone
		requireStaged(t, ours.log())
		if err != nil {
			return
		}
		if script[10] == revisionZMTP20 {
			checkV2Session(t, s, script[signatureSize+1:])
		} else {
			g, err := ParseGreeting(script)
			require.NoError(t, err)
			require.Equal(t, g, s.Greeting)
		}
	})
}

// requireStaged is checkStaged for fuzz targets: it fails at once.
func requireStaged(t *testing.T, writes []recordedWrite) {
	t.Helper()
	sent := 0
	for i, w := range writes {
		if i == 0 {
			require.Equal(t, ourSignature, w.b, "first write: the signature alone")
		}
		sent += len(w.b)
		require.LessOrEqual(t, sent, stagedLimit(w.afterRead), "write %d after %d bytes of the peer's", i, w.afterRead)
	}
}
