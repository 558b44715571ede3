package interop

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/zmtp"
	"golang.org/x/crypto/nacl/box"
)

// Raw CURVE and PLAIN peers for the security tests: a client and a server
// that speak ZMTP 3.1 and CurveZMQ (RFC 25, 26) byte by byte, written on
// x/crypto's NaCl boxes, so that a test can send what no zrouter or libzmq
// socket would, and see what the other side does with it.

// secrawKeys is a CURVE key pair.
type secrawKeys struct {
	pub, sec socket.CurveKey
}

// secrawNewKeys returns a new CURVE key pair.
func secrawNewKeys(t *testing.T) secrawKeys {
	t.Helper()
	pub, sec, err := socket.NewCurveKeys()
	require.NoError(t, err)
	return secrawKeys{pub: pub, sec: sec}
}

// The nonce prefixes of RFC 26.
const (
	secrawNonceHello    = "CurveZMQHELLO---"
	secrawNonceWelcome  = "WELCOME-"
	secrawNonceCookie   = "COOKIE--"
	secrawNonceInitiate = "CurveZMQINITIATE"
	secrawNonceVouch    = "VOUCH---"
	secrawNonceReady    = "CurveZMQREADY---"
	secrawNonceMessageC = "CurveZMQMESSAGEC"
	secrawNonceMessageS = "CurveZMQMESSAGES"
)

// secrawNonce returns prefix followed by tail as a 24-byte nonce.
func secrawNonce(prefix string, tail []byte) *[24]byte {
	var n [24]byte
	copy(n[:], prefix)
	copy(n[len(prefix):], tail)
	return &n
}

// secrawShort returns prefix followed by the short nonce v.
func secrawShort(prefix string, v uint64) *[24]byte {
	return secrawNonce(prefix, binary.BigEndian.AppendUint64(nil, v))
}

// secrawRandom returns n random bytes.
func secrawRandom(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := io.ReadFull(rand.Reader, b)
	require.NoError(t, err)
	return b
}

// secrawCmd returns a command frame carrying body, short or long as its
// size needs.
func secrawCmd(body []byte) []byte { return zmtp.AppendFrame(nil, zmtp.FlagCommand, body) }

// secrawData returns a message frame carrying body (flags may hold
// zmtp.FlagMore).
func secrawData(flags byte, body []byte) []byte { return zmtp.AppendFrame(nil, flags, body) }

// secrawMeta encodes name/value pairs as ZMTP metadata.
func secrawMeta(kv ...string) []byte {
	var md zmtp.Metadata
	for i := 0; i+1 < len(kv); i += 2 {
		md = append(md, zmtp.Property{Name: kv[i], Value: []byte(kv[i+1])})
	}
	return md.Append(nil)
}

// secrawDealerMeta is the metadata a DEALER with routing id id sends.
func secrawDealerMeta(id string) []byte { return secrawMeta("Socket-Type", "DEALER", "Identity", id) }

// secrawGreeting returns a ZMTP 3.1 greeting for mechanism, with the
// as-server byte 0, as libzmq 4.3 always sends it.
func secrawGreeting(mechanism string) []byte { return eventsGreeting(mechanism) }

// secrawConn is a raw TCP connection with frame-level reads.
type secrawConn struct {
	net.Conn
	peerGreeting []byte
}

// secrawDial connects to endpoint (tcp://HOST:PORT); the connection is
// closed when the test ends.
func secrawDial(t *testing.T, endpoint string) *secrawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", tcpAddr(t, endpoint), ioTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &secrawConn{Conn: c}
}

// send writes b; an error is returned, not fatal, since the other side may
// have closed already, which is what many tests expect.
func (c *secrawConn) send(b ...[]byte) error {
	var all []byte
	for _, x := range b {
		all = append(all, x...)
	}
	if err := c.SetWriteDeadline(time.Now().Add(ioTimeout)); err != nil {
		return err
	}
	_, err := c.Write(all)
	return err
}

// mustSend is send that fails the test on error.
func (c *secrawConn) mustSend(t *testing.T, b ...[]byte) {
	t.Helper()
	require.NoError(t, c.send(b...), "raw write")
}

// greet sends a ZMTP 3.1 greeting for mechanism and reads the peer's.
func (c *secrawConn) greet(t *testing.T, mechanism string) {
	t.Helper()
	c.mustSend(t, secrawGreeting(mechanism))
	g := make([]byte, 64)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(ioTimeout)))
	_, err := io.ReadFull(c, g)
	require.NoError(t, err, "peer greeting")
	require.Equal(t, byte(0xff), g[0], "greeting signature")
	require.Equal(t, byte(3), g[10], "ZMTP major version")
	c.peerGreeting = g
}

// readFrame reads one ZMTP frame: its flags and body.
func (c *secrawConn) readFrame() (byte, []byte, error) {
	if err := c.SetReadDeadline(time.Now().Add(ioTimeout)); err != nil {
		return 0, nil, err
	}
	var h [9]byte
	if _, err := io.ReadFull(c, h[:2]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1])
	if h[0]&zmtp.FlagLong != 0 {
		if _, err := io.ReadFull(c, h[2:9]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(h[1:9])
	}
	if n > 1<<20 {
		return 0, nil, fmt.Errorf("raw peer: frame of %d bytes", n)
	}
	body := make([]byte, n)
	_, err := io.ReadFull(c, body)
	return h[0], body, err
}

// readCommand reads one frame, which must be a command named name, and
// returns its whole body.
func (c *secrawConn) readCommand(t *testing.T, name string) []byte {
	t.Helper()
	flags, body, err := c.readFrame()
	require.NoError(t, err, "raw peer: reading %s", name)
	require.NotZero(t, flags&zmtp.FlagCommand, "raw peer: %s in a command frame", name)
	require.GreaterOrEqual(t, len(body), 1+len(name), "raw peer: %s", name)
	require.Equal(t, name, string(body[1:1+int(body[0])]), "raw peer: command name")
	return body
}

// awaitClose reads and drops what arrives until the other side closes the
// connection, failing the test after waitLimit; it returns how long that
// took.
func (c *secrawConn) awaitClose(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	require.NoError(t, c.SetReadDeadline(start.Add(waitLimit)))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the peer did not close the raw connection: %v", err)
	return time.Since(start)
}

// secrawCurveClient is a raw CURVE client: the keys of both sides, and the
// state of its handshake.
type secrawCurveClient struct {
	*secrawConn
	server     [32]byte // S
	pub, sec   [32]byte // C, c
	tpub, tsec [32]byte // C', c'
	spub       [32]byte // S', from WELCOME
	cookie     []byte   // from WELCOME
	key        [32]byte // C'·S'
	nonce      uint64   // the next short nonce to send
}

// secrawCurveDial connects to a CURVE server whose public key is server,
// with the long-term key pair client, and exchanges greetings.
func secrawCurveDial(t *testing.T, endpoint string, server socket.CurveKey, client secrawKeys) *secrawCurveClient {
	t.Helper()
	cl := &secrawCurveClient{secrawConn: secrawDial(t, endpoint), server: server, pub: client.pub, sec: client.sec, nonce: 1}
	tpub, tsec, err := box.GenerateKey(rand.Reader)
	require.NoError(t, err)
	cl.tpub, cl.tsec = *tpub, *tsec
	cl.greet(t, "CURVE")
	return cl
}

// hello returns a HELLO body (200 bytes) with short nonce n.
func (cl *secrawCurveClient) hello(n uint64) []byte {
	h := append([]byte("\x05HELLO"), 1, 0)
	h = append(h, make([]byte, 72)...)
	h = append(h, cl.tpub[:]...)
	h = binary.BigEndian.AppendUint64(h, n)
	return box.Seal(h, make([]byte, 64), secrawShort(secrawNonceHello, n), &cl.server, &cl.tsec)
}

// welcome opens a WELCOME body, keeping S' and the cookie.
func (cl *secrawCurveClient) welcome(body []byte) error {
	if len(body) != 168 || string(body[:8]) != "\x07WELCOME" {
		return fmt.Errorf("not a WELCOME: %d bytes %q", len(body), body[:min(len(body), 8)])
	}
	pt, ok := box.Open(nil, body[24:], secrawNonce(secrawNonceWelcome, body[8:24]), &cl.server, &cl.tsec)
	if !ok {
		return errors.New("WELCOME does not open")
	}
	copy(cl.spub[:], pt[:32])
	cl.cookie = append([]byte(nil), pt[32:]...)
	box.Precompute(&cl.key, &cl.spub, &cl.tsec)
	return nil
}

// initiateWith returns an INITIATE body with short nonce n, announcing the
// long-term key pub, whose vouch box is sealed with vouchSec and holds
// vouchServer as the server's key; cookie is what goes back to the server.
func (cl *secrawCurveClient) initiateWith(t *testing.T, n uint64, cookie []byte, pub, vouchSec, vouchServer [32]byte, meta []byte) []byte {
	t.Helper()
	vn := secrawRandom(t, 16)
	vouch := box.Seal(append([]byte(nil), vn...), append(cl.tpub[:], vouchServer[:]...), secrawNonce(secrawNonceVouch, vn), &cl.spub, &vouchSec)
	pt := append(append(append([]byte(nil), pub[:]...), vouch...), meta...)
	out := append([]byte("\x08INITIATE"), cookie...)
	out = binary.BigEndian.AppendUint64(out, n)
	return box.SealAfterPrecomputation(out, pt, secrawShort(secrawNonceInitiate, n), &cl.key)
}

// initiate returns an honest INITIATE body with short nonce n.
func (cl *secrawCurveClient) initiate(t *testing.T, n uint64, meta []byte) []byte {
	t.Helper()
	return cl.initiateWith(t, n, cl.cookie, cl.pub, cl.sec, cl.server, meta)
}

// ready opens a READY body and returns its nonce and metadata.
func (cl *secrawCurveClient) ready(body []byte) (uint64, []byte, error) {
	if len(body) < 30 || string(body[:6]) != "\x05READY" {
		return 0, nil, fmt.Errorf("not a READY: %d bytes %q", len(body), body[:min(len(body), 8)])
	}
	pt, ok := box.OpenAfterPrecomputation(nil, body[14:], secrawNonce(secrawNonceReady, body[6:14]), &cl.key)
	if !ok {
		return 0, nil, errors.New("READY does not open")
	}
	return binary.BigEndian.Uint64(body[6:14]), pt, nil
}

// sendHello sends HELLO with the next nonce and opens the WELCOME.
func (cl *secrawCurveClient) sendHello(t *testing.T) {
	t.Helper()
	cl.mustSend(t, secrawCmd(cl.hello(cl.nonce)))
	cl.nonce++
	require.NoError(t, cl.welcome(cl.readCommand(t, "WELCOME")))
}

// handshake runs a whole honest handshake as a DEALER with routing id id:
// HELLO 1, INITIATE 2, then READY.
func (cl *secrawCurveClient) handshake(t *testing.T, id string) {
	t.Helper()
	cl.sendHello(t)
	cl.mustSend(t, secrawCmd(cl.initiate(t, cl.nonce, secrawDealerMeta(id))))
	cl.nonce++
	_, _, err := cl.ready(cl.readCommand(t, "READY"))
	require.NoError(t, err)
}

// message returns a MESSAGE body from the client with short nonce n.
func (cl *secrawCurveClient) message(n uint64, flags byte, payload []byte) []byte {
	out := binary.BigEndian.AppendUint64([]byte("\x07MESSAGE"), n)
	return box.SealAfterPrecomputation(out, append([]byte{flags}, payload...), secrawShort(secrawNonceMessageC, n), &cl.key)
}

// sendMessage sends one single-frame message in a MESSAGE with the next
// nonce, in a message frame as libzmq does.
func (cl *secrawCurveClient) sendMessage(t *testing.T, payload string) {
	t.Helper()
	cl.mustSend(t, secrawData(0, cl.message(cl.nonce, 0, []byte(payload))))
	cl.nonce++
}

// openMessage opens a MESSAGE body from the server.
func (cl *secrawCurveClient) openMessage(body []byte) (uint64, byte, []byte, error) {
	if len(body) < 33 || string(body[:8]) != "\x07MESSAGE" {
		return 0, 0, nil, fmt.Errorf("not a MESSAGE: %d bytes", len(body))
	}
	pt, ok := box.OpenAfterPrecomputation(nil, body[16:], secrawNonce(secrawNonceMessageS, body[8:16]), &cl.key)
	if !ok {
		return 0, 0, nil, errors.New("MESSAGE does not open")
	}
	return binary.BigEndian.Uint64(body[8:16]), pt[0], pt[1:], nil
}

// secrawCurveServer is one connection of a raw CURVE server.
type secrawCurveServer struct {
	*secrawConn
	pub, sec   [32]byte // S, s
	tpub, tsec [32]byte // S', s'
	ctpub      [32]byte // C'
	client     [32]byte // C
	key        [32]byte // S'·C'
	nonce      uint64   // the next short nonce to send
}

// secrawListener accepts connections for a raw server; the test handles
// each on its own goroutine. The listener and every connection it
// accepted are closed, and its goroutine has returned, when the test ends.
type secrawListener struct {
	ln    net.Listener
	conns chan net.Conn
	done  chan struct{}
	mu    sync.Mutex
	all   []net.Conn
}

// secrawListen listens on 127.0.0.1:0.
func secrawListen(t *testing.T) *secrawListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := &secrawListener{ln: ln, conns: make(chan net.Conn, 64), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.mu.Lock()
			l.all = append(l.all, c)
			l.mu.Unlock()
			select {
			case l.conns <- c:
			default:
				_ = c.Close() // more than a test looks at
			}
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-l.done
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, c := range l.all {
			_ = c.Close()
		}
	})
	return l
}

// endpoint returns the listener's address as tcp://HOST:PORT.
func (l *secrawListener) endpoint() string { return "tcp://" + l.ln.Addr().String() }

// accepted returns how many connections the listener has accepted.
func (l *secrawListener) accepted() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.all)
}

// next returns the next connection accepted, failing the test after
// waitLimit.
func (l *secrawListener) next(t *testing.T) *secrawConn {
	t.Helper()
	select {
	case c := <-l.conns:
		return &secrawConn{Conn: c}
	case <-time.After(waitLimit):
		require.FailNow(t, "no connection to the raw server within "+waitLimit.String())
		return nil
	}
}

// secrawCurveAccept takes the next connection of l as a CURVE server with
// the long-term key pair keys, and exchanges greetings.
func secrawCurveAccept(t *testing.T, l *secrawListener, keys secrawKeys) *secrawCurveServer {
	t.Helper()
	sv := &secrawCurveServer{secrawConn: l.next(t), pub: keys.pub, sec: keys.sec, nonce: 1}
	tpub, tsec, err := box.GenerateKey(rand.Reader)
	require.NoError(t, err)
	sv.tpub, sv.tsec = *tpub, *tsec
	sv.greet(t, "CURVE")
	return sv
}

// readHello reads and opens the client's HELLO.
func (sv *secrawCurveServer) readHello(t *testing.T) {
	t.Helper()
	h := sv.readCommand(t, "HELLO")
	require.Len(t, h, 200, "HELLO size")
	copy(sv.ctpub[:], h[80:112])
	_, ok := box.Open(nil, h[120:], secrawNonce(secrawNonceHello, h[112:120]), &sv.ctpub, &sv.sec)
	require.True(t, ok, "HELLO opens")
	box.Precompute(&sv.key, &sv.ctpub, &sv.tsec)
}

// welcome returns a WELCOME body, with a cookie no one will check.
func (sv *secrawCurveServer) welcome(t *testing.T) []byte {
	t.Helper()
	cookie := secrawRandom(t, 96)
	wn := secrawRandom(t, 16)
	out := append([]byte("\x07WELCOME"), wn...)
	return box.Seal(out, append(sv.tpub[:], cookie...), secrawNonce(secrawNonceWelcome, wn), &sv.ctpub, &sv.sec)
}

// readInitiate reads and opens the client's INITIATE, and returns its
// metadata.
func (sv *secrawCurveServer) readInitiate(t *testing.T) []byte {
	t.Helper()
	m := sv.readCommand(t, "INITIATE")
	require.GreaterOrEqual(t, len(m), 257, "INITIATE size")
	pt, ok := box.OpenAfterPrecomputation(nil, m[113:], secrawNonce(secrawNonceInitiate, m[105:113]), &sv.key)
	require.True(t, ok, "INITIATE opens")
	copy(sv.client[:], pt[:32])
	_, ok = box.Open(nil, pt[48:128], secrawNonce(secrawNonceVouch, pt[32:48]), &sv.client, &sv.tsec)
	require.True(t, ok, "vouch opens")
	return pt[128:]
}

// ready returns a READY body with the next nonce and metadata meta.
func (sv *secrawCurveServer) ready(meta []byte) []byte {
	out := binary.BigEndian.AppendUint64([]byte("\x05READY"), sv.nonce)
	out = box.SealAfterPrecomputation(out, meta, secrawShort(secrawNonceReady, sv.nonce), &sv.key)
	sv.nonce++
	return out
}

// message returns a MESSAGE body from the server with short nonce n.
func (sv *secrawCurveServer) message(n uint64, flags byte, payload []byte) []byte {
	out := binary.BigEndian.AppendUint64([]byte("\x07MESSAGE"), n)
	return box.SealAfterPrecomputation(out, append([]byte{flags}, payload...), secrawShort(secrawNonceMessageS, n), &sv.key)
}

// secrawPlainHello returns a PLAIN HELLO body.
func secrawPlainHello(user, pass []byte) []byte {
	b := append([]byte("\x05HELLO"), byte(len(user)))
	b = append(b, user...)
	b = append(b, byte(len(pass)))
	return append(b, pass...)
}
