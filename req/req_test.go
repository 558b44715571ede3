package req_test

import (
	"context"
	"encoding/binary"
	"net"
	"strconv"
	"sync"
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

func newReq(t *testing.T, opts ...socket.Option) *req.Req {
	t.Helper()
	r, err := req.New(append([]socket.Option{noLinger}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, r.Close()) })
	return r
}

func newRouter(t *testing.T, opts ...socket.Option) *router.Router {
	t.Helper()
	r, err := router.New(append([]socket.Option{noLinger}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, r.Close()) })
	require.NoError(t, r.Bind("tcp://127.0.0.1:0"))
	return r
}

func newRep(t *testing.T, opts ...socket.Option) *rep.Rep {
	t.Helper()
	return newRepOn(t, "tcp://127.0.0.1:0", opts...)
}

func newRepOn(t *testing.T, endpoint string, opts ...socket.Option) *rep.Rep {
	t.Helper()
	r, err := rep.New(append([]socket.Option{noLinger}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, r.Close()) })
	require.NoError(t, r.Bind(endpoint))
	return r
}

// serve answers every request s receives with reply(request), until s
// closes; it returns a function that closes s and waits for the loop.
func serve(t *testing.T, s *rep.Rep, reply func(in [][]byte) [][]byte) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := s.Recv(context.Background())
			if err != nil {
				return
			}
			out := reply(frames(m))
			m.Release()
			if s.SendFrames(context.Background(), out...) != nil {
				return
			}
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			assert.NoError(t, s.Close())
			<-done
		})
	}
	t.Cleanup(stop)
	return stop
}

func frames(m *wire.Msg) [][]byte {
	out := make([][]byte, len(m.Frames))
	for i, f := range m.Frames {
		out[i] = append([]byte{}, f...)
	}
	return out
}

func strs(fs [][]byte) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f)
	}
	return out
}

func bs(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func recvStrs(t *testing.T, ctx context.Context, s interface {
	Recv(context.Context) (*wire.Msg, error)
}) []string {
	t.Helper()
	m, err := s.Recv(ctx)
	require.NoError(t, err)
	defer m.Release()
	return strs(m.Frames)
}

func echoReply(in [][]byte) [][]byte { return in }

func TestNewOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    []socket.Option
		wantErr error
	}{
		{"defaults", nil, nil},
		{"correlate and relaxed", []socket.Option{req.WithCorrelate(true), req.WithRelaxed(true)}, nil},
		{"router option", []socket.Option{router.WithMandatory(true)}, socket.ErrBadOption},
		{"bad routing id", []socket.Option{socket.WithRoutingID([]byte{0})}, socket.ErrBadRoutingID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := req.New(tt.opts...)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "REQ", r.Type())
			require.NoError(t, r.Close())
		})
	}
	// The REQ options belong to REQ alone.
	_, err := rep.New(req.WithCorrelate(true))
	require.ErrorIs(t, err, socket.ErrBadOption)
	_, err = dealer.New(req.WithRelaxed(true))
	require.ErrorIs(t, err, socket.ErrBadOption)
}

func TestRequestReply(t *testing.T) { testutil.ForEachSocketTransport(t, testRequestReply) }

func testRequestReply(t *testing.T, transport string) {
	ctx := testCtx(t)
	s := newRepOn(t, testutil.Endpoint(t, transport))
	serve(t, s, func(in [][]byte) [][]byte { return append(bs("re"), in...) })
	c := newReq(t)
	require.NoError(t, c.Connect(s.Addr()))
	for i := range 200 {
		require.NoError(t, c.SendFrames(ctx, []byte(strconv.Itoa(i)), []byte("x")))
		require.Equal(t, []string{"re", strconv.Itoa(i), "x"}, recvStrs(t, ctx, c))
	}
	testutil.CheckFor(t, waitFor, func() bool {
		st := c.Stats()
		return st.MsgsOut == 200 && st.MsgsIn == 200 && st.Dropped() == 0
	}, "counters")
}

// TestOrder: REQ's lockstep, as test_spec_req and libzmq's EFSM have it.
func TestOrder(t *testing.T) {
	ctx := testCtx(t)
	s := newRep(t)
	serve(t, s, echoReply)
	c := newReq(t)
	require.NoError(t, c.Connect(s.Addr()))

	_, err := c.Recv(ctx)
	require.ErrorIs(t, err, socket.ErrState, "Recv before Send")
	_, err = c.TryRecv()
	require.ErrorIs(t, err, socket.ErrState)

	require.NoError(t, c.SendFrames(ctx, []byte("one")))
	m := wire.New([]byte("two"))
	require.ErrorIs(t, c.Send(ctx, m), socket.ErrState, "a second Send before the reply")
	require.Equal(t, [][]byte{[]byte("two")}, m.Frames, "the caller keeps the message as it was")
	m.Release()
	require.Equal(t, []string{"one"}, recvStrs(t, ctx, c))
	_, err = c.Recv(ctx)
	require.ErrorIs(t, err, socket.ErrState, "a second Recv")
	require.NoError(t, c.SendFrames(ctx, []byte("three")))
	require.Equal(t, []string{"three"}, recvStrs(t, ctx, c))
}

// TestWireShape: a ROUTER sees [id, "", body], with the request id frame
// before the delimiter under WithCorrelate, counting up by one.
func TestWireShape(t *testing.T) {
	ctx := testCtx(t)
	for _, correlate := range []bool{false, true} {
		t.Run("correlate="+strconv.FormatBool(correlate), func(t *testing.T) {
			r := newRouter(t)
			c := newReq(t, req.WithCorrelate(correlate), socket.WithRoutingID([]byte("me")))
			require.NoError(t, c.Connect(r.Addr()))
			var last uint32
			for i := range 3 {
				require.NoError(t, c.SendFrames(ctx, []byte("a"), []byte("b")))
				m, err := r.Recv(ctx)
				require.NoError(t, err)
				fs := frames(m)
				require.Equal(t, "me", string(fs[0]))
				if correlate {
					require.Len(t, fs, 5)
					require.Len(t, fs[1], 4)
					id := binary.NativeEndian.Uint32(fs[1])
					if i > 0 {
						require.Equal(t, last+1, id)
					}
					last = id
					fs = append(fs[:1], fs[2:]...)
				}
				require.Equal(t, []string{"me", "", "a", "b"}, strs(fs))
				require.NoError(t, r.Send(ctx, m)) // the envelope back, unchanged
				require.Equal(t, []string{"a", "b"}, recvStrs(t, ctx, c))
			}
		})
	}
}

// TestRoundRobin: requests go to the peers in turn, each Connect's pipe from
// the start (test_spec_req's round robin out).
func TestRoundRobin(t *testing.T) {
	ctx := testCtx(t)
	c := newReq(t)
	const n = 3
	for i := range n {
		s := newRep(t)
		name := strconv.Itoa(i)
		serve(t, s, func([][]byte) [][]byte { return bs(name) })
		require.NoError(t, c.Connect(s.Addr()))
	}
	require.NoError(t, c.WaitPeers(ctx, n))
	var got []string
	for range 2 * n {
		require.NoError(t, c.SendFrames(ctx, []byte("q")))
		got = append(got, recvStrs(t, ctx, c)...)
	}
	// The order of the first round is the order of the Connects.
	require.Equal(t, []string{"0", "1", "2", "0", "1", "2"}, got)
}

// TestOnlyCurrentPeer: a reply from a peer that was not asked is dropped,
// as test_spec_req's test_req_only_listens_to_current_peer has it.
func TestOnlyCurrentPeer(t *testing.T) {
	ctx := testCtx(t)
	c := newReq(t, socket.WithRoutingID([]byte("A")))
	r1, r2 := newRouter(t), newRouter(t)
	require.NoError(t, c.Connect(r1.Addr()))
	require.NoError(t, c.Connect(r2.Addr()))
	require.NoError(t, c.WaitPeers(ctx, 2))
	testutil.CheckFor(t, waitFor, func() bool { return r1.Stats().Peers == 1 && r2.Stats().Peers == 1 }, "admitted")

	require.NoError(t, c.SendFrames(ctx, []byte("q")))
	// The first Connect's pipe comes first in round robin.
	m, err := r1.Recv(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"A", "", "q"}, strs(frames(m)))
	// r2 answers unasked, then r1 does.
	require.NoError(t, r2.SendFrames(ctx, []byte("A"), nil, []byte("wrong")))
	testutil.CheckFor(t, waitFor, func() bool { return c.Stats().MsgsIn == 1 }, "the stray reply arrived")
	require.NoError(t, r1.Send(ctx, m))
	require.Equal(t, []string{"q"}, recvStrs(t, ctx, c))
}

// TestBadReplyClosesConnection: a message that no REQ could take is a
// protocol error on its connection, as libzmq's REQ session has it; as
// libzmq 4.3, the REQ does not reconnect that endpoint.
func TestBadReplyClosesConnection(t *testing.T) {
	ctx := testCtx(t)
	r := newRouter(t)
	c := newReq(t, socket.WithReconnectInterval(10*time.Millisecond))
	require.NoError(t, c.Connect(r.Addr()))
	require.NoError(t, c.SendFrames(ctx, []byte("q")))
	m, err := r.Recv(ctx)
	require.NoError(t, err)
	id := append([]byte{}, m.Frames[0]...)
	m.Release()
	require.NoError(t, r.SendFrames(ctx, id, []byte("no delimiter")))
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	recvd := make(chan error, 1)
	go func() {
		m, err := c.Recv(rctx)
		if err == nil {
			m.Release()
		}
		recvd <- err
	}()
	testutil.CheckFor(t, waitFor, func() bool { return c.Stats().CloseReasons[socket.ProtocolError] == 1 }, "closed as a protocol error")
	cancel()
	require.ErrorIs(t, <-recvd, context.Canceled)
	// Strict: still owed the reply.
	require.ErrorIs(t, c.SendFrames(ctx, []byte("again")), socket.ErrState)
	testutil.CheckFor(t, waitFor, func() bool { st := c.Stats(); return st.Peers == 0 && st.Pipes == 0 }, "the endpoint given up")
}

// TestRelaxed: with ZMQ_REQ_RELAXED a new request may go before the reply,
// and with ZMQ_REQ_CORRELATE a late reply to the old one is dropped even
// from the same peer (test_req_relaxed, test_req_correlate).
func TestRelaxed(t *testing.T) {
	ctx := testCtx(t)
	r := newRouter(t)
	c := newReq(t, req.WithRelaxed(true), req.WithCorrelate(true))
	require.NoError(t, c.Connect(r.Addr()))

	require.NoError(t, c.SendFrames(ctx, []byte("first")))
	old, err := r.Recv(ctx)
	require.NoError(t, err)
	// The reply does not come in time.
	tctx, cancel := context.WithTimeout(ctx, time.Millisecond)
	_, err = c.Recv(tctx)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, c.SendFrames(ctx, []byte("second")))
	cur, err := r.Recv(ctx)
	require.NoError(t, err)
	require.Equal(t, "second", string(cur.Frames[3]))
	// The old reply comes first, then the new one.
	require.NoError(t, r.Send(ctx, old))
	require.NoError(t, r.Send(ctx, cur))
	require.Equal(t, []string{"second"}, recvStrs(t, ctx, c))
	require.EqualValues(t, 2, c.Stats().MsgsIn, "the old reply arrived and was dropped")
}

// TestRelaxedWithoutCorrelate: without ids, the peer of the latest request
// is the only check; a reply from the peer of the abandoned one is dropped.
func TestRelaxedWithoutCorrelate(t *testing.T) {
	ctx := testCtx(t)
	c := newReq(t, req.WithRelaxed(true), socket.WithRoutingID([]byte("A")))
	r1, r2 := newRouter(t), newRouter(t)
	require.NoError(t, c.Connect(r1.Addr()))
	require.NoError(t, c.Connect(r2.Addr()))
	require.NoError(t, c.WaitPeers(ctx, 2))
	require.NoError(t, c.SendFrames(ctx, []byte("1")))
	m1, err := r1.Recv(ctx)
	require.NoError(t, err)
	require.NoError(t, c.SendFrames(ctx, []byte("2")))
	m2, err := r2.Recv(ctx)
	require.NoError(t, err)
	require.NoError(t, r1.Send(ctx, m1))
	testutil.CheckFor(t, waitFor, func() bool { return c.Stats().MsgsIn == 1 }, "the old reply arrived")
	require.NoError(t, r2.Send(ctx, m2))
	require.Equal(t, []string{"2"}, recvStrs(t, ctx, c))
}

// TestStaleRepliesDropped: replies that wait when the next request goes
// out are dropped, as libzmq's REQ eats them.
func TestStaleRepliesDropped(t *testing.T) {
	ctx := testCtx(t)
	r := newRouter(t)
	c := newReq(t, req.WithRelaxed(true))
	require.NoError(t, c.Connect(r.Addr()))
	require.NoError(t, c.SendFrames(ctx, []byte("1")))
	m, err := r.Recv(ctx)
	require.NoError(t, err)
	require.NoError(t, r.Send(ctx, m))
	testutil.CheckFor(t, waitFor, func() bool { return c.Stats().MsgsIn == 1 }, "the reply waits")
	require.NoError(t, c.SendFrames(ctx, []byte("2")))
	m, err = r.Recv(ctx)
	require.NoError(t, err)
	require.Equal(t, "2", string(m.Frames[2]))
	require.NoError(t, r.Send(ctx, m))
	require.Equal(t, []string{"2"}, recvStrs(t, ctx, c))
}

// TestQueuedBeforeConnect: a request sent before any peer is there waits
// in the Connect's pipe, as libzmq queues it on a pending pipe.
func TestQueuedBeforeConnect(t *testing.T) {
	ctx := testCtx(t)
	c := newReq(t, socket.WithReconnectInterval(10*time.Millisecond))
	probe := newRep(t)
	ep := probe.Addr()
	require.NoError(t, probe.Close())
	require.NoError(t, c.Connect(ep))
	require.NoError(t, c.SendFrames(ctx, []byte("early")))
	s, err := rep.New(noLinger)
	require.NoError(t, err)
	require.NoError(t, s.Bind(ep))
	serve(t, s, echoReply)
	require.Equal(t, []string{"early"}, recvStrs(t, ctx, c))
}

func TestSendWaitsAndTrySend(t *testing.T) {
	c := newReq(t)
	// No pipe at all: TrySend would block, Send waits for its context.
	require.ErrorIs(t, c.TrySend(wire.New([]byte("x"))), socket.ErrWouldBlock)
	tctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	require.ErrorIs(t, c.SendFrames(tctx, []byte("x")), context.DeadlineExceeded)
	// Nothing went out: the Req may send again.
	_, err := c.TryRecv()
	require.ErrorIs(t, err, socket.ErrState)
}

func TestEmptyMessage(t *testing.T) {
	ctx := testCtx(t)
	s := newRep(t)
	serve(t, s, echoReply)
	c := newReq(t)
	require.NoError(t, c.Connect(s.Addr()))
	require.NoError(t, c.Send(ctx, wire.Get()))
	require.EqualValues(t, 1, c.Stats().DroppedEmpty)
	_, err := c.Recv(ctx)
	require.ErrorIs(t, err, socket.ErrState, "no request is out")
	require.NoError(t, c.SendFrames(ctx, nil))
	require.Equal(t, []string{""}, recvStrs(t, ctx, c))
}

func TestClosed(t *testing.T) {
	ctx := testCtx(t)
	s := newRep(t)
	c, err := req.New(noLinger)
	require.NoError(t, err)
	require.NoError(t, c.Connect(s.Addr()))
	require.NoError(t, c.SendFrames(ctx, []byte("q")))
	errc := make(chan error, 1)
	go func() {
		_, err := c.Recv(ctx)
		errc <- err
	}()
	require.NoError(t, c.Close())
	require.ErrorIs(t, <-errc, net.ErrClosed)
	require.ErrorIs(t, c.SendFrames(ctx, []byte("q")), net.ErrClosed)
}
