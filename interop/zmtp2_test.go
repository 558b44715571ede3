package interop

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/zmtp"
)

// ZMTP 2.0 (RFC 15) peers driven by hand over TCP, against libzmq first,
// to learn what it does, and then against zrouter, which must do the same
// where the tests say so. Real ZMTP 2.0 stacks (JeroMQ 0.3) are in
// jeromq_test.go.

// v2Signature is the signature a ZMTP 2.0 peer with identity id sends: its
// padding is the identity's length plus one (RFC 15).
func v2Signature(id string) []byte {
	return []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, byte(len(id) + 1), 0x7F}
}

// v2Frames encodes a message in ZMTP 2.0's framing, which is ZMTP 3's
// without commands.
func v2Frames(frames ...string) []byte {
	b := make([][]byte, len(frames))
	for i, f := range frames {
		b[i] = []byte(f)
	}
	return zmtp.AppendMessage(nil, b)
}

// v2Got is what the other side sent a ZMTP 2.0 peer, stage by stage.
type v2Got struct {
	signature []byte // the first 10 bytes, read before the peer sent any
	major     byte   // the 11th, after the peer's signature
	typ       byte   // the 12th, after the peer's revision byte
	identity  []byte // the identity frame's body, after the peer's socket type
}

// v2Handshake plays a ZMTP 2.0 peer of socket type code and identity id on
// c in libzmq's stages, reading what the other side sends at each: it reads
// the other's signature before it sends its own.
func v2Handshake(t *testing.T, c net.Conn, code byte, id string) v2Got {
	t.Helper()
	var got v2Got
	got.signature = readFull(t, c, 10)
	writeAll(t, c, v2Signature(id))
	got.major = readFull(t, c, 1)[0]
	writeAll(t, c, []byte{1, code})
	got.typ = readFull(t, c, 1)[0]
	writeAll(t, c, zmtp.AppendFrame(nil, 0, []byte(id)))
	hdr := readFull(t, c, 2)
	require.Equal(t, byte(0), hdr[0], "identity frame: final-short")
	got.identity = readFull(t, c, int(hdr[1]))
	return got
}

func readFull(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(ioTimeout)))
	b := make([]byte, n)
	_, err := io.ReadFull(c, b)
	require.NoError(t, err)
	return b
}

func writeAll(t *testing.T, c net.Conn, b []byte) {
	t.Helper()
	require.NoError(t, c.SetWriteDeadline(time.Now().Add(ioTimeout)))
	_, err := c.Write(b)
	require.NoError(t, err)
}

func dialRaw(t *testing.T, endpoint string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", tcpAddr(t, endpoint), ioTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// readToEOF reads what c gets until the other side closes it.
func readToEOF(t *testing.T, c net.Conn) []byte {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(ioTimeout)))
	b, err := io.ReadAll(c)
	if err != nil {
		// Linux reports a close with unread data as a reset.
		require.ErrorContains(t, err, "connection reset", "read until the peer closes")
	}
	return b
}

// v2Server is a ROUTER a ZMTP 2.0 DEALER talks to: libzmq's or zrouter's.
type v2Server struct {
	endpoint string
	recv     func(t *testing.T) []string
	send     func(t *testing.T, frames ...string)
}

func libzmqV2Server(t *testing.T, setup func(*zmq.Socket)) v2Server {
	zctx := newContext(t)
	s := newSocket(t, zctx, zmq.ROUTER)
	if setup != nil {
		setup(s)
	}
	require.NoError(t, s.Bind("tcp://127.0.0.1:*"))
	ep, err := s.GetLastEndpoint()
	require.NoError(t, err)
	return v2Server{
		endpoint: ep,
		recv:     func(t *testing.T) []string { return strs(zmqRecv(t, s)) },
		send:     func(t *testing.T, frames ...string) { zmqSend(t, s, bs(frames...)...) },
	}
}

func zrouterV2Server(t *testing.T, opts ...socket.Option) v2Server {
	r := newRouter(t, opts...)
	return v2Server{
		endpoint: r.Addr(),
		recv:     func(t *testing.T) []string { return strs(recvFrames(t, r)) },
		send:     func(t *testing.T, frames ...string) { sendFrames(t, r, bs(frames...)...) },
	}
}

// TestZMTP2DealerToRouter drives a ZMTP 2.0 DEALER with an identity against
// a libzmq ROUTER, then against a zrouter ROUTER, which must send the same
// bytes in the same stages: signature at once, major version 3 after the
// peer's signature, socket type ROUTER (6) after its revision byte, an
// empty identity after its socket type. Each ROUTER must name the peer by
// its identity, and multipart messages with empty frames cross both ways.
func TestZMTP2DealerToRouter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		server func(t *testing.T) v2Server
	}{
		{"libzmq", func(t *testing.T) v2Server { return libzmqV2Server(t, nil) }},
		{"zrouter", func(t *testing.T) v2Server { return zrouterV2Server(t) }},
		// Heartbeats are on, and must stay off on a ZMTP 2.0 connection:
		// the peer, which never answers a PING, sees nothing but replies.
		{"zrouter heartbeats on", func(t *testing.T) v2Server {
			return zrouterV2Server(t, socket.WithHeartbeat(socket.Heartbeat{Interval: time.Millisecond, Timeout: time.Millisecond}))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := tc.server(t)
			c := dialRaw(t, srv.endpoint)
			got := v2Handshake(t, c, 5, "old-dealer")
			assert.Equal(t, v2Got{signature: []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F}, major: 3, typ: 6, identity: []byte{}}, got)

			for i := range 50 {
				writeAll(t, c, v2Frames("req", "", strings.Repeat("x", 300)))
				assert.Equal(t, []string{"old-dealer", "req", "", strings.Repeat("x", 300)}, srv.recv(t), "round %d", i)
				srv.send(t, "old-dealer", "", "rep")
				want := v2Frames("", "rep")
				assert.Equal(t, want, readFull(t, c, len(want)), "round %d: the reply and nothing else", i)
			}
		})
	}
}

// TestZMTP2SocketTypes: libzmq does not look at a ZMTP 2.0 peer's socket
// type, and takes a PUB's messages on a ROUTER. zrouter checks it, as RFC 15
// says it should, and drops the PUB without a word: the connection closes
// after (at most) zrouter's greeting, with no identity and no ERROR.
func TestZMTP2SocketTypes(t *testing.T) {
	t.Parallel()
	t.Run("libzmq takes a PUB", func(t *testing.T) {
		t.Parallel()
		srv := libzmqV2Server(t, nil)
		c := dialRaw(t, srv.endpoint)
		got := v2Handshake(t, c, 1, "pub")
		assert.Equal(t, byte(6), got.typ)
		writeAll(t, c, v2Frames("news"))
		assert.Equal(t, []string{"pub", "news"}, srv.recv(t))
	})
	t.Run("zrouter drops a PUB", func(t *testing.T) {
		t.Parallel()
		r := newRouter(t)
		c := dialRaw(t, r.Addr())
		writeAll(t, c, append(v2Signature("pub"), 1, 1))
		writeAll(t, c, zmtp.AppendFrame(nil, 0, []byte("pub")))
		got := readToEOF(t, c)
		assert.True(t, bytes.HasPrefix([]byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 6}, got), "sent % x", got)
		assert.Equal(t, uint64(1), r.Stats().HandshakeFailed)
	})
}

// TestZMTP2RefusedWithSecurity: libzmq refuses a ZMTP 2.0 peer when its ZAP
// is enabled (a mechanism other than NULL, or a ZAP domain), closing after
// its greeting; so does zrouter on a CURVE server, and on a NULL socket with
// an authenticator.
func TestZMTP2RefusedWithSecurity(t *testing.T) {
	t.Parallel()
	_, sec, err := zmq.NewCurveKeypair()
	require.NoError(t, err)
	_, zsec, err := socket.NewCurveKeys()
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		server func(t *testing.T) string
	}{
		{"libzmq curve server", func(t *testing.T) string {
			return libzmqV2Server(t, func(s *zmq.Socket) {
				require.NoError(t, s.SetCurveServer(1))
				require.NoError(t, s.SetCurveSecretkey(sec))
			}).endpoint
		}},
		{"libzmq zap domain", func(t *testing.T) string {
			return libzmqV2Server(t, func(s *zmq.Socket) { require.NoError(t, s.SetZapDomain("global")) }).endpoint
		}},
		{"zrouter curve server", func(t *testing.T) string {
			return newRouter(t, socket.WithCurveServer(zsec)).Addr()
		}},
		{"zrouter authenticator", func(t *testing.T) string {
			allow := socket.AuthFunc(func(context.Context, socket.AuthRequest) socket.AuthReply {
				return socket.AuthReply{Status: socket.AuthOK}
			})
			return newRouter(t, socket.WithAuthenticator(allow)).Addr()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dialRaw(t, tc.server(t))
			writeAll(t, c, append(v2Signature("d"), 1, 5))
			writeAll(t, c, zmtp.AppendFrame(nil, 0, []byte("d")))
			got := readToEOF(t, c)
			assert.LessOrEqual(t, len(got), 12, "no identity frame: % x", got)
		})
	}
}

// TestZMTP2RouterToDealer has a zrouter DEALER with a routing id connect to
// a ZMTP 2.0 ROUTER driven by hand: it must send its greeting in libzmq's
// stages, its routing id as its identity frame, and then messages both
// ways in 2.0's framing.
func TestZMTP2RouterToDealer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	d := dealerNew(t, socket.WithRoutingID([]byte("zr-dealer")),
		socket.WithHeartbeat(socket.Heartbeat{Interval: time.Millisecond, Timeout: time.Millisecond}))
	require.NoError(t, d.Connect("tcp://"+ln.Addr().String()))
	require.NoError(t, ln.(*net.TCPListener).SetDeadline(time.Now().Add(ioTimeout)))
	c, err := ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })

	got := v2Handshake(t, c, 6, "")
	assert.Equal(t, v2Got{signature: []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F}, major: 3, typ: 5, identity: []byte("zr-dealer")}, got)
	for i := range 50 {
		dealerSend(t, d, "a", "", "b")
		want := v2Frames("a", "", "b")
		assert.Equal(t, want, readFull(t, c, len(want)), "round %d", i)
		writeAll(t, c, v2Frames("x", "", "y"))
		assert.Equal(t, []string{"x", "", "y"}, dealerRecv(t, d), "round %d", i)
	}
}

// TestZMTP2StreamSeesStages ports libzmq's tests/test_stream.cpp
// (test_stream_to_dealer) to a zrouter DEALER: a libzmq STREAM socket reads
// what the DEALER sends, one TCP read per message. The first must be the
// 10-byte signature alone; after the STREAM's whole greeting come the rest
// of the DEALER's greeting and, once the STREAM has sent READY, the
// DEALER's READY, byte for byte as test_stream checks them; then "Hello"
// arrives as a frame and "World" goes back.
//
// test_stream sends its READY only after the DEALER's; zrouter answers the
// READY of a peer whose whole greeting came before the rest of its own (see
// zmtp.HandshakeConn.PeerFirst), so the STREAM sends READY once it has the
// greeting.
func TestZMTP2StreamSeesStages(t *testing.T) {
	t.Parallel()
	zctx := newContext(t)
	stream := newSocket(t, zctx, zmq.STREAM)
	require.NoError(t, stream.Bind("tcp://127.0.0.1:*"))
	ep, err := stream.GetLastEndpoint()
	require.NoError(t, err)

	d := dealerNew(t)
	require.NoError(t, d.Connect(ep))
	dealerSend(t, d, "Hello")

	recvChunk := func() (id, data []byte) {
		f := zmqRecv(t, stream)
		require.Len(t, f, 2)
		return f[0], f[1]
	}
	id, data := recvChunk()
	assert.Empty(t, data, "connecting sends a zero message")
	_, data = recvChunk()
	assert.Equal(t, []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F}, data, "the first bytes are the signature alone")

	greeting := zmtp.Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}.Append(nil)
	zmqSend(t, stream, id, greeting)
	var buf []byte
	for len(buf) < 54 {
		_, data := recvChunk()
		buf = append(buf, data...)
	}
	ready := []byte("\x04\x29\x05READY" + "\x0bSocket-Type\x00\x00\x00\x06ROUTER" + "\x08Identity\x00\x00\x00\x00")
	zmqSend(t, stream, id, ready)
	for len(buf) < 97 {
		_, data := recvChunk()
		buf = append(buf, data...)
	}
	require.GreaterOrEqual(t, len(buf), 97)
	assert.Equal(t, byte(3), buf[0], "major")
	assert.Equal(t, byte(1), buf[1], "minor")
	assert.Equal(t, []byte("NULL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), buf[2:22])
	assert.Equal(t, []byte("\x04\x29\x05READY"), buf[54:62])
	assert.Equal(t, []byte("\x0bSocket-Type\x00\x00\x00\x06DEALER"), buf[62:84])
	assert.Equal(t, []byte("\x08Identity\x00\x00\x00\x00"), buf[84:97])

	rest := buf[97:]
	for len(rest) < 7 {
		_, data := recvChunk()
		rest = append(rest, data...)
	}
	assert.Equal(t, []byte{0, 5, 'H', 'e', 'l', 'l', 'o'}, rest)
	zmqSend(t, stream, id, []byte{0, 5, 'W', 'o', 'r', 'l', 'd'})
	assert.Equal(t, []string{"World"}, dealerRecv(t, d))
}
