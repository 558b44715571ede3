package zmqc

import (
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func keypair(t *testing.T) (public, secret string) {
	t.Helper()
	public, secret, err := CurveKeypair()
	require.NoError(t, err)
	require.Len(t, public, 40)
	require.Len(t, secret, 40)
	return public, secret
}

var monitors atomic.Int64

// monitor returns a PAIR socket that reads the events of s. Call it before
// another goroutine uses s.
func monitor(t *testing.T, c *Context, s *Socket) *Socket {
	t.Helper()
	ep := fmt.Sprintf("inproc://curve-test-monitor-%d", monitors.Add(1))
	require.NoError(t, s.Monitor(ep, EventAll))
	pair := newSocket(t, c, PAIR)
	require.NoError(t, pair.Connect(ep))
	return pair
}

// waitEvent returns the value of the first event numbered event that the
// monitor pair reports.
func waitEvent(t *testing.T, pair *Socket, event int) uint32 {
	t.Helper()
	for {
		got, value, err := ReadEvent(pair)
		require.NoError(t, err, "waiting for event %#x", event)
		if got == event {
			return value
		}
	}
}

// curveServer runs the C echo loop on a CURVE ROUTER with the secret key
// secret, and, when allow is not nil, the C ZAP handler that lets in those
// keys. It returns the server's endpoint and a PAIR socket that reads the
// ROUTER's events.
func curveServer(t *testing.T, secret string, allow []string) (ep string, events *Socket) {
	t.Helper()
	srvCtx := newContext(t)
	if allow != nil {
		zap := newSocket(t, srvCtx, REP)
		require.NoError(t, zap.SetInt(RcvTimeo, -1))
		_, err := zap.Bind(ZAPEndpoint)
		require.NoError(t, err)
		serve(t, srvCtx, func() error { return ZAPAllow(zap, allow) })
	}
	router := newSocket(t, srvCtx, ROUTER)
	require.NoError(t, router.SetCurveServer(secret))
	ep, err := router.Bind("tcp://127.0.0.1:*")
	require.NoError(t, err)
	events = monitor(t, srvCtx, router)
	serve(t, srvCtx, func() error { return Echo(router) })
	return ep, events
}

// TestCurveEchoWithZAP runs the C echo loop on a CURVE ROUTER with the C
// ZAP handler: clients whose keys it lists are echoed, in small and
// zero-copy messages, and a client with another key is refused with
// status 400, as both ends' monitors report.
func TestCurveEchoWithZAP(t *testing.T) {
	require.True(t, HasCurve())
	srvPub, srvSec := keypair(t)
	aPub, aSec := keypair(t)
	bPub, bSec := keypair(t)
	cPub, cSec := keypair(t)
	ep, srvEvents := curveServer(t, srvSec, []string{aPub, bPub})

	cliCtx := newContext(t)
	var socks []*Socket
	for _, k := range [][2]string{{aPub, aSec}, {bPub, bSec}} {
		s := newSocket(t, cliCtx, DEALER)
		require.NoError(t, s.SetCurveClient(srvPub, k[0], k[1]))
		require.NoError(t, s.Connect(ep))
		socks = append(socks, s)
	}
	d := NewDriver(socks, 0)
	defer d.Free()
	for _, size := range []int{16, ZeroCopyMin} {
		res, err := d.Run(DriveConfig{Size: size, Window: 20, Sample: 1, Duration: 30 * time.Millisecond, Timeout: ioTimeout})
		require.NoError(t, err, "%d bytes", size)
		assert.Positive(t, res.Msgs)
	}

	stranger := newSocket(t, cliCtx, DEALER)
	require.NoError(t, stranger.SetCurveClient(srvPub, cPub, cSec))
	events := monitor(t, cliCtx, stranger)
	require.NoError(t, stranger.Connect(ep))
	assert.Equal(t, uint32(400), waitEvent(t, events, EventHandshakeFailedAuth), "the client is told 400")
	assert.Equal(t, uint32(400), waitEvent(t, srvEvents, EventHandshakeFailedAuth), "the server refused with 400")

	// Still serving the listed keys.
	res, err := d.Run(DriveConfig{Size: 16, Window: 5, Sample: 1, Duration: 10 * time.Millisecond, Timeout: ioTimeout})
	require.NoError(t, err)
	assert.Positive(t, res.Msgs)
}

// TestCurveEchoWithoutZAP: without a ZAP handler a libzmq CURVE server lets
// in every client that knows its public key, and the echo works the same.
func TestCurveEchoWithoutZAP(t *testing.T) {
	srvPub, srvSec := keypair(t)
	ep, srvEvents := curveServer(t, srvSec, nil)
	cliCtx := newContext(t)
	s := newSocket(t, cliCtx, DEALER)
	pub, sec := keypair(t)
	require.NoError(t, s.SetCurveClient(srvPub, pub, sec))
	require.NoError(t, s.Connect(ep))
	assert.Zero(t, waitEvent(t, srvEvents, EventHandshakeSucceeded))
	d := NewDriver([]*Socket{s}, 0)
	defer d.Free()
	res, err := d.Run(DriveConfig{Size: 100, Window: 10, Sample: 1, Duration: 20 * time.Millisecond, Timeout: ioTimeout})
	require.NoError(t, err)
	assert.Positive(t, res.Msgs)
}

// TestCurveOptionsRejectBadKeys checks that bad keys fail where they are
// given, not later in a handshake.
func TestCurveOptionsRejectBadKeys(t *testing.T) {
	c := newContext(t)
	s := newSocket(t, c, DEALER)
	pub, sec := keypair(t)
	assert.Error(t, s.SetCurveClient("short", pub, sec))
	assert.Error(t, s.SetCurveServer("not a key"))
	zap := newSocket(t, c, REP)
	assert.Error(t, ZAPAllow(zap, []string{"short"}))
	bad := "~" + pub[1:] // '~' is not in the Z85 alphabet
	_, err := zap.Bind(ZAPEndpoint)
	require.NoError(t, err)
	assert.ErrorIs(t, ZAPAllow(zap, []string{bad}), Errno(syscall.EINVAL), "EINVAL before any request")
}
