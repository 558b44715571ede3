package zmtp

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/wire"
)

// ourSignature is the signature Handshake sends: 0xFF, the padding that
// libzmq sends for an empty routing id (its length plus one), 0x7F.
var ourSignature = []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F}

// v2Opening is what a ZMTP 2.0 peer of socket type code and identity id
// sends before its messages: signature (its padding is the identity's
// length plus one, RFC 15), revision 1, socket type, identity frame.
func v2Opening(code byte, id string) []byte {
	b := []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, byte(len(id) + 1), 0x7F, revisionZMTP20, code}
	return AppendFrame(b, 0, []byte(id))
}

// recordConn is the conn of a handshake under test: it records every write
// with how many bytes had been read before it, to check what was sent
// before what had arrived.
type recordConn struct {
	net.Conn
	read   atomic.Int64
	mu     sync.Mutex
	writes []recordedWrite
}

type recordedWrite struct {
	afterRead int64
	b         []byte
}

func (c *recordConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c *recordConn) Write(p []byte) (int, error) {
	w := recordedWrite{afterRead: c.read.Load(), b: bytes.Clone(p)}
	c.mu.Lock()
	c.writes = append(c.writes, w)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *recordConn) log() []recordedWrite {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]recordedWrite(nil), c.writes...)
}

// stagedLimit is the most a staged greeting has sent once read bytes of the
// peer's arrived: the signature; the major version after the peer's
// signature; the minor version (or a ZMTP 2.0 socket type) after the peer's
// version byte; the rest after the peer's next byte.
func stagedLimit(read int64) int {
	switch {
	case read < signatureSize:
		return signatureSize
	case read == signatureSize:
		return signatureSize + 1
	case read == signatureSize+1:
		return signatureSize + 2
	}
	return 1 << 30
}

// checkStaged asserts that no write went out before the bytes that allow it
// had arrived, and that the first write was the signature alone.
func checkStaged(t *testing.T, writes []recordedWrite) {
	t.Helper()
	require.NotEmpty(t, writes)
	assert.Equal(t, ourSignature, writes[0].b, "first write: the signature alone")
	sent := 0
	for i, w := range writes {
		sent += len(w.b)
		assert.LessOrEqual(t, sent, stagedLimit(w.afterRead),
			"write %d (% x) brings what was sent to %d bytes after %d of the peer's", i, w.b, sent, w.afterRead)
	}
}

// readChunk reads what one Write of the handshake sent: over net.Pipe a
// Read returns at most one Write's bytes, as a libzmq STREAM socket
// returns what one TCP read got.
func readChunk(t *testing.T, c net.Conn) []byte {
	t.Helper()
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	require.NoError(t, err)
	return buf[:n]
}

func readN(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := io.ReadFull(c, b)
	require.NoError(t, err)
	return b
}

func write(t *testing.T, c net.Conn, b []byte) {
	t.Helper()
	_, err := c.Write(b)
	require.NoError(t, err)
}

// testStreamReady is the READY test_stream's raw peer sends, as a ROUTER.
var testStreamReady = []byte("\x04\x29\x05READY" + "\x0bSocket-Type\x00\x00\x00\x06ROUTER" + "\x08Identity\x00\x00\x00\x00")

// checkTestStream checks what test_stream checks of the bytes a DEALER sends
// after its signature: the rest of its greeting, then READY (97 bytes).
func checkTestStream(t *testing.T, buf []byte) {
	t.Helper()
	require.Len(t, buf, 97)
	assert.Equal(t, byte(3), buf[0], "major")
	assert.Equal(t, byte(1), buf[1], "minor")
	assert.Equal(t, []byte("NULL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), buf[2:22])
	assert.Equal(t, []byte("\x04\x29\x05READY"), buf[54:62])
	assert.Equal(t, []byte("\x0bSocket-Type\x00\x00\x00\x06DEALER"), buf[62:84])
	assert.Equal(t, []byte("\x08Identity\x00\x00\x00\x00"), buf[84:97])
}

// TestHandshakeStagedAsTestStream ports the byte order that libzmq's
// tests/test_stream.cpp (test_stream_to_dealer) checks: a raw peer reads a
// DEALER's first bytes, which must be the signature alone; once it has sent
// its own greeting it gets the rest of the DEALER's greeting and its READY,
// 97 bytes, which it checks byte by byte.
//
// test_stream's peer sends its whole greeting at once and waits for the 97
// bytes before it sends READY. zrouter answers the READY of a peer whose
// whole greeting came before the rest of its own (see
// HandshakeConn.PeerFirst), so the peer here sends READY once it has the
// greeting, and then gets zrouter's.
func TestHandshakeStagedAsTestStream(t *testing.T) {
	greeting := Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}.Append(nil)
	{
		a, theirs := pipeConns(t)
		ours := &recordConn{Conn: a}
		done := startHandshake(ours, &Config{SocketType: DEALER, Timeout: hsTimeout, MaxSize: -1})
		require.NoError(t, theirs.SetDeadline(time.Now().Add(hsTimeout)))

		assert.Equal(t, ourSignature, readChunk(t, theirs), "the greeting's first write is its signature")
		write(t, theirs, greeting)
		rest := readN(t, theirs, GreetingSize-signatureSize)
		write(t, theirs, testStreamReady)
		checkTestStream(t, append(rest, readN(t, theirs, 97-len(rest))...))
		res := <-done
		require.NoError(t, res.err)
		assert.Equal(t, ROUTER, res.s.SocketType)
		assert.True(t, res.s.Commands())
		checkStaged(t, ours.log())
	}
}

// TestHandshakeStagedByteByByte has the peer send its greeting one byte at a
// time, reading what comes between: every stage of ours must wait for its
// bytes, and each must come as soon as they are in.
func TestHandshakeStagedByteByByte(t *testing.T) {
	a, theirs := pipeConns(t)
	ours := &recordConn{Conn: a}
	done := startHandshake(ours, &Config{SocketType: ROUTER, Timeout: hsTimeout, MaxSize: -1})
	require.NoError(t, theirs.SetDeadline(time.Now().Add(hsTimeout)))

	greeting := Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}.Append(nil)
	assert.Equal(t, ourSignature, readChunk(t, theirs))
	for _, c := range greeting[:signatureSize] {
		write(t, theirs, []byte{c})
	}
	assert.Equal(t, []byte{VersionMajor}, readChunk(t, theirs), "the major version, once our signature is in")
	write(t, theirs, greeting[signatureSize:signatureSize+1])
	assert.Equal(t, []byte{VersionMinor}, readChunk(t, theirs), "the minor version, once our major version is in")
	write(t, theirs, greeting[signatureSize+1:signatureSize+2])
	rest := readN(t, theirs, GreetingSize-signatureSize-2)
	assert.Equal(t, greeting[signatureSize+2:], rest, "the rest, once our minor version is in")
	for _, c := range greeting[signatureSize+2:] {
		write(t, theirs, []byte{c})
	}
	write(t, theirs, AppendCommand(nil, &Ready{Metadata: (&Config{SocketType: DEALER}).LocalMetadata()}))
	go func() { _, _ = io.Copy(io.Discard, theirs) }()
	res := <-done
	require.NoError(t, res.err)
	checkStaged(t, ours.log())
}

// TestHandshakeStagedBetweenTwo runs two Handshakes against each other over
// net.Pipe, where every write waits for the other's read: the stages must
// not deadlock, and both must keep to them.
func TestHandshakeStagedBetweenTwo(t *testing.T) {
	for _, mech := range []func() (Mechanism, Mechanism){
		func() (Mechanism, Mechanism) { return nil, nil },
		func() (Mechanism, Mechanism) {
			return &Plain{Server: true}, &Plain{Username: []byte("u"), Password: []byte("p")}
		},
	} {
		a, b := pipeConns(t)
		ra, rb := &recordConn{Conn: a}, &recordConn{Conn: b}
		ma, mb := mech()
		da := startHandshake(ra, &Config{SocketType: ROUTER, Mechanism: ma, Timeout: hsTimeout, MaxSize: -1})
		db := startHandshake(rb, &Config{SocketType: DEALER, Mechanism: mb, Identity: []byte("d"), Timeout: hsTimeout, MaxSize: -1})
		resA, resB := <-da, <-db
		require.NoError(t, resA.err)
		require.NoError(t, resB.err)
		assert.Equal(t, "d", string(resA.s.Identity))
		checkStaged(t, ra.log())
		checkStaged(t, rb.log())
	}
}

// v2Case is one ZMTP 2.0 peer against one local socket type.
type v2Case struct {
	local    SocketType
	localID  string
	code     byte // the peer's socket type byte
	peerID   string
	wantType SocketType
}

// TestHandshakeV2 drives a ZMTP 2.0 peer by hand against each socket type
// that ZMTP 2.0 has: greeting in libzmq's stages, socket type bytes,
// identity frames both ways, then multipart messages both ways in 2.0's
// framing, with no command in either direction.
func TestHandshakeV2(t *testing.T) {
	tests := []v2Case{
		{local: ROUTER, code: 5, peerID: "jdealer", wantType: DEALER},
		{local: ROUTER, code: 3, wantType: REQ},
		{local: ROUTER, localID: "r", code: 6, peerID: "other", wantType: ROUTER},
		{local: DEALER, localID: "my-dealer", code: 6, wantType: ROUTER},
		{local: DEALER, code: 4, peerID: "rep", wantType: REP},
		{local: REQ, code: 4, wantType: REP},
		{local: REP, code: 5, wantType: DEALER},
		{local: PUSH, code: 7, wantType: PULL},
		{local: PULL, code: 8, wantType: PUSH},
		{local: PAIR, code: 0, wantType: PAIR},
		{local: PUB, code: 2, wantType: SUB},
		{local: XPUB, code: 2, wantType: SUB},
		{local: SUB, code: 1, wantType: PUB},
		{local: XSUB, code: 1, wantType: PUB},
	}
	for _, tc := range tests {
		t.Run(string(tc.local)+"-"+string(tc.wantType), func(t *testing.T) {
			testHandshakeV2(t, tc)
		})
	}
}

func testHandshakeV2(t *testing.T, tc v2Case) {
	a, theirs := pipeConns(t)
	ours := &recordConn{Conn: a}
	cfg := &Config{SocketType: tc.local, Identity: []byte(tc.localID), Timeout: hsTimeout, MaxSize: -1}
	done := startHandshake(ours, cfg)
	require.NoError(t, theirs.SetDeadline(time.Now().Add(hsTimeout)))
	opening := v2Opening(tc.code, tc.peerID)

	assert.Equal(t, ourSignature, readChunk(t, theirs), "signature")
	write(t, theirs, opening[:signatureSize])
	assert.Equal(t, []byte{VersionMajor}, readN(t, theirs, 1), "major version, as libzmq sends it to a 2.0 peer")
	write(t, theirs, opening[signatureSize:signatureSize+1])
	code, _ := v2Code(tc.local)
	assert.Equal(t, []byte{code}, readN(t, theirs, 1), "our socket type byte")
	msg := AppendMessage(nil, [][]byte{[]byte("a"), {}, bytes.Repeat([]byte("L"), 300)})
	// The message is read after the handshake: write it meanwhile.
	wrote := make(chan error, 1)
	go func() {
		_, err := theirs.Write(append(opening[signatureSize+1:], msg...))
		wrote <- err
	}()
	assert.Equal(t, AppendFrame(nil, 0, []byte(tc.localID)), readN(t, theirs, 2+len(tc.localID)), "our identity frame")

	res := <-done
	require.NoError(t, res.err)
	s := res.s
	assert.Equal(t, Greeting{Major: 2}, s.Greeting)
	assert.False(t, s.Commands())
	assert.Equal(t, tc.wantType, s.SocketType)
	assert.Equal(t, tc.peerID, string(s.Identity))
	assert.Empty(t, s.Metadata)
	checkStaged(t, ours.log())

	// The peer's message, in the framing both versions share.
	m := wire.Get()
	defer m.Release()
	for {
		f, err := s.Reader.ReadFrame(m)
		require.NoError(t, err)
		require.Nil(t, f.Command)
		if !f.More {
			break
		}
	}
	require.NoError(t, <-wrote)
	require.Equal(t, 3, m.Len())
	assert.Equal(t, "a", string(m.Frames[0]))
	assert.Empty(t, m.Frames[1])
	assert.Len(t, m.Frames[2], 300)

	// Ours to the peer: frames as ZMTP 3 frames them; no PING, no PONG; a
	// subscription as 2.0's message.
	var out []byte
	out = s.Codec.AppendFrame(out, FlagMore, []byte("x"))
	out = s.Codec.AppendFrame(out, 0, bytes.Repeat([]byte("y"), 256))
	assert.Equal(t, AppendMessage(nil, [][]byte{[]byte("x"), bytes.Repeat([]byte("y"), 256)}), out)
	assert.Empty(t, s.Codec.AppendCommand(nil, (&Ping{TTL: 5}).Append(nil)))
	assert.Empty(t, s.Codec.AppendCommand(nil, (&Pong{}).Append(nil)))
	assert.Equal(t, []byte{0, 4, 1, 'a', 'b', 'c'}, s.Codec.AppendCommand(nil, (&Subscribe{Topic: []byte("abc")}).Append(nil)))
	assert.Equal(t, []byte{0, 1, 0}, s.Codec.AppendCommand(nil, (&Cancel{}).Append(nil)))
}

// TestHandshakeV2Refused covers the ZMTP 2.0 peers a socket turns away:
// those its security or socket type rules out, and bad 2.0 bytes.
func TestHandshakeV2Refused(t *testing.T) {
	dealer := v2Opening(5, "d")
	tests := []struct {
		name    string
		cfg     Config
		peer    []byte
		wantErr any
	}{
		{name: "plain server", cfg: Config{SocketType: ROUTER, Mechanism: &Plain{Server: true}}, peer: dealer, wantErr: new(*VersionError)},
		{name: "curve client", cfg: Config{SocketType: DEALER, Mechanism: &Curve{}}, peer: v2Opening(6, ""), wantErr: new(*VersionError)},
		{name: "authenticator", cfg: Config{SocketType: ROUTER, Authenticate: func(*AuthRequest) AuthReply { return AuthReply{Status: 200} }}, peer: dealer, wantErr: new(*VersionError)},
		{name: "zap domain", cfg: Config{SocketType: ROUTER, Domain: "global"}, peer: dealer, wantErr: new(*VersionError)},
		{name: "no such 2.0 socket", cfg: Config{SocketType: SERVER}, peer: dealer, wantErr: new(*VersionError)},
		{name: "unknown socket type byte", cfg: Config{SocketType: ROUTER}, peer: v2Opening(9, ""), wantErr: new(*ProtocolError)},
		{name: "incompatible socket type", cfg: Config{SocketType: ROUTER}, peer: v2Opening(1, ""), wantErr: new(*SocketTypeError)},
		{name: "identity with MORE", cfg: Config{SocketType: ROUTER}, peer: append(append(v2Opening(5, "")[:12], AppendFrame(nil, FlagMore, []byte("id"))...), 0, 0), wantErr: new(*ProtocolError)},
		{name: "identity of 256 bytes", cfg: Config{SocketType: ROUTER}, peer: append(v2Opening(5, "")[:12], AppendFrame(nil, 0, make([]byte, 256))...), wantErr: new(*ProtocolError)},
		{name: "identity claims 2^40 bytes", cfg: Config{SocketType: ROUTER}, peer: append(v2Opening(5, "")[:12], AppendHeader(nil, 0, 1<<40)...), wantErr: new(*ProtocolError)},
		{name: "identity over MaxSize", cfg: Config{SocketType: ROUTER, MaxSize: 4}, peer: v2Opening(5, "12345"), wantErr: &ErrMessageTooLarge},
		{name: "command flag for identity", cfg: Config{SocketType: ROUTER}, peer: append(v2Opening(5, "")[:12], AppendCommand(nil, &Ping{})...), wantErr: new(*ProtocolError)},
		{name: "closed before identity", cfg: Config{SocketType: ROUTER}, peer: v2Opening(5, "")[:12], wantErr: &io.EOF},
		{name: "closed before socket type", cfg: Config{SocketType: ROUTER}, peer: v2Opening(5, "")[:11], wantErr: &io.ErrUnexpectedEOF},
		{name: "closed mid-identity", cfg: Config{SocketType: ROUTER}, peer: v2Opening(5, "abc")[:15], wantErr: &io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ours, theirs := pipeConns(t)
			cfg := tc.cfg
			cfg.Timeout = hsTimeout
			if cfg.MaxSize == 0 {
				cfg.MaxSize = -1
			}
			done := startHandshake(ours, &cfg)
			got := make(chan []byte, 1)
			go func() { b, _ := io.ReadAll(theirs); got <- b }()
			_, _ = theirs.Write(tc.peer)
			if _, eof := tc.wantErr.(*error); eof && tc.wantErr != &ErrMessageTooLarge {
				_ = theirs.Close() // the peer hangs up there
			}
			res := <-done
			require.Error(t, res.err)
			if target, ok := tc.wantErr.(*error); ok {
				assert.ErrorIs(t, res.err, *target)
			} else {
				assert.ErrorAs(t, res.err, tc.wantErr)
			}
			if !errors.Is(res.err, io.EOF) && !errors.Is(res.err, io.ErrUnexpectedEOF) {
				assert.False(t, IsTimeout(res.err), "got %v", res.err)
			}
			var te *SocketTypeError
			if errors.As(res.err, &te) {
				// Dropped without a word: what went out is some of the
				// greeting, and no identity and no ERROR.
				sent := <-got
				assert.True(t, bytes.HasPrefix(append(append([]byte(nil), ourSignature...), VersionMajor, 6), sent),
					"sent % x", sent)
			}
		})
	}
}
