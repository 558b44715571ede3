//go:build !race

// The race detector makes sync.Pool drop a random share of what it is given,
// so allocation counts are only meaningful without it.

package zmtp

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/wire"
)

// secTransports are the connections the steady-state tests run a real
// handshake over.
var secTransports = []struct {
	name  string
	conns func(*testing.T) (net.Conn, net.Conn)
}{{"pipe", pipeConns}, {"tcp", tcpConns}}

// secSteadyAllocs measures, after a handshake, the allocations of sending
// and receiving a 3-frame message of frames of size bytes: codec's
// AppendFrame into a reused buffer, and rd.ReadFrame into a reused
// wire.Msg, reset after each message, of what a goroutine of its own
// writes to w with the same codec while this one reads from r (the other
// end). Both ends keep a deadline while it runs, so that a bug shows as an
// error, not a hang. The writer's allocations would count too; it makes
// none when encoding makes none.
func secSteadyAllocs(t *testing.T, codec Codec, w, r net.Conn, rd *Reader, size int) (encode, decode float64) {
	t.Helper()
	frames := benchFrames(size)
	appendMsg := func(b []byte) []byte {
		for i, f := range frames {
			var flags byte
			if i < len(frames)-1 {
				flags = FlagMore
			}
			b = codec.AppendFrame(b, flags, f)
		}
		return b
	}
	buf := make([]byte, 0, 3*(codec.Overhead()+size))
	encode = testing.AllocsPerRun(100, func() { buf = appendMsg(buf[:0]) })

	// Enough messages to warm the pools and the codec's and reader's
	// buffers, then the measured ones: AllocsPerRun runs its function
	// once more than it is told.
	warm := 2000
	if size >= 64<<10 {
		warm = 200
	}
	const runs = 100
	require.NoError(t, w.SetDeadline(time.Now().Add(hsTimeout)))
	require.NoError(t, r.SetDeadline(time.Now().Add(hsTimeout)))
	wrote := make(chan error, 1)
	go func() {
		wbuf := make([]byte, 0, cap(buf))
		var err error
		for i := 0; i < warm+runs+1 && err == nil; i++ {
			wbuf = appendMsg(wbuf[:0])
			_, err = w.Write(wbuf)
		}
		wrote <- err
	}()
	m := wire.Get()
	defer m.Release()
	errBadFrame := errors.New("a frame that was not sent")
	var err error
	read := func() {
		for i := 0; i < len(frames) && err == nil; i++ {
			var f *Frame
			if f, err = rd.ReadFrame(m); err != nil {
				break
			}
			if f.Command != nil || f.More != (i < len(frames)-1) || !bytes.Equal(m.Frames[i], frames[i]) {
				err = errBadFrame
			}
		}
		m.Reset()
	}
	for range warm {
		read()
	}
	decode = testing.AllocsPerRun(runs, read)
	if err != nil {
		_ = w.Close() // the writer may be blocked on a reader that gave up
	}
	werr := <-wrote
	require.NoError(t, err, "reading")
	require.NoError(t, werr, "writing")
	require.NoError(t, w.SetDeadline(time.Time{}))
	require.NoError(t, r.SetDeadline(time.Time{}))
	return encode, decode
}

// TestCurveSteadyStateAllocs checks that once a real CURVE handshake is
// done, sealing frames (AppendFrame into a reused buffer, and
// AppendCommand, which heartbeats use) and opening them (the session's
// Reader.ReadFrame into a reused wire.Msg) cost no allocation per message,
// for 16 B, 1 KiB and 64 KiB frames (the last read through the Reader's
// scratch buffer, being past its read buffer), in both directions, over
// net.Pipe and TCP. Not parallel: AllocsPerRun counts the allocations of
// the whole process.
func TestCurveSteadyStateAllocs(t *testing.T) {
	for _, tr := range secTransports {
		t.Run(tr.name, func(t *testing.T) {
			sc, cc := tr.conns(t)
			server, client := curvePair(t)
			hp := handshakeOn(sc, cc,
				&Config{SocketType: ROUTER, Mechanism: server, Timeout: hsTimeout, MaxSize: -1},
				&Config{SocketType: DEALER, Mechanism: client, Timeout: hsTimeout, MaxSize: -1})
			require.NoError(t, hp.serr)
			require.NoError(t, hp.cerr)
			require.False(t, hp.cs.Codec.Plain())
			for _, size := range benchFrameSizes {
				t.Run("client to server "+benchName(size), func(t *testing.T) {
					enc, dec := secSteadyAllocs(t, hp.cs.Codec, cc, sc, hp.ss.Reader, size)
					assert.Zero(t, enc, "AppendFrame")
					assert.Zero(t, dec, "ReadFrame")
				})
				t.Run("server to client "+benchName(size), func(t *testing.T) {
					enc, dec := secSteadyAllocs(t, hp.ss.Codec, sc, cc, hp.cs.Reader, size)
					assert.Zero(t, enc, "AppendFrame")
					assert.Zero(t, dec, "ReadFrame")
				})
			}
			ping := (&Ping{TTL: 100, Context: []byte("ctx")}).Append(nil)
			buf := make([]byte, 0, 128)
			assert.Zero(t, testing.AllocsPerRun(100, func() { buf = hp.cs.Codec.AppendCommand(buf[:0], ping) }), "AppendCommand")
		})
	}
}

// TestPlainSteadyStateAllocsAsNull checks that PLAIN, which authenticates
// and encrypts nothing, leaves a session on the very path of NULL's: the
// same codec (PlainCodec), frames on the wire byte for byte as NULL's, a
// Reader that opens nothing, and no allocation per message to encode or
// decode, for 16 B, 1 KiB and 64 KiB frames, as for NULL, measured the same
// way. Not parallel: AllocsPerRun counts the allocations of the whole
// process.
func TestPlainSteadyStateAllocsAsNull(t *testing.T) {
	for _, tc := range []struct {
		name           string
		server, client Mechanism
	}{
		{"NULL", nil, nil},
		{"PLAIN", &Plain{Server: true}, &Plain{Username: []byte("admin"), Password: []byte("secret")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, cc := pipeConns(t)
			hp := handshakeOn(sc, cc,
				&Config{SocketType: ROUTER, Mechanism: tc.server, Timeout: hsTimeout, MaxSize: -1},
				&Config{SocketType: DEALER, Mechanism: tc.client, Timeout: hsTimeout, MaxSize: -1})
			require.NoError(t, hp.serr)
			require.NoError(t, hp.cerr)
			for _, s := range []*Session{hp.ss, hp.cs} {
				assert.Equal(t, Codec(PlainCodec{}), s.Codec)
				assert.Nil(t, s.Reader.codec, "the Reader opens nothing")
				assert.Equal(t, int64(DefaultMaxCommandSize), s.Reader.MaxCommandSize)
			}
			frames := benchFrames(16)
			var b []byte
			for i, f := range frames {
				var flags byte
				if i < len(frames)-1 {
					flags = FlagMore
				}
				b = hp.cs.Codec.AppendFrame(b, flags, f)
			}
			assert.Equal(t, AppendMessage(nil, frames), b, "frames as NULL sends them")
			for _, size := range benchFrameSizes {
				t.Run(benchName(size), func(t *testing.T) {
					enc, dec := secSteadyAllocs(t, hp.cs.Codec, cc, sc, hp.ss.Reader, size)
					assert.Zero(t, enc, "AppendFrame")
					assert.Zero(t, dec, "ReadFrame")
				})
			}
		})
	}
}

var secBenchSizes = []int{16, 1 << 10, 64 << 10}

func secBenchName(size int) string {
	if size >= 1<<10 {
		return fmt.Sprintf("%dKiB", size>>10)
	}
	return fmt.Sprintf("%dB", size)
}

// BenchmarkCurveSeal seals one message frame into a MESSAGE, into a reused
// buffer, with a codec as a CURVE handshake leaves it.
func BenchmarkCurveSeal(b *testing.B) {
	for _, size := range secBenchSizes {
		b.Run(secBenchName(size), func(b *testing.B) {
			snd, _ := secOpenCodecs()
			body := bytes.Repeat([]byte{'x'}, size)
			buf := make([]byte, 0, snd.Overhead()+size)
			buf = snd.AppendFrame(buf[:0], 0, body) // the codec keeps a buffer of the frame's size
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				buf = snd.AppendFrame(buf[:0], 0, body)
			}
			if len(buf) != HeaderLen(curveMessageMin+size)+curveMessageMin+size {
				b.Fatalf("sealed %d bytes", len(buf))
			}
		})
	}
}

// BenchmarkCurveOpen opens one MESSAGE into a reused buffer. The receiver's
// nonce is set back before each Open, so that the same MESSAGE opens again
// instead of counting as a replay.
func BenchmarkCurveOpen(b *testing.B) {
	for _, size := range secBenchSizes {
		b.Run(secBenchName(size), func(b *testing.B) {
			snd, rcv := secOpenCodecs()
			sealed := snd.AppendFrame(nil, 0, bytes.Repeat([]byte{'x'}, size))
			_, n, err := ParseHeader(sealed)
			if err != nil || n == 0 {
				b.Fatal("bad header", err)
			}
			body := sealed[n:]
			dst := make([]byte, 0, size+1)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				rcv.recvNonce = 2
				out, _, err := rcv.Open(dst[:0], body)
				if err != nil || len(out) != size+1 {
					b.Fatal("Open:", err)
				}
			}
		})
	}
}
