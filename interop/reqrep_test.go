package interop

import (
	"context"
	"encoding/binary"
	"strconv"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/rep"
	"github.com/zrouter/zrouter/req"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
)

// zrouter's REQ and REP against libzmq 4.3: each with the other's libzmq
// counterpart, both bind sides, and the ports of libzmq's test_spec_req,
// test_spec_rep, test_req_correlate, test_req_relaxed, test_reqrep_tcp and
// test_invalid_rep (tcp variants) with the libzmq peers those tests use.

func reqNew(t *testing.T, opts ...socket.Option) *req.Req {
	t.Helper()
	r, err := req.New(append([]socket.Option{noLinger}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, r.Close(), "close req") })
	return r
}

func repNew(t *testing.T, opts ...socket.Option) *rep.Rep {
	t.Helper()
	r, err := rep.New(append([]socket.Option{noLinger}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, r.Close(), "close rep") })
	return r
}

type zRecver interface {
	Recv(context.Context) (*wire.Msg, error)
}

type zSender interface {
	SendFrames(context.Context, ...[]byte) error
}

// zRecv receives one message within ioTimeout and returns its frames.
func zRecv(t *testing.T, s zRecver) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	m, err := s.Recv(ctx)
	require.NoError(t, err, "zrouter Recv")
	defer m.Release()
	return strs(m.Frames)
}

// zSend sends frames as one message within ioTimeout.
func zSend(t *testing.T, s zSender, frames ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	require.NoError(t, s.SendFrames(ctx, bs(frames...)...), "zrouter Send")
}

// zmqBound binds a libzmq socket of typ on 127.0.0.1 and returns it with
// its endpoint.
func zmqBound(t *testing.T, zctx *zmq.Context, typ zmq.Type) (*zmq.Socket, string) {
	t.Helper()
	s := newSocket(t, zctx, typ)
	require.NoError(t, s.Bind("tcp://127.0.0.1:*"))
	ep, err := s.GetLastEndpoint()
	require.NoError(t, err)
	return s, ep
}

// TestReqRepZrouterReqLibzmqRep: a zrouter REQ and a libzmq REP, each side
// bound in turn; multipart requests with empty frames, one at a time.
func TestReqRepZrouterReqLibzmqRep(t *testing.T) {
	t.Parallel()
	for _, bindREQ := range []bool{false, true} {
		t.Run("bind-req="+strconv.FormatBool(bindREQ), func(t *testing.T) {
			zctx := newContext(t)
			c := reqNew(t)
			var s *zmq.Socket
			if bindREQ {
				require.NoError(t, c.Bind("tcp://127.0.0.1:0"))
				s = newSocket(t, zctx, zmq.REP)
				require.NoError(t, s.Connect(c.Addr()))
			} else {
				var ep string
				s, ep = zmqBound(t, zctx, zmq.REP)
				require.NoError(t, c.Connect(ep))
			}
			for i := range 50 {
				n := strconv.Itoa(i)
				zSend(t, c, n, "", "tail")
				got := zmqRecv(t, s)
				require.Equal(t, []string{n, "", "tail"}, strs(got))
				zmqSend(t, s, append(bs("re"), got...)...)
				require.Equal(t, []string{"re", n, "", "tail"}, zRecv(t, c))
			}
		})
	}
}

// TestReqRepLibzmqReqZrouterRep: a libzmq REQ and a zrouter REP, each side
// bound in turn.
func TestReqRepLibzmqReqZrouterRep(t *testing.T) {
	t.Parallel()
	for _, bindREP := range []bool{true, false} {
		t.Run("bind-rep="+strconv.FormatBool(bindREP), func(t *testing.T) {
			zctx := newContext(t)
			s := repNew(t)
			var c *zmq.Socket
			if bindREP {
				require.NoError(t, s.Bind("tcp://127.0.0.1:0"))
				c = newSocket(t, zctx, zmq.REQ)
				require.NoError(t, c.Connect(s.Addr()))
			} else {
				var ep string
				c, ep = zmqBound(t, zctx, zmq.REQ)
				require.NoError(t, s.Connect(ep))
			}
			for i := range 50 {
				n := strconv.Itoa(i)
				zmqSend(t, c, bs(n, "", "tail")...)
				require.Equal(t, []string{n, "", "tail"}, zRecv(t, s))
				zSend(t, s, "re", n)
				require.Equal(t, []string{"re", n}, strs(zmqRecv(t, c)))
			}
		})
	}
}

// TestReqRepReqToLibzmqRouter: a libzmq ROUTER sees [id, "", body] from a
// zrouter REQ (test_spec_req's message format), and with REQ_CORRELATE
// [id, request-id, "", body] with a 4-byte id that counts up by one, as a
// libzmq REQ sends it. Both bind sides.
func TestReqRepReqToLibzmqRouter(t *testing.T) {
	t.Parallel()
	for _, correlate := range []bool{false, true} {
		for _, bindREQ := range []bool{false, true} {
			name := "correlate=" + strconv.FormatBool(correlate) + "/bind-req=" + strconv.FormatBool(bindREQ)
			t.Run(name, func(t *testing.T) {
				zctx := newContext(t)
				c := reqNew(t, req.WithCorrelate(correlate), socket.WithRoutingID([]byte("zreq")))
				var r *zmq.Socket
				if bindREQ {
					require.NoError(t, c.Bind("tcp://127.0.0.1:0"))
					r = newSocket(t, zctx, zmq.ROUTER)
					require.NoError(t, r.Connect(c.Addr()))
				} else {
					var ep string
					r, ep = zmqBound(t, zctx, zmq.ROUTER)
					require.NoError(t, c.Connect(ep))
				}
				var last uint32
				for i := range 5 {
					zSend(t, c, "ABC", "DEF")
					got := zmqRecv(t, r)
					require.Equal(t, "zreq", string(got[0]))
					if correlate {
						require.Len(t, got, 5)
						require.Len(t, got[1], 4)
						id := binary.NativeEndian.Uint32(got[1])
						if i > 0 {
							require.Equal(t, last+1, id)
						}
						last = id
					}
					require.Equal(t, []string{"", "ABC", "DEF"}, strs(got[len(got)-3:]))
					reply := append(append([][]byte{}, got[:len(got)-2]...), []byte("GHI"))
					zmqSend(t, r, reply...)
					require.Equal(t, []string{"GHI"}, zRecv(t, c))
				}
			})
		}
	}
}

// TestReqRepCorrelateWireMatchesLibzmq: the request id frame of a libzmq
// REQ, seen by the same libzmq ROUTER, has zrouter's layout: 4 bytes before
// the delimiter, counting up by one in the host's byte order.
func TestReqRepCorrelateWireMatchesLibzmq(t *testing.T) {
	t.Parallel()
	zctx := newContext(t)
	r, ep := zmqBound(t, zctx, zmq.ROUTER)
	c := newSocket(t, zctx, zmq.REQ)
	require.NoError(t, c.SetReqCorrelate(1))
	require.NoError(t, c.Connect(ep))
	var last uint32
	for i := range 3 {
		zmqSend(t, c, bs("x")...)
		got := zmqRecv(t, r)
		require.Len(t, got, 4)
		require.Len(t, got[1], 4)
		require.Empty(t, got[2])
		id := binary.NativeEndian.Uint32(got[1])
		if i > 0 {
			require.Equal(t, last+1, id)
		}
		last = id
		zmqSend(t, r, got...)
		require.Equal(t, []string{"x"}, strs(zmqRecv(t, c)))
	}
}

// TestReqRepCorrelateBadID ports test_req_correlate: a reply with the wrong
// request id is dropped; the one with the right id is taken.
func TestReqRepCorrelateBadID(t *testing.T) {
	t.Parallel()
	zctx := newContext(t)
	r, ep := zmqBound(t, zctx, zmq.ROUTER)
	c := reqNew(t, req.WithCorrelate(true))
	require.NoError(t, c.Connect(ep))
	zSend(t, c, "ABC", "DEF")
	got := zmqRecv(t, r)
	require.Len(t, got, 5)
	bad := make([]byte, 4)
	binary.NativeEndian.PutUint32(bad, binary.NativeEndian.Uint32(got[1])+1)
	zmqSend(t, r, got[0], bad, nil, []byte("DATA"))
	zmqSend(t, r, got[0], got[1], nil, []byte("GHI"))
	require.Equal(t, []string{"GHI"}, zRecv(t, c))
}

// TestReqRepRoundRobin ports test_spec_req's round robin out: a bound
// zrouter REQ with five libzmq REPs connected.
func TestReqRepRoundRobin(t *testing.T) {
	t.Parallel()
	zctx := newContext(t)
	c := reqNew(t)
	require.NoError(t, c.Bind("tcp://127.0.0.1:0"))
	const services = 5
	reps := make([]*zmq.Socket, services)
	for i := range reps {
		reps[i] = newSocket(t, zctx, zmq.REP)
		require.NoError(t, reps[i].Connect(c.Addr()))
		// One at a time, so that the pipes join in this order.
		testutil.CheckFor(t, waitLimit, func() bool { return c.Stats().Peers == i+1 }, "peer up")
	}
	for i := range services {
		zSend(t, c, "ABC")
		require.Equal(t, []string{"ABC"}, strs(zmqRecv(t, reps[i])))
		zmqSend(t, reps[i], bs("DEF")...)
		require.Equal(t, []string{"DEF"}, zRecv(t, c))
	}
}

// TestReqRepOnlyCurrentPeer ports test_spec_req's
// test_req_only_listens_to_current_peer (which libzmq's own run leaves
// out): libzmq ROUTERs that all answer; only the one asked is heard.
func TestReqRepOnlyCurrentPeer(t *testing.T) {
	t.Parallel()
	zctx := newContext(t)
	c := reqNew(t, socket.WithRoutingID([]byte("A")))
	require.NoError(t, c.Bind("tcp://127.0.0.1:0"))
	const services = 3
	routers := make([]*zmq.Socket, services)
	for i := range routers {
		routers[i] = newSocket(t, zctx, zmq.ROUTER)
		require.NoError(t, routers[i].SetRouterMandatory(1))
		require.NoError(t, routers[i].Connect(c.Addr()))
		testutil.CheckFor(t, waitLimit, func() bool { return c.Stats().Peers == i+1 }, "peer up")
	}
	for i := range services {
		zSend(t, c, "ABC")
		got := zmqRecv(t, routers[i])
		require.Equal(t, []string{"A", "", "ABC"}, strs(got))
		// Every router answers; the others' replies are in first. (Were
		// one still on its way, the next request's drain could miss it and
		// the next Recv take it, as libzmq's would: the race for which
		// libzmq's run leaves this case out.)
		in := c.Stats().MsgsIn
		for j := range services {
			if j != i {
				zmqSend(t, routers[j], bs("A", "", "WRONG")...)
			}
		}
		testutil.CheckFor(t, waitLimit, func() bool { return c.Stats().MsgsIn == in+services-1 }, "the wrong replies are in")
		zmqSend(t, routers[i], bs("A", "", "GOOD")...)
		require.Equal(t, []string{"GOOD"}, zRecv(t, c))
	}
}

// TestReqRepRelaxed ports test_req_relaxed's cases 1 to 3: a bound zrouter
// REQ with REQ_RELAXED and REQ_CORRELATE, five libzmq REPs connected.
func TestReqRepRelaxed(t *testing.T) {
	t.Parallel()
	zctx := newContext(t)
	c := reqNew(t, req.WithRelaxed(true), req.WithCorrelate(true))
	require.NoError(t, c.Bind("tcp://127.0.0.1:0"))
	const services = 5
	reps := make([]*zmq.Socket, services)
	for i := range reps {
		reps[i] = newSocket(t, zctx, zmq.REP)
		require.NoError(t, reps[i].Connect(c.Addr()))
		testutil.CheckFor(t, waitLimit, func() bool { return c.Stats().Peers == i+1 }, "peer up")
	}
	// Case 1: a request abandoned for the next; the late reply is dropped.
	zSend(t, c, "A", "B")
	require.Equal(t, []string{"A", "B"}, strs(zmqRecv(t, reps[0])))
	zSend(t, c, "C", "D")
	require.Equal(t, []string{"C", "D"}, strs(zmqRecv(t, reps[1])))
	zmqSend(t, reps[0], bs("WRONG")...)
	zmqSend(t, reps[1], bs("OK")...)
	require.Equal(t, []string{"OK"}, zRecv(t, c))
	zSend(t, c, "E")
	require.Equal(t, []string{"E"}, strs(zmqRecv(t, reps[2])))
	zmqSend(t, reps[2], bs("F", "G")...)
	require.Equal(t, []string{"F", "G"}, zRecv(t, c))
	// Case 2: a reply that waits when the next request goes is dropped.
	zSend(t, c, "H")
	require.Equal(t, []string{"H"}, strs(zmqRecv(t, reps[3])))
	zmqSend(t, reps[3], bs("BAD")...)
	// WRONG, OK, F+G and BAD are all in.
	testutil.CheckFor(t, waitLimit, func() bool { return c.Stats().MsgsIn == 4 }, "BAD arrived")
	zSend(t, c, "I")
	require.Equal(t, []string{"I"}, strs(zmqRecv(t, reps[4])))
	zmqSend(t, reps[4], bs("GOOD")...)
	require.Equal(t, []string{"GOOD"}, zRecv(t, c))
	// Case 3: round robin goes on where it was.
	zSend(t, c, "J")
	require.Equal(t, []string{"J"}, strs(zmqRecv(t, reps[0])))
}

// TestReqRepRelaxedQueued ports test_req_relaxed's case 4: two requests
// queued before the ROUTER binds; it bounces both, and only the second is
// answered.
func TestReqRepRelaxedQueued(t *testing.T) {
	t.Parallel()
	zctx := newContext(t)
	ep := freeEndpoint(t)
	c := reqNew(t, req.WithRelaxed(true), req.WithCorrelate(true), socket.WithReconnectInterval(10*time.Millisecond))
	require.NoError(t, c.Connect(ep))
	zSend(t, c, "TO_BE_DISCARDED")
	zSend(t, c, "TO_BE_ANSWERED")
	r := newSocket(t, zctx, zmq.ROUTER)
	require.NoError(t, r.Bind(ep))
	zmqSend(t, r, zmqRecv(t, r)...)
	zmqSend(t, r, zmqRecv(t, r)...)
	require.Equal(t, []string{"TO_BE_ANSWERED"}, zRecv(t, c))
}

// TestReqRepStrict: a strict REQ refuses a second request (EFSM), as
// libzmq's does; both answer the same way to the same calls.
func TestReqRepStrict(t *testing.T) {
	t.Parallel()
	zctx := newContext(t)
	s, ep := zmqBound(t, zctx, zmq.REP)
	c := reqNew(t)
	require.NoError(t, c.Connect(ep))
	lz := newSocket(t, zctx, zmq.REQ)
	require.NoError(t, lz.Connect(ep))

	_, err := lz.RecvBytes(0)
	require.True(t, isErrno(err, zmq.EFSM), "libzmq: recv before send: %v", err)
	_, err = c.TryRecv()
	require.ErrorIs(t, err, socket.ErrState)

	zmqSend(t, lz, bs("one")...)
	_, err = lz.SendBytes([]byte("two"), 0)
	require.True(t, isErrno(err, zmq.EFSM), "libzmq: second send: %v", err)
	zSend(t, c, "one")
	require.ErrorIs(t, c.SendFrames(context.Background(), []byte("two")), socket.ErrState)

	for range 2 {
		got := zmqRecv(t, s)
		zmqSend(t, s, got...)
	}
	require.Equal(t, []string{"one"}, strs(zmqRecv(t, lz)))
	require.Equal(t, []string{"one"}, zRecv(t, c))
}

// TestReqRepDealerToRep ports test_spec_rep's envelope case with a libzmq
// DEALER, both bind sides: the routing frames before the delimiter come
// back on the reply.
func TestReqRepDealerToRep(t *testing.T) {
	t.Parallel()
	for _, bindREP := range []bool{true, false} {
		t.Run("bind-rep="+strconv.FormatBool(bindREP), func(t *testing.T) {
			zctx := newContext(t)
			s := repNew(t)
			var d *zmq.Socket
			if bindREP {
				require.NoError(t, s.Bind("tcp://127.0.0.1:0"))
				d = newSocket(t, zctx, zmq.DEALER)
				require.NoError(t, d.Connect(s.Addr()))
			} else {
				var ep string
				d, ep = zmqBound(t, zctx, zmq.DEALER)
				require.NoError(t, s.Connect(ep))
			}
			zmqSend(t, d, bs("", "A")...)
			require.Equal(t, []string{"A"}, zRecv(t, s))
			zSend(t, s, "A")
			require.Equal(t, []string{"", "A"}, strs(zmqRecv(t, d)))

			zmqSend(t, d, bs("X", "Y", "", "A")...)
			require.Equal(t, []string{"A"}, zRecv(t, s))
			zSend(t, s, "A")
			require.Equal(t, []string{"X", "Y", "", "A"}, strs(zmqRecv(t, d)))
		})
	}
}

// TestReqRepFairQueue ports test_spec_rep's fair queue in: five libzmq REQs
// on a bound zrouter REP; each is answered, including the case libzmq's
// own run leaves out (one request from every client at once).
func TestReqRepFairQueue(t *testing.T) {
	t.Parallel()
	zctx := newContext(t)
	s := repNew(t)
	require.NoError(t, s.Bind("tcp://127.0.0.1:0"))
	const services = 5
	reqs := make([]*zmq.Socket, services)
	for i := range reqs {
		reqs[i] = newSocket(t, zctx, zmq.REQ)
		require.NoError(t, reqs[i].Connect(s.Addr()))
	}
	testutil.CheckFor(t, waitLimit, func() bool { return s.Stats().Peers == services }, "peers up")
	for range 2 {
		zmqSend(t, reqs[0], bs("A")...)
		require.Equal(t, []string{"A"}, zRecv(t, s))
		zSend(t, s, "A")
		require.Equal(t, []string{"A"}, strs(zmqRecv(t, reqs[0])))
	}
	for i, r := range reqs {
		zmqSend(t, r, bs(string(rune('A'+i)))...)
	}
	testutil.CheckFor(t, waitLimit, func() bool { return s.Stats().MsgsIn == 2+services }, "all arrived")
	seen := map[string]bool{}
	for range services {
		got := zRecv(t, s)
		require.Len(t, got, 1)
		seen[got[0]] = true
		zSend(t, s, got[0])
	}
	require.Len(t, seen, services)
	for i, r := range reqs {
		require.Equal(t, []string{string(rune('A' + i))}, strs(zmqRecv(t, r)))
	}
}

// TestReqRepInvalidRep ports test_invalid_rep: a libzmq ROUTER sends a
// lone address, which it drops, then a well-formed reply, which a zrouter
// REQ takes as libzmq's does.
func TestReqRepInvalidRep(t *testing.T) {
	t.Parallel()
	zctx := newContext(t)
	r, ep := zmqBound(t, zctx, zmq.ROUTER)
	c := reqNew(t)
	require.NoError(t, c.Connect(ep))
	lz := newSocket(t, zctx, zmq.REQ)
	require.NoError(t, lz.Connect(ep))
	zSend(t, c, "r")
	zmqSend(t, lz, bs("r")...)
	for range 2 {
		got := zmqRecv(t, r)
		require.Equal(t, []string{"", "r"}, strs(got[1:]))
		zmqSend(t, r, got[0])
		zmqSend(t, r, got[0], nil, []byte("b"))
	}
	require.Equal(t, []string{"b"}, zRecv(t, c))
	require.Equal(t, []string{"b"}, strs(zmqRecv(t, lz)))
}

// TestReqRepMalformedReply: a reply with no delimiter is a protocol error
// to libzmq's REQ session, which closes the connection and does not
// reconnect; zrouter's REQ does the same, when its Recv (or its next Send)
// meets the message rather than on arrival. The libzmq ROUTER (mandatory)
// sees each REQ go.
func TestReqRepMalformedReply(t *testing.T) {
	t.Parallel()
	zctx := newContext(t)
	r, ep := zmqBound(t, zctx, zmq.ROUTER)
	require.NoError(t, r.SetRouterMandatory(1))
	c := reqNew(t, socket.WithRoutingID([]byte("zreq")))
	require.NoError(t, c.Connect(ep))
	lz := newSocket(t, zctx, zmq.REQ)
	require.NoError(t, lz.SetIdentity("lreq"))
	require.NoError(t, lz.Connect(ep))
	zSend(t, c, "r")
	zmqSend(t, lz, bs("r")...)
	for range 2 {
		got := zmqRecv(t, r)
		zmqSend(t, r, got[0], []byte("no delimiter"))
	}
	rctx, cancel := context.WithCancel(context.Background())
	recvd := make(chan error, 1)
	go func() {
		_, err := c.Recv(rctx)
		recvd <- err
	}()
	defer func() {
		cancel()
		assert.ErrorIs(t, <-recvd, context.Canceled, "no reply taken")
	}()
	for _, id := range []string{"zreq", "lreq"} {
		testutil.CheckFor(t, waitLimit, func() bool {
			_, err := r.SendMessage(id, "still no delimiter")
			return isErrno(err, zmq.EHOSTUNREACH)
		}, "%s went", id)
	}
	testutil.CheckFor(t, waitLimit, func() bool { return c.Stats().CloseReasons[socket.ProtocolError] == 1 }, "a protocol error")
	require.Zero(t, c.Stats().Pipes, "not reconnected")
}

// TestReqRepMalformedRequest: a libzmq DEALER's requests without an
// envelope are dropped by a zrouter REP, as test_invalid_rep and libzmq's
// REP have it; the next well-formed one is answered.
func TestReqRepMalformedRequest(t *testing.T) {
	t.Parallel()
	zctx := newContext(t)
	s := repNew(t)
	require.NoError(t, s.Bind("tcp://127.0.0.1:0"))
	d := newSocket(t, zctx, zmq.DEALER)
	require.NoError(t, d.Connect(s.Addr()))
	zmqSend(t, d, bs("invalid")...)
	zmqSend(t, d, bs("x", "")...)
	zmqSend(t, d, bs("", "b")...)
	require.Equal(t, []string{"b"}, zRecv(t, s))
	zSend(t, s, "reply")
	require.Equal(t, []string{"", "reply"}, strs(zmqRecv(t, d)))
}

// TestReqRepThroughLibzmqProxy ports test_reqrep_device: a zrouter REQ and
// a zrouter REP on either side of a libzmq ROUTER/DEALER queue, multipart
// requests and replies.
func TestReqRepThroughLibzmqProxy(t *testing.T) {
	t.Parallel()
	zctx := newContext(t)
	front, fep := zmqBound(t, zctx, zmq.ROUTER)
	back, bep := zmqBound(t, zctx, zmq.DEALER)
	c := reqNew(t)
	require.NoError(t, c.Connect(fep))
	s := repNew(t)
	require.NoError(t, s.Connect(bep))
	for i := range 10 {
		n := strconv.Itoa(i)
		zSend(t, c, "ABC", n)
		zmqSend(t, back, zmqRecv(t, front)...)
		require.Equal(t, []string{"ABC", n}, zRecv(t, s))
		zSend(t, s, "GHI", n)
		zmqSend(t, front, zmqRecv(t, back)...)
		require.Equal(t, []string{"GHI", n}, zRecv(t, c))
	}
}

// TestReqRepSameIdentity: two libzmq REQs that announce the same routing
// id are both served by a zrouter REP, which tells peers apart by pipe.
// (libzmq's own REP, a ROUTER inside, leaves the second unserved while the
// first is connected: rep/doc.go.)
func TestReqRepSameIdentity(t *testing.T) {
	t.Parallel()
	zctx := newContext(t)
	s := repNew(t)
	require.NoError(t, s.Bind("tcp://127.0.0.1:0"))
	var cs []*zmq.Socket
	for range 2 {
		c := newSocket(t, zctx, zmq.REQ)
		require.NoError(t, c.SetIdentity("same"))
		require.NoError(t, c.Connect(s.Addr()))
		cs = append(cs, c)
	}
	testutil.CheckFor(t, waitLimit, func() bool { return s.Stats().Peers == 2 }, "both up")
	for i, c := range cs {
		zmqSend(t, c, bs("from "+strconv.Itoa(i))...)
	}
	for range cs {
		got := zRecv(t, s)
		zSend(t, s, "re "+got[0])
	}
	for i, c := range cs {
		require.Equal(t, []string{"re from " + strconv.Itoa(i)}, strs(zmqRecv(t, c)))
	}
}
