package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"syscall"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/pair"
	"github.com/zrouter/zrouter/pub"
	"github.com/zrouter/zrouter/pull"
	"github.com/zrouter/zrouter/push"
	"github.com/zrouter/zrouter/rep"
	"github.com/zrouter/zrouter/req"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/sub"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/xpub"
	"github.com/zrouter/zrouter/xsub"
	"github.com/zrouter/zrouter/zmtp"
)

// The socket-type compatibility matrix, tested exhaustively against libzmq
// 4.3.4: every zrouter socket type against every libzmq socket type that
// speaks ZMTP, with either side bound. A pair that libzmq accepts must
// carry a message; a pair it refuses must fail its handshake on both sides.
//
// What libzmq does with an incompatible peer (measured by
// TestCompatLibzmqSaysNothing): it closes the connection without an ERROR
// command, having read the peer's READY. zrouter sends ERROR "invalid
// socket type" first, as RFC 37 asks; a libzmq peer takes that as the
// handshake failure it would have reported anyway.

// compatSocket is what the matrix needs of a zrouter socket.
type compatSocket interface {
	Bind(endpoint string) error
	Connect(endpoint string, opts ...socket.Option) error
	Addr() string
	Send(ctx context.Context, m *wire.Msg) error
	Recv(ctx context.Context) (*wire.Msg, error)
	WaitPeers(ctx context.Context, n int) error
	Monitor(buffer int) *socket.Monitor
	Stats() socket.Stats
	Close() error
}

// compatZrouter lists the zrouter socket types and how to make each; a new
// socket type is one more line.
var compatZrouter = []struct {
	typ zmtp.SocketType
	new func(opts ...socket.Option) (compatSocket, error)
}{
	{zmtp.ROUTER, func(o ...socket.Option) (compatSocket, error) { return router.New(o...) }},
	{zmtp.DEALER, func(o ...socket.Option) (compatSocket, error) { return dealer.New(o...) }},
	{zmtp.PUSH, func(o ...socket.Option) (compatSocket, error) { return push.New(o...) }},
	{zmtp.PULL, func(o ...socket.Option) (compatSocket, error) { return pull.New(o...) }},
	{zmtp.PAIR, func(o ...socket.Option) (compatSocket, error) { return pair.New(o...) }},
	{zmtp.REQ, func(o ...socket.Option) (compatSocket, error) { return req.New(o...) }},
	{zmtp.REP, func(o ...socket.Option) (compatSocket, error) { return rep.New(o...) }},
	{zmtp.PUB, func(o ...socket.Option) (compatSocket, error) { return pub.New(o...) }},
	{zmtp.SUB, func(o ...socket.Option) (compatSocket, error) { return sub.New(o...) }},
	{zmtp.XPUB, func(o ...socket.Option) (compatSocket, error) { return xpub.New(o...) }},
	{zmtp.XSUB, func(o ...socket.Option) (compatSocket, error) { return xsub.New(o...) }},
}

// compatLibzmq lists libzmq's ZMTP socket types (STREAM is raw TCP).
var compatLibzmq = []struct {
	typ  zmtp.SocketType
	ztyp zmq.Type
}{
	{zmtp.PAIR, zmq.PAIR}, {zmtp.PUB, zmq.PUB}, {zmtp.SUB, zmq.SUB}, {zmtp.REQ, zmq.REQ},
	{zmtp.REP, zmq.REP}, {zmtp.DEALER, zmq.DEALER}, {zmtp.ROUTER, zmq.ROUTER},
	{zmtp.PULL, zmq.PULL}, {zmtp.PUSH, zmq.PUSH}, {zmtp.XPUB, zmq.XPUB}, {zmtp.XSUB, zmq.XSUB},
}

// compatLibzmqRules is libzmq 4.3.4's own table (mechanism_t's
// check_socket_type), written out here so that the test checks zrouter's
// table (zmtp.Compatible) against it as well as against libzmq's behaviour.
var compatLibzmqRules = map[zmtp.SocketType][]zmtp.SocketType{
	zmtp.REQ:    {zmtp.REP, zmtp.ROUTER},
	zmtp.REP:    {zmtp.REQ, zmtp.DEALER},
	zmtp.DEALER: {zmtp.REP, zmtp.DEALER, zmtp.ROUTER},
	zmtp.ROUTER: {zmtp.REQ, zmtp.DEALER, zmtp.ROUTER},
	zmtp.PUSH:   {zmtp.PULL},
	zmtp.PULL:   {zmtp.PUSH},
	zmtp.PUB:    {zmtp.SUB, zmtp.XSUB},
	zmtp.SUB:    {zmtp.PUB, zmtp.XPUB},
	zmtp.XPUB:   {zmtp.SUB, zmtp.XSUB},
	zmtp.XSUB:   {zmtp.PUB, zmtp.XPUB},
	zmtp.PAIR:   {zmtp.PAIR},
}

func compatAccepts(a, b zmtp.SocketType) bool {
	return slices.Contains(compatLibzmqRules[a], b) && slices.Contains(compatLibzmqRules[b], a)
}

// sendsUnaddressed reports whether a socket of type t can send without
// naming a peer; receives whether it can receive.
func sendsUnaddressed(t zmtp.SocketType) bool {
	switch t {
	case zmtp.DEALER, zmtp.REQ, zmtp.PUSH, zmtp.PAIR:
		return true
	}
	return false
}

func receives(t zmtp.SocketType) bool {
	switch t {
	case zmtp.PUSH, zmtp.PUB:
		return false
	}
	return true
}

func TestCompatTable(t *testing.T) {
	for _, z := range compatLibzmq {
		for _, l := range compatLibzmq {
			assert.Equal(t, compatAccepts(z.typ, l.typ), zmtp.Compatible(z.typ, l.typ), "%s with %s", z.typ, l.typ)
		}
	}
}

func TestCompatMatrix(t *testing.T) {
	t.Parallel()
	for _, z := range compatZrouter {
		t.Run(string(z.typ), func(t *testing.T) {
			t.Parallel()
			zctx := newContext(t)
			for _, l := range compatLibzmq {
				for _, zBinds := range []bool{true, false} {
					side := "libzmq-binds"
					if zBinds {
						side = "zrouter-binds"
					}
					t.Run(fmt.Sprintf("%s/%s", l.typ, side), func(t *testing.T) {
						t.Parallel()
						compatCase(t, zctx, z.typ, z.new, l.typ, l.ztyp, zBinds)
					})
				}
			}
		})
	}
}

func compatCase(t *testing.T, zctx *zmq.Context, ztyp zmtp.SocketType, newZ func(...socket.Option) (compatSocket, error),
	ltyp zmtp.SocketType, lztyp zmq.Type, zBinds bool) {
	ctx := testutil.Context(t, waitLimit)
	zs, err := newZ(socket.WithLinger(0), socket.WithRoutingID([]byte("Z")))
	if err != nil {
		// Not every type announces a routing id.
		zs, err = newZ(socket.WithLinger(0))
	}
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, zs.Close()) })
	zmon := eventsWatch(t, zs)

	ls := newSocket(t, zctx, lztyp)
	if ltyp == zmtp.DEALER || ltyp == zmtp.REQ || ltyp == zmtp.ROUTER {
		require.NoError(t, ls.SetIdentity("L"))
	}
	if ltyp == zmtp.ROUTER {
		require.NoError(t, ls.SetRouterMandatory(1))
	}
	if ltyp == zmtp.SUB {
		require.NoError(t, ls.SetSubscribe(""))
	}
	lmon := eventsWatchZmq(t, zctx, ls)
	if zBinds {
		require.NoError(t, zs.Bind("tcp://127.0.0.1:0"))
		require.NoError(t, ls.Connect(zs.Addr()))
	} else {
		require.NoError(t, ls.Bind("tcp://127.0.0.1:*"))
		require.NoError(t, zs.Connect(eventsLibzmqEndpoint(t, ls)))
	}

	if !compatAccepts(ztyp, ltyp) {
		// Refused: zrouter's handshake fails, and libzmq's connection
		// ends without its handshake having succeeded.
		eventsWaitCount(t, zmon, "", eventsHandshakeFail, 1, nil)
		hf := zmon.first(t, eventsHandshakeFail)
		assert.Equal(t, socket.HandshakeSocketType, hf.Failure, "%v", hf)
		eventsWaitCount(t, lmon, "", eventsDisconnect, 1, nil)
		assert.NotContains(t, lmon.kinds(""), eventsHandshake, "libzmq events %s", lmon)
		assert.NotContains(t, zmon.kinds(""), eventsHandshake, "zrouter events %s", zmon)
		assert.Zero(t, zs.Stats().Connected)
		return
	}

	// Accepted: a message crosses, from a side that can send without
	// naming a peer, or else from the libzmq ROUTER to "Z"; between
	// publisher and subscriber, once the subscription is in.
	switch {
	case ztyp == zmtp.PUB || ztyp == zmtp.XPUB:
		if ltyp == zmtp.XSUB {
			zmqSend(t, ls, []byte{1})
		}
		subs := zs.(interface{ Subscribers(func([]byte, int)) })
		testutil.CheckFor(t, waitLimit, func() bool {
			// A bound libzmq SUB sends its subscriptions to a peer only
			// once its application calls into the socket, which makes
			// libzmq attach the peer's pipe: ask for its events.
			_, err := ls.GetEvents()
			require.NoError(t, err)
			return pubCount(subs.Subscribers, "") == 1
		}, "the subscription")
		require.NoError(t, zs.Send(ctx, wire.New([]byte("hello"))))
		assert.Equal(t, []string{"hello"}, strs(zmqRecv(t, ls)))
	case ztyp == zmtp.SUB || ztyp == zmtp.XSUB:
		if s, ok := zs.(interface{ Subscribe([]byte) }); ok {
			s.Subscribe(nil)
		} else {
			require.NoError(t, zs.Send(ctx, wire.New([]byte{1})))
		}
		if ltyp == zmtp.XPUB {
			assert.Equal(t, []string{"\x01"}, strs(zmqRecv(t, ls)))
			zmqSend(t, ls, []byte("hello"))
			compatRecvHello(t, ctx, zs)
			break
		}
		try := zs.(interface{ TryRecv() (*wire.Msg, error) })
		testutil.CheckFor(t, waitLimit, func() bool {
			zmqSend(t, ls, []byte("hello"))
			m, err := try.TryRecv()
			if err == nil {
				assert.Equal(t, "hello", string(m.Frames[0]))
				m.Release()
			}
			return err == nil
		}, "the libzmq PUB's message")
	case sendsUnaddressed(ltyp) && receives(ztyp):
		msg := []any{"hello"}
		if ztyp == zmtp.REP && ltyp != zmtp.REQ {
			msg = []any{"", "hello"} // a REP takes the envelope up to the delimiter
		}
		_, err := ls.SendMessage(msg...)
		require.NoError(t, err)
		compatRecvHello(t, ctx, zs)
	case sendsUnaddressed(ztyp) && receives(ltyp):
		var frames [][]byte
		if ltyp == zmtp.REP && ztyp != zmtp.REQ {
			frames = append(frames, nil) // a REP takes the envelope up to the delimiter
		}
		m := wire.New(append(frames, []byte("hello"))...)
		require.NoError(t, zs.Send(ctx, m))
		got := zmqRecv(t, ls)
		assert.Equal(t, "hello", string(got[len(got)-1]), "%q", got)
	case ltyp == zmtp.ROUTER && ztyp == zmtp.ROUTER:
		testutil.CheckFor(t, waitLimit, func() bool {
			_, err := ls.SendMessage("Z", "hello")
			if err != nil {
				require.True(t, isErrno(err, zmq.EHOSTUNREACH), "libzmq send: %v", err)
			}
			return err == nil
		}, "the libzmq ROUTER reaches Z")
		got := compatRecvHello(t, ctx, zs)
		assert.Equal(t, "L", string(got[0]), "routed by the libzmq ROUTER's identity")
	default:
		t.Fatalf("no way for %s and %s to exchange a message", ztyp, ltyp)
	}
	eventsWaitCount(t, lmon, "", eventsHandshake, 1, nil)
	assert.EqualValues(t, 1, zs.Stats().Connected)
}

// compatRecvHello receives one message on zs whose last frame is "hello",
// and returns its frames.
func compatRecvHello(t *testing.T, ctx context.Context, zs compatSocket) [][]byte {
	t.Helper()
	m, err := zs.Recv(ctx)
	require.NoError(t, err)
	got := copyFrames(m)
	m.Release()
	require.NotEmpty(t, got)
	assert.Equal(t, "hello", string(got[len(got)-1]), "%q", got)
	return got
}

// TestCompatLibzmqSaysNothing measures what libzmq 4.3.4 sends a peer of a
// type it cannot talk to (every type but PUB and XPUB refuses SUB), with
// either side bound: a raw peer sends its whole
// greeting and a READY claiming SUB at once, and reads until libzmq closes.
// libzmq closes without an ERROR command: it sends at most its greeting and
// its own READY (a ROUTER that had sent them before it read ours).
func TestCompatLibzmqSaysNothing(t *testing.T) {
	t.Parallel()
	zctx := newContext(t)
	for _, typ := range []zmq.Type{zmq.PAIR, zmq.PUSH, zmq.PULL, zmq.DEALER, zmq.ROUTER, zmq.REQ, zmq.REP, zmq.XSUB} {
		for _, bind := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v/bind=%v", typ, bind), func(t *testing.T) {
				ls := newSocket(t, zctx, typ)
				var c net.Conn
				if bind {
					require.NoError(t, ls.Bind("tcp://127.0.0.1:*"))
					var err error
					c, err = net.Dial("tcp", tcpAddr(t, eventsLibzmqEndpoint(t, ls)))
					require.NoError(t, err)
				} else {
					ln, err := net.Listen("tcp", "127.0.0.1:0")
					require.NoError(t, err)
					require.NoError(t, ls.SetReconnectIvl(-1))
					require.NoError(t, ls.Connect("tcp://"+ln.Addr().String()))
					c, err = ln.Accept()
					require.NoError(t, err)
					require.NoError(t, ln.Close())
				}
				defer c.Close()
				ready := (&zmtp.Config{SocketType: zmtp.SUB}).LocalMetadata()
				out := append(eventsGreeting("NULL"), zmtp.AppendCommand(nil, &zmtp.Ready{Metadata: ready})...)
				_, err := c.Write(out)
				require.NoError(t, err)
				require.NoError(t, c.SetReadDeadline(time.Now().Add(waitLimit)))
				got, err := io.ReadAll(c)
				if err != nil {
					require.True(t, errors.Is(err, syscall.ECONNRESET), "read: %v", err)
				}
				assert.False(t, bytes.Contains(got, []byte("\x05ERROR")), "libzmq sent ERROR: %q", got)
				assert.LessOrEqual(t, len(got), 64+64, "at most a greeting and a READY: %q", got)
			})
		}
	}
}
