package device_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/device"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
)

// sharedQueue is zmq_proxy(ROUTER, DEALER) on loopback: the proxy, its
// frontend and its backend.
func sharedQueue(t *testing.T, opts ...device.Option) (*device.Proxy, *router.Router, *dealer.Dealer) {
	t.Helper()
	front, back := newRouter(t), boundDealer(t)
	p, err := device.NewProxy(front, back, opts...)
	require.NoError(t, err)
	return p, front, back
}

// TestProxyRequestReply: REQ-style clients reach DEALER workers through
// the proxy with their envelope intact, every reply returns to the client
// that asked, and the requests are spread round robin.
func TestProxyRequestReply(t *testing.T) {
	p, front, back := sharedQueue(t)
	runProxy(t, p)
	ctx := testCtx(t)
	startWorker(t, back.Addr(), "w1")
	startWorker(t, back.Addr(), "w2")
	testutil.CheckFor(t, waitFor, func() bool { return back.Stats().Peers == 2 }, "two workers")

	clients := []*dealer.Dealer{newDealer(t, front.Addr()), newDealer(t, front.Addr())}
	seen := map[string]int{}
	for i := range 10 {
		for ci, c := range clients {
			req := fmt.Sprintf("c%d-%d", ci, i)
			sendFrames(t, ctx, c, "", req)
			got := recvFrames(t, ctx, c)
			require.Len(t, got, 2, "reply %q", got)
			assert.Empty(t, got[0], "delimiter kept")
			var w, body string
			_, err := fmt.Sscanf(string(got[1]), "%2s:%s", &w, &body)
			require.NoError(t, err, "reply %q", got[1])
			assert.Equal(t, req, body)
			seen[w]++
		}
	}
	assert.Equal(t, map[string]int{"w1": 10, "w2": 10}, seen, "round robin over both workers")
}

// TestProxyOrderAndStats: a pipelined stream keeps its order in both
// directions, and once the proxy is paused its counters are exact, with
// bytes counted over every frame, the routing id included, as libzmq's
// proxy counts them.
func TestProxyOrderAndStats(t *testing.T) {
	p, front, back := sharedQueue(t)
	runProxy(t, p)
	ctx := testCtx(t)
	startWorker(t, back.Addr(), "w")
	c := newDealer(t, front.Addr(), socket.WithRoutingID([]byte("client")))

	const n = 500
	for i := range n {
		sendFrames(t, ctx, c, "", fmt.Sprintf("%04d", i))
	}
	for i := range n {
		assert.Equal(t, frames("", fmt.Sprintf("w:%04d", i)), recvFrames(t, ctx, c))
	}
	require.NoError(t, p.Pause(ctx))
	req := uint64(len("client") + len("0000"))   // [client, "", 0000]
	rep := uint64(len("client") + len("w:0000")) // [client, "", w:0000]
	assert.Equal(t, device.ProxyStats{
		Frontend: device.SideStats{MsgsIn: n, BytesIn: n * req, MsgsOut: n, BytesOut: n * rep},
		Backend:  device.SideStats{MsgsIn: n, BytesIn: n * rep, MsgsOut: n, BytesOut: n * req},
	}, p.Stats())
}

// TestProxyPauseResume: while paused the proxy takes nothing, the
// messages wait in the frontend, and on Resume every one of them moves, in
// order.
func TestProxyPauseResume(t *testing.T) {
	p, front, back := sharedQueue(t)
	runProxy(t, p)
	ctx := testCtx(t)
	w := newDealer(t, back.Addr())
	c := newDealer(t, front.Addr(), socket.WithRoutingID([]byte("c")))

	// One message through first, so the pause catches a proxy that was
	// waiting in Recv.
	sendFrames(t, ctx, c, "first")
	assert.Equal(t, frames("c", "first"), recvFrames(t, ctx, w))
	require.NoError(t, p.Pause(ctx))
	assert.True(t, p.Paused())
	before := p.Stats()

	const n = 50
	for i := range n {
		sendFrames(t, ctx, c, fmt.Sprint(i))
	}
	testutil.CheckFor(t, waitFor, func() bool { return front.Stats().MsgsIn == n+1 }, "the frontend has them all")
	assert.Equal(t, before, p.Stats(), "nothing moved while paused")
	_, err := w.TryRecv()
	assert.ErrorIs(t, err, socket.ErrWouldBlock, "the worker got nothing")

	p.Resume()
	assert.False(t, p.Paused())
	for i := range n {
		assert.Equal(t, frames("c", fmt.Sprint(i)), recvFrames(t, ctx, w))
	}
	testutil.CheckFor(t, waitFor, func() bool { return p.Stats().Frontend.MsgsIn == n+1 }, "counted")
	assert.Zero(t, p.Stats().Dropped)
}

// TestProxyPauseBeforeRun: a proxy paused before Run starts paused.
func TestProxyPauseBeforeRun(t *testing.T) {
	p, front, back := sharedQueue(t)
	ctx := testCtx(t)
	require.NoError(t, p.Pause(ctx))
	runProxy(t, p)
	w := newDealer(t, back.Addr())
	c := newDealer(t, front.Addr(), socket.WithRoutingID([]byte("c")))
	sendFrames(t, ctx, c, "x")
	testutil.CheckFor(t, waitFor, func() bool { return front.Stats().MsgsIn == 1 }, "received by the frontend")
	assert.Zero(t, p.Stats().Frontend.MsgsIn)
	p.Resume()
	assert.Equal(t, frames("c", "x"), recvFrames(t, ctx, w))
}

// TestProxyCapture: the capture socket gets a copy of every message of
// both directions, routing id included, in each direction's order; a
// capture socket with no room (a DEALER with no peer yet) holds the
// messages up instead of losing them.
func TestProxyCapture(t *testing.T) {
	capture := boundDealer(t)
	p, front, back := sharedQueue(t, device.WithCapture(capture))
	runProxy(t, p)
	ctx := testCtx(t)
	w := newDealer(t, back.Addr())
	c := newDealer(t, front.Addr(), socket.WithRoutingID([]byte("c")))

	const n = 20
	for i := range n {
		sendFrames(t, ctx, c, "", fmt.Sprint("q", i))
	}
	// Nothing can pass before the capture socket has a peer.
	tap := newDealer(t, capture.Addr())
	for i := range n {
		assert.Equal(t, frames("c", "", fmt.Sprint("q", i)), recvFrames(t, ctx, tap))
		assert.Equal(t, frames("c", "", fmt.Sprint("q", i)), recvFrames(t, ctx, w))
	}
	for i := range n {
		sendFrames(t, ctx, w, "c", "", fmt.Sprint("r", i))
	}
	for i := range n {
		assert.Equal(t, frames("c", "", fmt.Sprint("r", i)), recvFrames(t, ctx, tap))
		assert.Equal(t, frames("", fmt.Sprint("r", i)), recvFrames(t, ctx, c))
	}
	assert.Zero(t, p.Stats().CaptureDropped)
}

// TestProxyTerminate: Terminate ends a Run waiting in Recv with nil; a
// terminated proxy does not run again; a context that ends returns its
// error; a socket that closes returns net.ErrClosed.
func TestProxyTerminate(t *testing.T) {
	t.Run("terminate", func(t *testing.T) {
		p, _, _ := sharedQueue(t)
		r := runProxy(t, p)
		p.Terminate()
		assert.NoError(t, r.wait(t))
		assert.ErrorIs(t, p.Run(context.Background()), device.ErrRunning)
	})
	t.Run("terminate before run", func(t *testing.T) {
		p, _, _ := sharedQueue(t)
		p.Terminate()
		assert.NoError(t, p.Run(context.Background()))
	})
	t.Run("context", func(t *testing.T) {
		p, _, _ := sharedQueue(t)
		ctx, cancel := context.WithCancel(context.Background())
		r := start(t, func(context.Context) error { return p.Run(ctx) }, cancel)
		cancel()
		assert.ErrorIs(t, r.wait(t), context.Canceled)
	})
	t.Run("paused", func(t *testing.T) {
		p, _, _ := sharedQueue(t)
		require.NoError(t, p.Pause(testCtx(t)))
		r := runProxy(t, p)
		p.Terminate()
		assert.NoError(t, r.wait(t))
	})
	t.Run("socket closed", func(t *testing.T) {
		p, front, _ := sharedQueue(t)
		r := runProxy(t, p)
		require.NoError(t, front.Close())
		assert.ErrorIs(t, r.wait(t), net.ErrClosed)
	})
	t.Run("send waiting", func(t *testing.T) {
		// A request the backend cannot take waits in its Send; Pause
		// cannot finish meanwhile, and Terminate ends the wait and
		// counts the request dropped.
		front, back := newRouter(t), boundDealer(t)
		entered := make(chan struct{}, 1)
		p, err := device.NewProxy(front, stuck{back, make(chan struct{}), entered})
		require.NoError(t, err)
		r := runProxy(t, p)
		ctx := testCtx(t)
		c := newDealer(t, front.Addr())
		sendFrames(t, ctx, c, "x")
		select {
		case <-entered:
		case <-ctx.Done():
			t.Fatal("the request never reached the backend's Send")
		}
		pctx, cancel := context.WithCancel(ctx)
		cancel()
		assert.ErrorIs(t, p.Pause(pctx), context.Canceled)
		p.Terminate()
		assert.NoError(t, r.wait(t))
		assert.Equal(t, uint64(1), p.Stats().Dropped)
		assert.Zero(t, p.Stats().Frontend.MsgsIn)
	})
}

// stuck is a socket whose Send waits until release is closed: a side that
// cannot take messages for now. Each Send that begins is told on entered,
// if it is not nil and has room.
type stuck struct {
	device.Socket
	release chan struct{}
	entered chan struct{}
}

func (s stuck) Send(ctx context.Context, m *wire.Msg) error {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	select {
	case <-s.release:
		return s.Socket.Send(ctx, m)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestProxyDirectionsIndependent: a backend that cannot take requests
// holds up the requests only; what the backend receives still reaches the
// frontend.
func TestProxyDirectionsIndependent(t *testing.T) {
	front, back := newRouter(t), boundDealer(t)
	release := make(chan struct{})
	p, err := device.NewProxy(front, stuck{back, release, nil})
	require.NoError(t, err)
	runProxy(t, p)
	ctx := testCtx(t)
	w := newDealer(t, back.Addr())
	c := newDealer(t, front.Addr(), socket.WithRoutingID([]byte("c")))

	sendFrames(t, ctx, c, "request")
	testutil.CheckFor(t, waitFor, func() bool { return front.Stats().MsgsIn == 1 }, "request received")
	sendFrames(t, ctx, w, "c", "news")
	assert.Equal(t, frames("news"), recvFrames(t, ctx, c), "the other direction moves")
	close(release)
	assert.Equal(t, frames("c", "request"), recvFrames(t, ctx, w))
}

// recvOnly is a socket that cannot send, as a PULL.
type recvOnly struct{ device.Socket }

func (recvOnly) Send(context.Context, *wire.Msg) error { return errors.ErrUnsupported }

// sendOnly is a socket that cannot receive, as a PUSH.
type sendOnly struct{ device.Socket }

func (sendOnly) Recv(context.Context) (*wire.Msg, error) { return nil, errors.ErrUnsupported }

// TestProxyOneWay: a streamer (zmq_proxy(PULL, PUSH)): the direction the
// sockets cannot serve is idle, the other runs, and a proxy with no
// direction at all says so.
func TestProxyOneWay(t *testing.T) {
	in, out := boundDealer(t), boundDealer(t)
	p, err := device.NewProxy(recvOnly{in}, sendOnly{out})
	require.NoError(t, err)
	runProxy(t, p)
	ctx := testCtx(t)
	producer, consumer := newDealer(t, in.Addr()), newDealer(t, out.Addr())
	for i := range 5 {
		sendFrames(t, ctx, producer, fmt.Sprint(i))
	}
	for i := range 5 {
		assert.Equal(t, frames(fmt.Sprint(i)), recvFrames(t, ctx, consumer))
	}

	none, err := device.NewProxy(sendOnly{in}, sendOnly{out})
	require.NoError(t, err)
	assert.ErrorIs(t, none.Run(ctx), device.ErrBadSocket)
}

// TestProxySameSocket: with one socket on both sides, what it receives is
// sent back on it: a ROUTER proxied to itself is an echo.
func TestProxySameSocket(t *testing.T) {
	r := newRouter(t)
	p, err := device.NewProxy(r, r)
	require.NoError(t, err)
	runProxy(t, p)
	ctx := testCtx(t)
	c := newDealer(t, r.Addr())
	sendFrames(t, ctx, c, "a", "b")
	assert.Equal(t, frames("a", "b"), recvFrames(t, ctx, c))
	require.NoError(t, p.Pause(ctx))
	st := p.Stats()
	assert.Equal(t, uint64(1), st.Frontend.MsgsIn)
	assert.Equal(t, uint64(1), st.Backend.MsgsOut)
}

// TestProxyControl: the control socket takes libzmq's commands: PAUSE,
// RESUME, STATISTICS (answered with 8 little-endian uint64 frames) and
// TERMINATE; anything else is ignored and counted. The capture socket
// gets a copy of each command.
func TestProxyControl(t *testing.T) {
	ctl, capture := boundDealer(t), boundDealer(t)
	p, front, back := sharedQueue(t, device.WithControl(ctl), device.WithCapture(capture))
	r := runProxy(t, p)
	ctx := testCtx(t)
	tap := newDealer(t, capture.Addr())
	boss := newDealer(t, ctl.Addr())
	startWorker(t, back.Addr(), "w")
	c := newDealer(t, front.Addr(), socket.WithRoutingID([]byte("c")))

	sendFrames(t, ctx, c, "", "hi")
	assert.Equal(t, frames("", "w:hi"), recvFrames(t, ctx, c))
	recvFrames(t, ctx, tap) // the request
	recvFrames(t, ctx, tap) // the reply

	sendFrames(t, ctx, boss, "PAUSE")
	assert.Equal(t, frames("PAUSE"), recvFrames(t, ctx, tap))
	testutil.CheckFor(t, waitFor, p.Paused, "paused")
	sendFrames(t, ctx, boss, "RESUME")
	assert.Equal(t, frames("RESUME"), recvFrames(t, ctx, tap))
	testutil.CheckFor(t, waitFor, func() bool { return !p.Paused() }, "resumed")

	for _, bad := range [][]string{{"pause"}, {"PAUSE", "x"}, {""}} {
		sendFrames(t, ctx, boss, bad...)
		assert.Equal(t, frames(bad...), recvFrames(t, ctx, tap))
	}
	testutil.CheckFor(t, waitFor, func() bool { return p.Stats().IgnoredCommands == 3 }, "bad commands counted")
	assert.False(t, p.Paused())

	statistics := func() [8]uint64 {
		sendFrames(t, ctx, boss, "STATISTICS")
		got := recvFrames(t, ctx, boss)
		require.Len(t, got, 8)
		var vals [8]uint64
		for i, f := range got {
			require.Len(t, f, 8)
			vals[i] = binary.LittleEndian.Uint64(f)
		}
		return vals
	}
	req, rep := uint64(len("c")+len("hi")), uint64(len("c")+len("w:hi"))
	want := [8]uint64{1, req, 1, rep, 1, rep, 1, req}
	// A message counts once its Send has returned, which may be just
	// after the client has it.
	var got [8]uint64
	testutil.CheckFor(t, waitFor, func() bool { got = statistics(); return got == want }, "statistics")
	assert.Equal(t, want, got)

	sendFrames(t, ctx, boss, "TERMINATE")
	assert.NoError(t, r.wait(t))
}

func TestNewProxyOptions(t *testing.T) {
	r := newRouter(t)
	_, err := device.NewProxy(r, nil)
	assert.ErrorIs(t, err, device.ErrBadSocket)
	_, err = device.NewProxy(r, r, device.WithQueue(5))
	assert.ErrorIs(t, err, device.ErrBadOption)
	_, err = device.NewProxy(r, r, device.WithCapture(nil))
	assert.ErrorIs(t, err, device.ErrBadOption)
	_, err = device.NewProxy(r, r, device.WithLogger(nil))
	assert.ErrorIs(t, err, device.ErrBadOption)
}

// TestProxyPauseResumeUnderLoad: a stream through the proxy while Pause
// and Resume alternate, from Go and from the control socket, arrives
// whole, once each and in order, and the counters account for every
// message.
func TestProxyPauseResumeUnderLoad(t *testing.T) {
	ctl := boundDealer(t)
	p, front, back := sharedQueue(t, device.WithControl(ctl))
	runProxy(t, p)
	ctx := testCtx(t)
	boss := newDealer(t, ctl.Addr())
	w := newDealer(t, back.Addr())
	c := newDealer(t, front.Addr(), socket.WithRoutingID([]byte("c")))

	const n = 2000
	steered := make(chan struct{})
	go func() {
		defer close(steered)
		for i := 0; ctx.Err() == nil; i++ {
			if i%2 == 0 {
				if p.Pause(ctx) != nil {
					return
				}
				p.Resume()
			} else {
				m := wire.New([]byte("PAUSE"))
				if boss.Send(ctx, m) != nil {
					m.Release()
					return
				}
				m = wire.New([]byte("RESUME"))
				if boss.Send(ctx, m) != nil {
					m.Release()
					return
				}
			}
			if p.Stats().Frontend.MsgsIn == n {
				return
			}
		}
	}()
	streamed := make(chan struct{})
	go func() {
		defer close(streamed)
		for i := range n {
			m := wire.New([]byte(fmt.Sprint(i)))
			if c.Send(ctx, m) != nil {
				m.Release()
				return
			}
		}
	}()
	for i := range n {
		require.Equal(t, frames("c", fmt.Sprint(i)), recvFrames(t, ctx, w))
	}
	<-streamed
	<-steered
	// The last command may be a PAUSE the control socket took after the
	// stream ended: resume, then let the counters settle.
	testutil.CheckFor(t, waitFor, func() bool { p.Resume(); return p.Stats().Frontend.MsgsIn == n }, "counted")
	require.NoError(t, p.Pause(ctx))
	st := p.Stats()
	assert.Equal(t, uint64(n), st.Backend.MsgsOut)
	assert.Zero(t, st.Dropped)
	_, err := w.TryRecv()
	assert.ErrorIs(t, err, socket.ErrWouldBlock, "nothing twice")
}
