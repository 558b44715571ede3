package interop

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
)

// Helpers of the CURVE and PLAIN interop tests (security_test.go): keys
// made by libzmq, a libzmq ZAP handler, the security options of libzmq
// sockets, and one way to send and receive on either implementation.

// secKeys is a CURVE key pair made by libzmq's zmq_curve_keypair: Pub and
// Sec in Z85 as libzmq writes them, pub and sec as zrouter parses them.
type secKeys struct {
	Pub, Sec string
	pub, sec socket.CurveKey
}

// secNewKeys makes a key pair with libzmq and checks that zrouter reads
// both keys and derives the same public key from the secret one.
func secNewKeys(t *testing.T) secKeys {
	t.Helper()
	require.True(t, zmq.HasCurve(), "libzmq built with CURVE")
	pub, sec, err := zmq.NewCurveKeypair()
	require.NoError(t, err)
	k := secKeys{Pub: pub, Sec: sec}
	k.pub, err = socket.ParseCurveKey(pub)
	require.NoError(t, err, "zrouter parses libzmq's public key")
	k.sec, err = socket.ParseCurveKey(sec)
	require.NoError(t, err, "zrouter parses libzmq's secret key")
	require.Equal(t, k.pub, k.sec.Public(), "zrouter derives libzmq's public key")
	require.Equal(t, pub, k.pub.String(), "zrouter writes the key as libzmq does")
	return k
}

// secSocket is newSocket with send and receive timeouts of waitLimit:
// these tests share a loaded machine with CURVE's costly handshakes and
// megabyte frames.
func secSocket(t *testing.T, zctx *zmq.Context, typ zmq.Type) *zmq.Socket {
	t.Helper()
	s := newSocket(t, zctx, typ)
	require.NoError(t, s.SetRcvtimeo(waitLimit))
	require.NoError(t, s.SetSndtimeo(waitLimit))
	return s
}

// secZmqCurveServer makes s a CURVE server with k (ZMQ_CURVE_SERVER,
// ZMQ_CURVE_SECRETKEY) in ZAP domain "global". Call it before Bind: a
// listener takes the socket's options when it is made.
func secZmqCurveServer(t *testing.T, s *zmq.Socket, k secKeys) {
	t.Helper()
	require.NoError(t, s.SetCurveServer(1))
	require.NoError(t, s.SetCurveSecretkey(k.Sec))
	require.NoError(t, s.SetZapDomain("global"))
}

// secZmqCurveClient makes s a CURVE client of the server whose public key
// is server, with the key pair k.
func secZmqCurveClient(t *testing.T, s *zmq.Socket, server string, k secKeys) {
	t.Helper()
	require.NoError(t, s.SetCurveServerkey(server))
	require.NoError(t, s.SetCurvePublickey(k.Pub))
	require.NoError(t, s.SetCurveSecretkey(k.Sec))
}

// secZmqPlainServer makes s a PLAIN server in ZAP domain "global"; libzmq
// needs a ZAP handler for every PLAIN handshake (secStartZAP).
func secZmqPlainServer(t *testing.T, s *zmq.Socket) {
	t.Helper()
	require.NoError(t, s.SetPlainServer(1))
	require.NoError(t, s.SetZapDomain("global"))
}

// secZmqPlainClient makes s a PLAIN client with the given credentials.
func secZmqPlainClient(t *testing.T, s *zmq.Socket, user, pass string) {
	t.Helper()
	require.NoError(t, s.SetPlainUsername(user))
	require.NoError(t, s.SetPlainPassword(pass))
}

// secZmqBind binds s on 127.0.0.1 and returns the endpoint bound.
func secZmqBind(t *testing.T, s *zmq.Socket) string {
	t.Helper()
	require.NoError(t, s.Bind("tcp://127.0.0.1:*"))
	return eventsLibzmqEndpoint(t, s)
}

// secZAPRequest is one request a libzmq ZAP handler received (RFC 27).
type secZAPRequest struct {
	Domain, Address, Identity, Mechanism string
	Credentials                          [][]byte
}

// secZAP is a libzmq ZAP handler: a REP socket bound on
// inproc://zeromq.zap.01 in a libzmq context, which its server sockets ask
// about every PLAIN and CURVE handshake.
type secZAP struct {
	mu   sync.Mutex
	reqs []secZAPRequest
	err  error
}

// secStartZAP starts a ZAP handler in zctx that answers each request with
// the status and user id decide returns. It is stopped, and its socket
// closed, when the test ends, before zctx is terminated (call it after
// newContext).
func secStartZAP(t *testing.T, zctx *zmq.Context, decide func(secZAPRequest) (status int, userID string)) *secZAP {
	t.Helper()
	rep, err := zctx.NewSocket(zmq.REP)
	require.NoError(t, err)
	for _, err := range []error{rep.SetLinger(0), rep.SetRcvtimeo(20 * time.Millisecond), rep.SetSndtimeo(waitLimit),
		rep.Bind("inproc://zeromq.zap.01")} {
		if err != nil {
			_ = rep.Close()
			require.NoError(t, err)
		}
	}
	z := &secZAP{}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		defer func() { _ = rep.Close() }()
		for {
			select {
			case <-quit:
				return
			default:
			}
			req, err := rep.RecvMessageBytes(0)
			if isErrno(err, zmq.Errno(syscall.EAGAIN)) {
				continue
			}
			if err == nil && len(req) < 6 {
				err = fmt.Errorf("ZAP request of %d frames: %q", len(req), req)
			}
			if err != nil {
				z.fail(err)
				return
			}
			r := secZAPRequest{Domain: string(req[2]), Address: string(req[3]), Identity: string(req[4]),
				Mechanism: string(req[5]), Credentials: req[6:]}
			z.mu.Lock()
			z.reqs = append(z.reqs, r)
			z.mu.Unlock()
			status, user := decide(r)
			if _, err := rep.SendMessage(req[0], req[1], strconv.Itoa(status), "", user, ""); err != nil {
				z.fail(err)
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(quit)
		<-done
		z.mu.Lock()
		defer z.mu.Unlock()
		assert.NoError(t, z.err, "libzmq ZAP handler")
	})
	return z
}

func (z *secZAP) fail(err error) {
	z.mu.Lock()
	z.err = err
	z.mu.Unlock()
}

// requests returns a copy of the requests received so far.
func (z *secZAP) requests() []secZAPRequest {
	z.mu.Lock()
	defer z.mu.Unlock()
	return append([]secZAPRequest(nil), z.reqs...)
}

// secZAPCurve returns a ZAP decision that lets in the CURVE client whose
// public key is k, naming it user, and refuses everything else with 400.
func secZAPCurve(k secKeys, user string) func(secZAPRequest) (int, string) {
	return func(r secZAPRequest) (int, string) {
		if r.Mechanism == "CURVE" && len(r.Credentials) == 1 && bytes.Equal(r.Credentials[0], k.pub[:]) {
			return socket.AuthOK, user
		}
		return socket.AuthRefused, ""
	}
}

// secZAPPlain returns a ZAP decision that lets in PLAIN user with pass,
// named by the user name, and refuses everything else with 400.
func secZAPPlain(user, pass string) func(secZAPRequest) (int, string) {
	return func(r secZAPRequest) (int, string) {
		if r.Mechanism == "PLAIN" && len(r.Credentials) == 2 && string(r.Credentials[0]) == user && string(r.Credentials[1]) == pass {
			return socket.AuthOK, user
		}
		return socket.AuthRefused, ""
	}
}

// secProps are the message properties the tests read, as zmq_msg_gets
// names them.
var secProps = []string{"User-Id", "Socket-Type", "Identity", "Peer-Address"}

// secPeer is one end of a connection, of either implementation, as the
// tests drive it from their own goroutine: send a message, receive one with
// the properties of secProps it has.
type secPeer interface {
	send(t *testing.T, frames ...[]byte)
	recv(t *testing.T) (frames [][]byte, props map[string]string)
}

// secZmqPeer is a libzmq socket as a secPeer.
type secZmqPeer struct{ s *zmq.Socket }

func (p secZmqPeer) send(t *testing.T, frames ...[]byte) {
	t.Helper()
	zmqSend(t, p.s, frames...)
}

func (p secZmqPeer) recv(t *testing.T) ([][]byte, map[string]string) {
	t.Helper()
	msg, props, err := p.s.RecvMessageBytesWithMetadata(0, secProps...)
	require.NoError(t, err, "libzmq receive")
	return msg, props
}

// secZrSocket is what the tests use of a zrouter Router or Dealer.
type secZrSocket interface {
	Recv(context.Context) (*wire.Msg, error)
	SendFrames(context.Context, ...[]byte) error
	Property(*wire.Msg, string) (string, bool)
}

// secZrPeer is a zrouter socket as a secPeer.
type secZrPeer struct{ s secZrSocket }

func (p secZrPeer) send(t *testing.T, frames ...[]byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	require.NoError(t, p.s.SendFrames(ctx, frames...), "zrouter Send")
}

func (p secZrPeer) recv(t *testing.T) ([][]byte, map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	m, err := p.s.Recv(ctx)
	require.NoError(t, err, "zrouter Recv")
	defer m.Release()
	props := map[string]string{}
	for _, name := range secProps {
		if v, ok := p.s.Property(m, name); ok {
			props[name] = v
		}
	}
	return copyFrames(m), props
}

// secZmqSendTo sends frames from a libzmq ROUTER in mandatory mode whose
// first frame names a peer that may not have connected yet: it retries
// while libzmq reports EHOSTUNREACH.
func secZmqSendTo(t *testing.T, s *zmq.Socket, frames ...[]byte) {
	t.Helper()
	testutil.CheckFor(t, waitLimit, func() bool {
		_, err := s.SendMessage(frames)
		if err != nil {
			require.True(t, isErrno(err, zmq.EHOSTUNREACH), "libzmq send: %v", err)
		}
		return err == nil
	}, "the libzmq ROUTER reaches %q", frames[0])
}

// secZmqFailure returns the first HANDSHAKE_FAILED_* event of a libzmq
// monitor, waiting for it.
func secZmqFailure(t *testing.T, mon *eventsZmqMon) eventsZmqEvent {
	t.Helper()
	eventsWaitCount(t, mon, "", eventsHandshakeFail, 1, nil)
	return mon.find(t, "HANDSHAKE_FAILED", func(e eventsZmqEvent) bool { return e.kind() == eventsHandshakeFail })
}

// secWaitZr waits for the first zrouter event of kind k and returns it.
func secWaitZr(t *testing.T, mon *eventsZrMon, k socket.EventKind) eventsZrEvent {
	t.Helper()
	eventsWaitCount(t, mon, "", k, 1, nil)
	return mon.first(t, k)
}

// secFailure describes a zrouter EventHandshakeFailed for assertion
// messages: the events log does not print Status.
func secFailure(e eventsZrEvent) string {
	return fmt.Sprintf("failure=%v status=%d err=%v", e.Failure, e.Status, e.Err)
}

// secSameFrames asserts that got is want, frame by frame, without printing
// megabytes when a big frame differs.
func secSameFrames(t *testing.T, want, got [][]byte, what string) bool {
	t.Helper()
	short := func(fs [][]byte) []string {
		out := make([]string, len(fs))
		for i, f := range fs {
			if len(f) > 32 {
				out[i] = fmt.Sprintf("%q...(%d bytes)", f[:32], len(f))
			} else {
				out[i] = fmt.Sprintf("%q", f)
			}
		}
		return out
	}
	ok := len(want) == len(got)
	for i := 0; ok && i < len(want); i++ {
		ok = bytes.Equal(want[i], got[i])
	}
	return assert.True(t, ok, "%s: got %v, want %v", what, short(got), short(want))
}

// secPattern returns n bytes of a pattern that a shifted or truncated copy
// does not match.
func secPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// secCurveMessage is the clear-text name of a CURVE MESSAGE command as it
// crosses the wire: every message frame, and every PING and PONG, is one
// such command after the handshake (RFC 26). secCurveHello is the client's
// HELLO, one per connection.
var (
	secCurveMessage = []byte("\x07MESSAGE")
	secCurveHello   = []byte("\x05HELLO")
)
