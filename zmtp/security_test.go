package zmtp

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/wire"
	"golang.org/x/crypto/nacl/box"
)

// curvePair returns a CURVE server and a client that knows the server's key.
func curvePair(t *testing.T) (server, client *Curve) {
	t.Helper()
	spub, ssec, err := CurveKeyPair()
	require.NoError(t, err)
	cpub, csec, err := CurveKeyPair()
	require.NoError(t, err)
	return &Curve{Server: true, Public: spub, Secret: ssec}, &Curve{Public: cpub, Secret: csec, ServerKey: spub}
}

// pair is the outcome of both handshakes of a connection.
type pair struct {
	ss, cs     *Session
	serr, cerr error
	sc, cc     net.Conn
}

// handshakePair runs both handshakes over net.Pipe.
func handshakePair(t *testing.T, server, client *Config) pair {
	t.Helper()
	sc, cc := pipeConns(t)
	return handshakeOn(sc, cc, server, client)
}

// handshakeOn runs both handshakes over the connection whose ends are sc
// and cc.
func handshakeOn(sc, cc net.Conn, server, client *Config) pair {
	sr := startHandshake(sc, server)
	cr := startHandshake(cc, client)
	s, c := <-sr, <-cr
	return pair{s.s, c.s, s.err, c.err, sc, cc}
}

// exchange sends frames from one side and reads them on the other with
// ReadFrame, commands included.
func exchange(t *testing.T, from *Session, fromConn net.Conn, to *Session, frames [][]byte) {
	t.Helper()
	var b []byte
	for i, f := range frames {
		var flags byte
		if i < len(frames)-1 {
			flags = FlagMore
		}
		b = from.Codec.AppendFrame(b, flags, f)
	}
	b = from.Codec.AppendCommand(b, (&Ping{TTL: 7, Context: []byte("ctx")}).Append(nil))
	go func() { _, _ = fromConn.Write(b) }()
	m := wire.Get()
	defer m.Release()
	for {
		f, err := to.Reader.ReadFrame(m)
		require.NoError(t, err)
		require.Nil(t, f.Command)
		if !f.More {
			break
		}
	}
	assert.Equal(t, frames, m.Frames)
	f, err := to.Reader.ReadFrame(m)
	require.NoError(t, err)
	c, err := ParseCommand(f.Command)
	require.NoError(t, err)
	assert.Equal(t, &Ping{TTL: 7, Context: []byte("ctx")}, c)
	assert.Len(t, m.Frames, len(frames), "a command adds no frame")
}

func TestCurveHandshakeAndFrames(t *testing.T) {
	server, client := curvePair(t)
	var asked *AuthRequest
	scfg := &Config{SocketType: ROUTER, Mechanism: server, Timeout: hsTimeout, MaxSize: -1, Domain: "global",
		Authenticate: func(r *AuthRequest) AuthReply {
			asked = r
			return AuthReply{Status: 200, UserID: "alice"}
		}}
	ccfg := &Config{SocketType: DEALER, Identity: []byte("d-1"), Mechanism: client, Timeout: hsTimeout, MaxSize: -1}
	hp0 := handshakePair(t, scfg, ccfg)
	ss, cs, serr, cerr, sc, cc := hp0.ss, hp0.cs, hp0.serr, hp0.cerr, hp0.sc, hp0.cc
	require.NoError(t, serr)
	require.NoError(t, cerr)
	assert.Equal(t, DEALER, ss.SocketType)
	assert.Equal(t, []byte("d-1"), ss.Identity)
	assert.Equal(t, ROUTER, cs.SocketType)
	assert.Equal(t, "alice", ss.UserID)
	require.NotNil(t, asked)
	assert.Equal(t, client.Public, asked.ClientKey)
	assert.Equal(t, "CURVE", asked.Mechanism)
	assert.Equal(t, "global", asked.Domain)
	assert.Equal(t, []byte("d-1"), asked.Identity)

	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB, read through the scratch
	exchange(t, cs, cc, ss, [][]byte{[]byte("hello"), {}, big})
	exchange(t, ss, sc, cs, [][]byte{[]byte("back")})
}

func TestCurveRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		erred  bool
	}{{"refused", 400, true}, {"internal error", 500, true}, {"temporary", 300, false}} {
		t.Run(tc.name, func(t *testing.T) {
			server, client := curvePair(t)
			scfg := &Config{SocketType: ROUTER, Mechanism: server, Timeout: hsTimeout, MaxSize: -1,
				Authenticate: func(*AuthRequest) AuthReply { return AuthReply{Status: tc.status} }}
			ccfg := &Config{SocketType: DEALER, Mechanism: client, Timeout: hsTimeout, MaxSize: -1}
			hp1 := handshakePair(t, scfg, ccfg)
			serr, cerr := hp1.serr, hp1.cerr
			var ae *AuthError
			require.ErrorAs(t, serr, &ae)
			assert.Equal(t, tc.status, ae.Status)
			if tc.erred {
				var pe *PeerError
				require.ErrorAs(t, cerr, &pe, "the client is told")
				assert.Equal(t, string(rune('0'+tc.status/100))+"00", pe.Reason)
			} else {
				assert.Error(t, cerr, "closed without a word")
			}
		})
	}
}

func TestCurveWrongServerKey(t *testing.T) {
	server, client := curvePair(t)
	other, _ := curvePair(t)
	client.ServerKey = other.Public
	hp2 := handshakePair(t,
		&Config{SocketType: ROUTER, Mechanism: server, Timeout: hsTimeout, MaxSize: -1},
		&Config{SocketType: DEALER, Mechanism: client, Timeout: hsTimeout, MaxSize: -1})
	serr, cerr := hp2.serr, hp2.cerr
	var pe *ProtocolError
	require.ErrorAs(t, serr, &pe, "the server cannot open the HELLO")
	assert.Error(t, cerr)
}

func TestCurveReplayAndTamper(t *testing.T) {
	server, client := curvePair(t)
	hp3 := handshakePair(t,
		&Config{SocketType: ROUTER, Mechanism: server, Timeout: hsTimeout, MaxSize: -1},
		&Config{SocketType: DEALER, Mechanism: client, Timeout: hsTimeout, MaxSize: -1})
	ss, cs, serr, cerr := hp3.ss, hp3.cs, hp3.serr, hp3.cerr
	require.NoError(t, serr)
	require.NoError(t, cerr)
	one := cs.Codec.AppendFrame(nil, 0, []byte("once"))
	body := one[2:] // a short header
	m := wire.Get()
	defer m.Release()
	_, _, err := ss.Codec.Open(nil, body)
	require.NoError(t, err)
	_, _, err = ss.Codec.Open(nil, body)
	assert.ErrorContains(t, err, "replayed", "the same nonce twice")

	two := cs.Codec.AppendFrame(nil, 0, []byte("tampered"))
	two[len(two)-1] ^= 1
	_, _, err = ss.Codec.Open(nil, two[2:])
	assert.ErrorContains(t, err, "does not open")
	_, _, err = ss.Codec.Open(nil, []byte("\x07MESSAGE"))
	assert.Error(t, err, "too short")
}

func TestPlainHandshake(t *testing.T) {
	var asked *AuthRequest
	scfg := &Config{SocketType: ROUTER, Mechanism: &Plain{Server: true}, Timeout: hsTimeout, MaxSize: -1,
		Authenticate: func(r *AuthRequest) AuthReply {
			asked = r
			if string(r.Username) == "admin" && string(r.Password) == "secret" {
				return AuthReply{Status: 200, UserID: "admin"}
			}
			return AuthReply{Status: 400}
		}}
	hp4 := handshakePair(t, scfg, &Config{SocketType: DEALER, Mechanism: &Plain{Username: []byte("admin"), Password: []byte("secret")}, Timeout: hsTimeout, MaxSize: -1})
	ss, cs, serr, cerr := hp4.ss, hp4.cs, hp4.serr, hp4.cerr
	require.NoError(t, serr)
	require.NoError(t, cerr)
	assert.Equal(t, "admin", ss.UserID)
	assert.Equal(t, "PLAIN", asked.Mechanism)
	assert.Equal(t, ROUTER, cs.SocketType)
	assert.True(t, cs.Codec.Plain())

	hp5 := handshakePair(t, scfg, &Config{SocketType: DEALER, Mechanism: &Plain{Username: []byte("admin"), Password: []byte("guess")}, Timeout: hsTimeout, MaxSize: -1})
	serr, cerr = hp5.serr, hp5.cerr
	var ae *AuthError
	require.ErrorAs(t, serr, &ae)
	assert.Equal(t, 400, ae.Status)
	var pe *PeerError
	require.ErrorAs(t, cerr, &pe)
	assert.Equal(t, "400", pe.Reason)
}

// TestSecurityTwoClients: the greeting's as-server bit is 0 on both sides,
// as libzmq sends it, so two clients find out only when each gets the
// other's HELLO. Over TCP, where each side's HELLO is on its way before it
// reads the other's, as between two libzmq sockets.
func TestSecurityTwoClients(t *testing.T) {
	sc, cc := tcpConns(t)
	hp6 := handshakeOn(sc, cc,
		&Config{SocketType: ROUTER, Mechanism: &Plain{}, Timeout: hsTimeout, MaxSize: -1},
		&Config{SocketType: DEALER, Mechanism: &Plain{}, Timeout: hsTimeout, MaxSize: -1})
	serr, cerr := hp6.serr, hp6.cerr
	var pe *ProtocolError
	assert.ErrorAs(t, serr, &pe)
	assert.ErrorAs(t, cerr, &pe)
}

// TestPlainErrorAsLibzmq: a PLAIN server refuses with the bytes libzmq 4.3
// sends, "^RROR" and the status, which libzmq's PLAIN clients read as
// ERROR (and the RFC's "\x05ERROR" as an unexpected command); a zrouter
// PLAIN client reads both.
func TestPlainErrorAsLibzmq(t *testing.T) {
	sc, cc := tcpConns(t)
	res := startHandshake(sc, &Config{SocketType: ROUTER, Mechanism: &Plain{Server: true}, Timeout: hsTimeout, MaxSize: -1,
		Authenticate: func(*AuthRequest) AuthReply { return AuthReply{Status: 400} }})
	g := Greeting{Major: 3, Minor: 1, Mechanism: "PLAIN"}
	_, err := cc.Write(g.Append(nil))
	require.NoError(t, err)
	_, err = cc.Write(AppendFrame(nil, FlagCommand, []byte("\x05HELLO\x01u\x01p")))
	require.NoError(t, err)
	got, err := io.ReadAll(cc)
	require.NoError(t, err)
	require.Len(t, got, GreetingSize+2+9)
	assert.Equal(t, []byte("\x04\x09\x5eRROR\x03400"), got[GreetingSize:])
	var ae *AuthError
	require.ErrorAs(t, (<-res).err, &ae)
	assert.Equal(t, 400, ae.Status)

	for _, refusal := range []string{"\x5eRROR\x03500", "\x05ERROR\x03500"} {
		sc, cc := tcpConns(t)
		res := startHandshake(cc, &Config{SocketType: DEALER, Mechanism: &Plain{Username: []byte("u")}, Timeout: hsTimeout, MaxSize: -1})
		_, err := sc.Write(g.Append(nil))
		require.NoError(t, err)
		_, err = sc.Write(AppendFrame(nil, FlagCommand, []byte(refusal)))
		require.NoError(t, err)
		var pe *PeerError
		require.ErrorAs(t, (<-res).err, &pe, "%q", refusal)
		assert.Equal(t, "500", pe.Reason)
	}
}

// TestSharedKey: sharedKey is box.Precompute, and refuses the public keys
// of small order that libsodium refuses: their shared secret is zero.
func TestSharedKey(t *testing.T) {
	for range 8 {
		pub, _, err := box.GenerateKey(rand.Reader)
		require.NoError(t, err)
		_, sec, err := box.GenerateKey(rand.Reader)
		require.NoError(t, err)
		var want [32]byte
		box.Precompute(&want, pub, sec)
		got, err := sharedKey(pub, sec)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, sec, err := box.GenerateKey(rand.Reader)
	require.NoError(t, err)
	one := [32]byte{1}
	for _, low := range []*[32]byte{new([32]byte), &one} {
		_, err := sharedKey(low, sec)
		assert.Error(t, err, "%x", *low)
	}
	// A client given a key of small order for its server fails at once.
	hp := handshakePair(t,
		&Config{SocketType: ROUTER, Mechanism: &Curve{Server: true, Secret: *sec, Public: CurvePublic(*sec)}, Timeout: hsTimeout, MaxSize: -1},
		&Config{SocketType: DEALER, Mechanism: &Curve{Secret: *sec, Public: CurvePublic(*sec)}, Timeout: hsTimeout, MaxSize: -1})
	var pe *ProtocolError
	assert.ErrorAs(t, hp.cerr, &pe)
	assert.Error(t, hp.serr)
}

// TestPlainWelcomeIsItsName: a PLAIN client refuses a WELCOME with bytes
// after its name, as libzmq's does (MALFORMED_COMMAND_WELCOME).
func TestPlainWelcomeIsItsName(t *testing.T) {
	sc, cc := tcpConns(t)
	res := startHandshake(cc, &Config{SocketType: DEALER, Mechanism: &Plain{Username: []byte("u")}, Timeout: hsTimeout, MaxSize: -1})
	g := Greeting{Major: 3, Minor: 1, Mechanism: "PLAIN"}
	_, err := sc.Write(append(g.Append(nil), AppendFrame(nil, FlagCommand, []byte("\x07WELCOMEx"))...))
	require.NoError(t, err)
	var pe *ProtocolError
	assert.ErrorAs(t, (<-res).err, &pe)
}
