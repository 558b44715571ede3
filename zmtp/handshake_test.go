package zmtp

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/wire"
)

// hsTimeout bounds every handshake in these tests, so that a bug shows as a
// timeout error instead of a hung test. No test waits for it to pass.
const hsTimeout = 10 * time.Second

type hsResult struct {
	s   *Session
	err error
}

// startHandshake runs Handshake on conn in a goroutine. Like a real caller,
// it closes conn when Handshake fails.
func startHandshake(conn net.Conn, cfg *Config) <-chan hsResult {
	done := make(chan hsResult, 1)
	go func() {
		s, err := Handshake(conn, cfg)
		if err != nil {
			_ = conn.Close()
		}
		done <- hsResult{s, err}
	}()
	return done
}

// pipeConns returns both ends of a net.Pipe, closed when the test ends.
func pipeConns(t *testing.T) (net.Conn, net.Conn) {
	a, b := net.Pipe()
	t.Cleanup(func() {
		_ = a.Close()
		_ = b.Close()
	})
	return a, b
}

func TestHandshakeDealerRouter(t *testing.T) {
	dealerConn, routerConn := pipeConns(t)
	dealerCfg := &Config{
		SocketType: DEALER,
		Identity:   []byte("client-7"),
		Properties: Metadata{{Name: "X-App", Value: []byte("test")}},
		Timeout:    hsTimeout,
		MaxSize:    -1,
	}
	routerCfg := &Config{SocketType: ROUTER, Timeout: hsTimeout, MaxSize: 1 << 20}
	dc := startHandshake(dealerConn, dealerCfg)
	rc := startHandshake(routerConn, routerCfg)
	d, r := <-dc, <-rc
	require.NoError(t, d.err)
	require.NoError(t, r.err)

	// What the ROUTER learnt of the DEALER.
	assert.Equal(t, DEALER, r.s.SocketType)
	assert.Equal(t, "client-7", string(r.s.Identity))
	assert.Equal(t, Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}, r.s.Greeting)
	app, ok := r.s.Metadata.Get("x-app")
	require.True(t, ok)
	assert.Equal(t, "test", string(app))
	assert.Equal(t, int64(1<<20), r.s.Reader.MaxSize)
	assert.True(t, r.s.Codec.Plain())

	// What the DEALER learnt of the ROUTER: an empty Identity.
	assert.Equal(t, ROUTER, d.s.SocketType)
	assert.Empty(t, d.s.Identity)
	_, ok = d.s.Metadata.Get(PropIdentity)
	assert.True(t, ok, "ROUTER sends Identity even when empty")

	// The sessions carry messages both ways, with no deadline left behind.
	msg := [][]byte{[]byte("hello"), bytes.Repeat([]byte{'b'}, 20<<10)}
	sent := make(chan error, 1)
	go func() {
		var out []byte
		for i, f := range msg {
			var flags byte
			if i < len(msg)-1 {
				flags = FlagMore
			}
			out = d.s.Codec.AppendFrame(out, flags, f)
		}
		_, err := dealerConn.Write(out)
		sent <- err
	}()
	m := wire.Get()
	defer m.Release()
	for {
		h, err := r.s.Reader.ReadHeader()
		require.NoError(t, err)
		require.NoError(t, r.s.Reader.ReadFrameInto(m, h))
		if !h.More() {
			break
		}
	}
	require.NoError(t, <-sent)
	assert.Equal(t, msg, m.Frames)
}

// tcpConns returns the two ends of a loopback TCP connection, closed when
// the test ends.
func tcpConns(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = ln.Close() }()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	s, err := ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(); _ = s.Close() })
	return s, c
}

func TestHandshakeOverTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = ln.Close() }()
	accepted := make(chan hsResult, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- hsResult{err: err}
			return
		}
		defer func() { _ = c.Close() }()
		accepted <- <-startHandshake(c, &Config{SocketType: ROUTER, Timeout: hsTimeout})
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	d := <-startHandshake(c, &Config{SocketType: REQ, Identity: []byte("q"), Timeout: hsTimeout})
	require.NoError(t, d.err)
	assert.Equal(t, ROUTER, d.s.SocketType)
	r := <-accepted
	require.NoError(t, r.err)
	assert.Equal(t, REQ, r.s.SocketType)
	assert.Equal(t, "q", string(r.s.Identity))
}

func TestHandshakeIncompatibleBothZrouter(t *testing.T) {
	tests := []struct{ a, b SocketType }{
		{REQ, REQ}, {ROUTER, PUB}, {PUSH, PUSH}, {DEALER, SUB},
	}
	for _, tc := range tests {
		t.Run(string(tc.a)+"-"+string(tc.b), func(t *testing.T) {
			ca, cb := pipeConns(t)
			ra := startHandshake(ca, &Config{SocketType: tc.a, Timeout: hsTimeout})
			rb := startHandshake(cb, &Config{SocketType: tc.b, Timeout: hsTimeout})
			for _, res := range []struct {
				r             hsResult
				local, remote SocketType
			}{{<-ra, tc.a, tc.b}, {<-rb, tc.b, tc.a}} {
				var se *SocketTypeError
				require.ErrorAs(t, res.r.err, &se, "no timeout: each side reads the other's ERROR while sending its own")
				assert.Equal(t, res.local, se.Local)
				assert.Equal(t, res.remote, se.Remote)
				assert.Nil(t, res.r.s)
			}
		})
	}
}

// TestHandshakeIncompatiblePeerGetsError plays a REQ peer that does not
// check socket types itself: it must receive ERROR "invalid socket type",
// which the NULL mechanism reports as *PeerError.
func TestHandshakeIncompatiblePeerGetsError(t *testing.T) {
	ours, theirs := pipeConns(t)
	done := startHandshake(ours, &Config{SocketType: REQ, Timeout: hsTimeout})

	require.NoError(t, theirs.SetDeadline(time.Now().Add(hsTimeout)))
	rd := NewReader(theirs, -1)
	// Our greeting and READY, as a libzmq peer sends them: the READY once
	// it has the handshake's whole greeting.
	hc := &HandshakeConn{out: startSender(theirs), rd: rd, cfg: &Config{SocketType: REQ}}
	require.NoError(t, hc.out.send(Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}.Append(nil)))
	g, err := rd.Peek(GreetingSize)
	require.NoError(t, err)
	pg, err := ParseGreeting(g)
	require.NoError(t, err)
	assert.Equal(t, "NULL", pg.Mechanism)
	rd.Discard(GreetingSize)
	// The handshake may send its READY before the ERROR (when it has not
	// waited for ours): read up to the ERROR.
	_, err = Null{}.Handshake(hc, (&Config{SocketType: REQ}).LocalMetadata())
	require.NoError(t, hc.out.finish())
	var pe *PeerError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "invalid socket type", pe.Reason)

	_ = theirs.Close()
	res := <-done
	var se *SocketTypeError
	require.ErrorAs(t, res.err, &se)
	assert.Equal(t, SocketTypeError{Local: REQ, Remote: REQ}, *se)
}

// fakeMech is a mechanism that only has a name: the greeting decides
// before its Handshake could run.
type fakeMech struct {
	name   string
	called atomic.Bool
}

func (m *fakeMech) Name() string   { return m.name }
func (m *fakeMech) AsServer() bool { return false }
func (m *fakeMech) Handshake(*HandshakeConn, Metadata) (*Outcome, error) {
	m.called.Store(true)
	return nil, errors.New("fakeMech.Handshake must not run")
}

func TestHandshakeMechanismMismatch(t *testing.T) {
	ca, cb := pipeConns(t)
	plain := &fakeMech{name: "PLAIN"}
	ra := startHandshake(ca, &Config{SocketType: DEALER, Timeout: hsTimeout})
	rb := startHandshake(cb, &Config{SocketType: ROUTER, Mechanism: plain, Timeout: hsTimeout})

	var me *MechanismError
	a := <-ra
	require.ErrorAs(t, a.err, &me)
	assert.Equal(t, MechanismError{Local: "NULL", Remote: "PLAIN"}, *me)
	b := <-rb
	require.ErrorAs(t, b.err, &me)
	assert.Equal(t, MechanismError{Local: "PLAIN", Remote: "NULL"}, *me)
	assert.False(t, plain.called.Load())
}

func TestHandshakeSilentPeerTimesOut(t *testing.T) {
	ours, _ := pipeConns(t) // the other end neither reads nor writes
	res := <-startHandshake(ours, &Config{SocketType: ROUTER, Timeout: 50 * time.Millisecond})
	require.Error(t, res.err)
	assert.True(t, IsTimeout(res.err), "got %v", res.err)
	assert.ErrorIs(t, res.err, os.ErrDeadlineExceeded)
}

func TestIsTimeout(t *testing.T) {
	assert.True(t, IsTimeout(os.ErrDeadlineExceeded))
	assert.False(t, IsTimeout(io.EOF))
	assert.False(t, IsTimeout(nil))
	assert.False(t, IsTimeout(&ProtocolError{Reason: "x"}))
}

// TestHandshakeRefusesOldPeersEarly has a peer send only the first 11 bytes of
// its greeting (ZMTP 2.0 is no longer among them: see zmtp2_test.go) and then
// wait. Handshake must decide on those bytes; waiting
// for the 64 it would never get would end in the (long) timeout instead.
func TestHandshakeRefusesOldPeersEarly(t *testing.T) {
	sig := func(major byte) []byte { return []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, major} }
	tests := []struct {
		name    string
		first   []byte
		wantErr any
	}{
		// ZMTP 1.0 with a revision byte, as libzmq names revision 0.
		{name: "zmtp 1.0 revision 0", first: sig(0), wantErr: new(*VersionError)},
		{name: "revision 2", first: sig(2), wantErr: new(*VersionError)},
		{name: "zmtp 1.0", first: []byte{0x06, 0x00, 'h', 'e', 'l', 'l', 'o', 0x01, 0x00, 0x00, 0x00}, wantErr: new(*ProtocolError)},
		// A ZMTP 1.0 peer sends its identity, then waits for ours.
		{name: "zmtp 1.0 empty identity", first: []byte{0x01, 0x00}, wantErr: new(*ProtocolError)},
		{name: "zmtp 1.0 long identity", first: []byte{0xFF, 0, 0, 0, 0, 0, 0, 1, 0x01, 0x00}, wantErr: new(*ProtocolError)},
		{name: "not zmtp", first: []byte("GET / HTTP/1.1\r\n"), wantErr: new(*ProtocolError)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ours, theirs := pipeConns(t)
			done := startHandshake(ours, &Config{SocketType: ROUTER, Timeout: hsTimeout})
			_, err := theirs.Write(tc.first)
			require.NoError(t, err)
			res := <-done
			require.ErrorAs(t, res.err, tc.wantErr)
			assert.False(t, IsTimeout(res.err))
			var ve *VersionError
			if errors.As(res.err, &ve) {
				assert.Equal(t, tc.first[10], ve.Major)
			}
		})
	}
}

// TestHandshakeStagedPeer plays a peer that sends its greeting in stages, as
// libzmq does: the 10 signature bytes, then the major version once it has our
// signature, then the rest once it has our major version.
func TestHandshakeStagedPeer(t *testing.T) {
	ours, theirs := pipeConns(t)
	done := startHandshake(ours, &Config{SocketType: ROUTER, Timeout: hsTimeout, MaxSize: -1})
	require.NoError(t, theirs.SetDeadline(time.Now().Add(hsTimeout)))

	greeting := Greeting{Major: 3, Minor: 0, Mechanism: "NULL"}.Append(nil)
	greeting[8] = 9 // libzmq: routing id length plus one
	rd := NewReader(theirs, -1)

	_, err := theirs.Write(greeting[:10])
	require.NoError(t, err)
	sig, err := rd.Peek(10)
	require.NoError(t, err)
	assert.Equal(t, byte(0xFF), sig[0])
	_, err = theirs.Write(greeting[10:11])
	require.NoError(t, err)
	major, err := rd.Peek(11)
	require.NoError(t, err)
	assert.Equal(t, byte(3), major[10])
	_, err = theirs.Write(greeting[11:])
	require.NoError(t, err)
	ourG, err := rd.Peek(GreetingSize)
	require.NoError(t, err)
	g, err := ParseGreeting(ourG)
	require.NoError(t, err)
	assert.Equal(t, Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}, g)
	rd.Discard(GreetingSize)

	// READY only after the whole greeting, as libzmq.
	ready := AppendCommand(nil, &Ready{Metadata: (&Config{SocketType: DEALER, Identity: []byte("worker-1")}).LocalMetadata()})
	_, err = theirs.Write(ready)
	require.NoError(t, err)
	h, err := rd.ReadHeader()
	require.NoError(t, err)
	b, err := rd.ReadCommand(h)
	require.NoError(t, err)
	c, err := ParseCommand(b)
	require.NoError(t, err)
	require.IsType(t, &Ready{}, c)
	st, _ := c.(*Ready).Metadata.Get(PropSocketType)
	assert.Equal(t, "ROUTER", string(st))

	res := <-done
	require.NoError(t, res.err)
	assert.Equal(t, DEALER, res.s.SocketType)
	assert.Equal(t, "worker-1", string(res.s.Identity))
	assert.Equal(t, Greeting{Major: 3, Minor: 0, Mechanism: "NULL"}, res.s.Greeting)
}

func TestHandshakeProtocolErrors(t *testing.T) {
	greeting := Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}.Append(nil)
	dealerReady := AppendCommand(nil, &Ready{Metadata: (&Config{SocketType: DEALER}).LocalMetadata()})
	tests := []struct {
		name    string
		peer    []byte
		wantErr any
	}{
		{name: "message frame instead of READY", peer: append(greeting, encode(frame{body: "hi"})...), wantErr: new(*ProtocolError)},
		{name: "unexpected command", peer: append(greeting, AppendCommand(nil, &Ping{TTL: 1})...), wantErr: new(*ProtocolError)},
		{name: "bad READY metadata", peer: append(greeting, AppendCommand(nil, &Unknown{CmdName: "READY", Data: []byte{0}})...), wantErr: new(*ProtocolError)},
		{name: "ERROR from the peer", peer: append(greeting, AppendCommand(nil, &Error{Reason: "go away"})...), wantErr: new(*PeerError)},
		{name: "missing Socket-Type", peer: append(greeting, AppendCommand(nil, &Ready{})...), wantErr: new(*SocketTypeError)},
		{name: "bad greeting", peer: append(append([]byte{}, greeting[:12]...), append([]byte("null"), greeting[16:]...)...), wantErr: new(*ProtocolError)},
		{name: "command too large", peer: append(greeting, AppendHeader(nil, FlagCommand, DefaultMaxCommandSize+1)...), wantErr: new(*ProtocolError)},
		{name: "message frame too large for MaxSize", peer: append(greeting, AppendHeader(nil, 0, 1<<40)...), wantErr: new(*ProtocolError)},
		{name: "closed after greeting", peer: greeting, wantErr: &io.EOF},
		{name: "closed mid-READY", peer: append(greeting, dealerReady[:10]...), wantErr: &io.ErrUnexpectedEOF},
		{name: "closed at once", peer: nil, wantErr: &io.EOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ours, theirs := pipeConns(t)
			done := startHandshake(ours, &Config{SocketType: ROUTER, Timeout: hsTimeout})
			// Read and drop what Handshake sends, then write the script
			// and close.
			go func() { _, _ = io.Copy(io.Discard, theirs) }()
			_, _ = theirs.Write(tc.peer)
			_ = theirs.Close()
			res := <-done
			require.Error(t, res.err)
			if target, ok := tc.wantErr.(*error); ok {
				assert.ErrorIs(t, res.err, *target)
			} else {
				assert.ErrorAs(t, res.err, tc.wantErr)
			}
			assert.False(t, IsTimeout(res.err), "got %v", res.err)
		})
	}
}

func TestHandshakeInvalidLocalMetadata(t *testing.T) {
	ours, _ := pipeConns(t)
	_, err := Handshake(ours, &Config{SocketType: DEALER, Properties: Metadata{{Name: "bad name"}}})
	var pe *ProtocolError
	assert.ErrorAs(t, err, &pe)
}

// TestHandshakeLeavesExtraBytesInReader sends a message in the same write as
// READY: the session's Reader must hold it.
func TestHandshakeLeavesExtraBytesInReader(t *testing.T) {
	ours, theirs := pipeConns(t)
	done := startHandshake(ours, &Config{SocketType: ROUTER, Timeout: hsTimeout, MaxSize: -1})
	go func() { _, _ = io.Copy(io.Discard, theirs) }()
	script := Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}.Append(nil)
	script = AppendCommand(script, &Ready{Metadata: (&Config{SocketType: DEALER}).LocalMetadata()})
	script = AppendMessage(script, [][]byte{[]byte("early"), []byte("bird")})
	_, err := theirs.Write(script)
	require.NoError(t, err)
	res := <-done
	require.NoError(t, res.err)
	assert.Positive(t, res.s.Reader.Buffered())
	_ = theirs.Close() // the frames are already in the Reader
	got, err := readAll(res.s.Reader)
	assert.ErrorIs(t, err, io.EOF)
	assert.Equal(t, []frame{{more: true, body: "early"}, {body: "bird"}}, got)
}
