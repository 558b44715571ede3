package rep_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/rep"
	"github.com/zrouter/zrouter/req"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
)

const waitFor = 10 * time.Second

func testCtx(t *testing.T) context.Context { return testutil.Context(t, waitFor) }

var noLinger = socket.WithLinger(0)

func newRep(t *testing.T, opts ...socket.Option) *rep.Rep {
	t.Helper()
	r, err := rep.New(append([]socket.Option{noLinger}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, r.Close()) })
	require.NoError(t, r.Bind("tcp://127.0.0.1:0"))
	return r
}

func newDealer(t *testing.T, ep string, opts ...socket.Option) *dealer.Dealer {
	t.Helper()
	d, err := dealer.New(append([]socket.Option{noLinger}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, d.Close()) })
	require.NoError(t, d.Connect(ep))
	return d
}

func newReq(t *testing.T, ep string, opts ...socket.Option) *req.Req {
	t.Helper()
	r, err := req.New(append([]socket.Option{noLinger}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, r.Close()) })
	require.NoError(t, r.Connect(ep))
	return r
}

type receiver interface {
	Recv(context.Context) (*wire.Msg, error)
}

func recvStrs(t *testing.T, ctx context.Context, s receiver) []string {
	t.Helper()
	m, err := s.Recv(ctx)
	require.NoError(t, err)
	defer m.Release()
	out := make([]string, len(m.Frames))
	for i, f := range m.Frames {
		out[i] = string(f)
	}
	return out
}

func bs(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		if s != "" {
			out[i] = []byte(s)
		}
	}
	return out
}

// TestEnvelope: everything up to and including the first empty frame is
// the envelope; it comes back on the reply, and the body is what Recv
// returns (test_spec_rep's envelope case, with a DEALER peer).
func TestEnvelope(t *testing.T) {
	ctx := testCtx(t)
	s := newRep(t)
	d := newDealer(t, s.Addr())
	require.NoError(t, d.SendFrames(ctx, bs("A", "B", "", "body", "", "tail")...))
	require.Equal(t, []string{"body", "", "tail"}, recvStrs(t, ctx, s))
	require.NoError(t, s.SendFrames(ctx, bs("reply", "2")...))
	require.Equal(t, []string{"A", "B", "", "reply", "2"}, recvStrs(t, ctx, d))

	// An empty body frame is a body.
	require.NoError(t, d.SendFrames(ctx, bs("", "")...))
	require.Equal(t, []string{""}, recvStrs(t, ctx, s))
	require.NoError(t, s.SendFrames(ctx, bs("ok")...))
	require.Equal(t, []string{"", "ok"}, recvStrs(t, ctx, d))
}

// TestMalformedDropped: requests with no delimiter, or nothing after it,
// are dropped, as libzmq's REP drops them (test_invalid_rep); the next
// good one is served.
func TestMalformedDropped(t *testing.T) {
	ctx := testCtx(t)
	s := newRep(t)
	d := newDealer(t, s.Addr())
	require.NoError(t, d.SendFrames(ctx, bs("no delimiter")...))
	require.NoError(t, d.SendFrames(ctx, bs("x", "y")...))
	require.NoError(t, d.SendFrames(ctx, bs("x", "")...))
	require.NoError(t, d.SendFrames(ctx, bs("")...))
	require.NoError(t, d.SendFrames(ctx, bs("", "good")...))
	require.Equal(t, []string{"good"}, recvStrs(t, ctx, s))
	require.EqualValues(t, 5, s.Stats().MsgsIn)
	require.NoError(t, s.SendFrames(ctx, bs("fine")...))
	require.Equal(t, []string{"", "fine"}, recvStrs(t, ctx, d))
}

func TestOrder(t *testing.T) {
	ctx := testCtx(t)
	s := newRep(t)
	c := newReq(t, s.Addr())
	m := wire.New([]byte("too early"))
	require.ErrorIs(t, s.Send(ctx, m), socket.ErrState, "Send before Recv")
	require.Equal(t, [][]byte{[]byte("too early")}, m.Frames)
	m.Release()

	require.NoError(t, c.SendFrames(ctx, []byte("q")))
	require.Equal(t, []string{"q"}, recvStrs(t, ctx, s))
	_, err := s.Recv(ctx)
	require.ErrorIs(t, err, socket.ErrState, "Recv before the reply")
	_, err = s.TryRecv()
	require.ErrorIs(t, err, socket.ErrState)
	require.NoError(t, s.SendFrames(ctx, []byte("a")))
	require.ErrorIs(t, s.SendFrames(ctx, []byte("b")), socket.ErrState, "a second reply")
	require.Equal(t, []string{"a"}, recvStrs(t, ctx, c))
	_, err = s.TryRecv()
	require.ErrorIs(t, err, socket.ErrWouldBlock)
}

// TestFairQueue: requests from several clients are taken in turn, and each
// reply goes to the client that asked (test_spec_rep's fair queue in).
func TestFairQueue(t *testing.T) {
	ctx := testCtx(t)
	s := newRep(t)
	const n = 3
	ds := make([]*dealer.Dealer, n)
	for i := range ds {
		ds[i] = newDealer(t, s.Addr())
	}
	testutil.CheckFor(t, waitFor, func() bool { return s.Stats().Peers == n }, "peers up")
	// Each client queues two requests; the Rep takes one of each in turn.
	for i, d := range ds {
		for k := range 2 {
			require.NoError(t, d.SendFrames(ctx, nil, []byte(strconv.Itoa(i)+"."+strconv.Itoa(k))))
		}
	}
	testutil.CheckFor(t, waitFor, func() bool { return s.Stats().MsgsIn == 2*n }, "all arrived")
	seen := map[string]int{}
	var firsts []string
	for range 2 * n {
		got := recvStrs(t, ctx, s)
		require.Len(t, got, 1)
		if len(firsts) < n {
			firsts = append(firsts, got[0][:1])
		}
		seen[got[0]]++
		require.NoError(t, s.SendFrames(ctx, []byte("re "+got[0])))
	}
	require.ElementsMatch(t, []string{"0", "1", "2"}, firsts, "one of each client first")
	require.Len(t, seen, 2*n)
	for i, d := range ds {
		for k := range 2 {
			require.Equal(t, []string{"", "re " + strconv.Itoa(i) + "." + strconv.Itoa(k)}, recvStrs(t, ctx, d))
		}
	}
}

// TestReplyToGonePeer: the client went between request and reply: the
// reply is dropped and counted, and the Rep serves the next request.
func TestReplyToGonePeer(t *testing.T) {
	ctx := testCtx(t)
	s := newRep(t)
	d, err := dealer.New(noLinger)
	require.NoError(t, err)
	require.NoError(t, d.Connect(s.Addr()))
	require.NoError(t, d.SendFrames(ctx, nil, []byte("q")))
	require.Equal(t, []string{"q"}, recvStrs(t, ctx, s))
	require.NoError(t, d.Close())
	testutil.CheckFor(t, waitFor, func() bool { return s.Stats().Pipes == 0 }, "the pipe has gone")
	require.NoError(t, s.SendFrames(ctx, []byte("late")))
	require.EqualValues(t, 1, s.Stats().Unroutable)

	c := newReq(t, s.Addr())
	require.NoError(t, c.SendFrames(ctx, []byte("next")))
	require.Equal(t, []string{"next"}, recvStrs(t, ctx, s))
	require.NoError(t, s.SendFrames(ctx, []byte("ok")))
	require.Equal(t, []string{"ok"}, recvStrs(t, ctx, c))
}

// TestEmptyReply: a reply with no frames has nothing to say; it is dropped
// and counted, and the Rep takes the next request.
func TestEmptyReply(t *testing.T) {
	ctx := testCtx(t)
	s := newRep(t)
	d := newDealer(t, s.Addr())
	require.NoError(t, d.SendFrames(ctx, nil, []byte("q")))
	require.Equal(t, []string{"q"}, recvStrs(t, ctx, s))
	require.NoError(t, s.Send(ctx, wire.Get()))
	require.EqualValues(t, 1, s.Stats().DroppedEmpty)
	require.NoError(t, d.SendFrames(ctx, nil, []byte("q2")))
	require.Equal(t, []string{"q2"}, recvStrs(t, ctx, s))
}

// TestThroughRouterDealer: REQ → ROUTER|DEALER proxy → REP. The REP's
// envelope holds the ROUTER's routing id, and the reply finds its way back.
func TestThroughRouterDealer(t *testing.T) {
	ctx := testCtx(t)
	front, err := router.New(noLinger)
	require.NoError(t, err)
	defer front.Close()
	require.NoError(t, front.Bind("tcp://127.0.0.1:0"))
	back, err := dealer.New(noLinger)
	require.NoError(t, err)
	defer back.Close()
	require.NoError(t, back.Bind("tcp://127.0.0.1:0"))
	go pump(front, back)
	go pump(back, front)

	s, err := rep.New(noLinger)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Connect(back.Addr()))
	c := newReq(t, front.Addr(), socket.WithRoutingID([]byte("client")))
	require.NoError(t, c.SendFrames(ctx, []byte("hello")))
	m, err := s.Recv(ctx)
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("hello")}, m.Frames)
	m.Frames[0] = append(m.Frames[0][:0], "world"...)
	require.NoError(t, s.Send(ctx, m))
	require.Equal(t, []string{"world"}, recvStrs(t, ctx, c))
}

func pump(from, to interface {
	Recv(context.Context) (*wire.Msg, error)
	Send(context.Context, *wire.Msg) error
}) {
	for {
		m, err := from.Recv(context.Background())
		if err != nil {
			return
		}
		if to.Send(context.Background(), m) != nil {
			m.Release()
			return
		}
	}
}

// TestCurve: REQ and REP over CURVE, through the core like every socket.
func TestCurve(t *testing.T) {
	ctx := testCtx(t)
	spub, ssec, err := socket.NewCurveKeys()
	require.NoError(t, err)
	_, csec, err := socket.NewCurveKeys()
	require.NoError(t, err)
	s := newRep(t, socket.WithCurveServer(ssec))
	c := newReq(t, s.Addr(), socket.WithCurveClient(spub, csec))
	require.NoError(t, c.SendFrames(ctx, []byte("secret")))
	m, err := s.Recv(ctx)
	require.NoError(t, err)
	require.Equal(t, "secret", string(m.Frames[0]))
	require.NoError(t, s.Send(ctx, m))
	require.Equal(t, []string{"secret"}, recvStrs(t, ctx, c))
}

func TestClosed(t *testing.T) {
	ctx := testCtx(t)
	s, err := rep.New(noLinger)
	require.NoError(t, err)
	errc := make(chan error, 1)
	go func() {
		_, err := s.Recv(ctx)
		errc <- err
	}()
	require.NoError(t, s.Close())
	require.ErrorIs(t, <-errc, net.ErrClosed)
	require.ErrorIs(t, s.SendFrames(ctx, []byte("x")), net.ErrClosed)
}
