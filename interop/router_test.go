package interop

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/zrouter/zrouter/socket"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/wire"
)

// TestRouterREQEcho: a libzmq REQ client talks to a zrouter echo. The
// router must see [id, "", payload] and send the envelope back intact, or
// the REQ would discard the reply.
func TestRouterREQEcho(t *testing.T) {
	t.Parallel()
	r := newRouter(t)
	startEcho(t, r, func(frames [][]byte) {
		if assert.Len(t, frames, 3, "[id, delimiter, payload]") {
			assert.Empty(t, frames[1], "REQ's empty delimiter")
		}
	})
	zctx := newContext(t)
	req := newSocket(t, zctx, zmq.REQ)
	require.NoError(t, req.Connect(r.Addr()))
	for i := range 100 {
		msg := "hello-" + strconv.Itoa(i)
		zmqSend(t, req, []byte(msg))
		assert.Equal(t, []string{msg}, strs(zmqRecv(t, req)))
	}
}

// TestRouterDealerRoutingID: a libzmq DEALER's routing id, generated or
// set, is frame 0 of what Recv returns, and a reply sent to that id reaches
// the DEALER without it.
func TestRouterDealerRoutingID(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"", "dealer-A"} {
		t.Run("id="+id, func(t *testing.T) {
			t.Parallel()
			r := newRouter(t)
			zctx := newContext(t)
			d := newSocket(t, zctx, zmq.DEALER)
			if id != "" {
				require.NoError(t, d.SetIdentity(id))
			}
			require.NoError(t, d.Connect(r.Addr()))

			zmqSend(t, d, bs("a", "", "b")...)
			got := recvFrames(t, r)
			require.Len(t, got, 4)
			peerID := got[0]
			if id != "" {
				assert.Equal(t, id, string(peerID))
			} else {
				// Generated like libzmq's: 0x00 and a 32-bit counter.
				require.Len(t, peerID, 5)
				assert.Equal(t, byte(0), peerID[0])
			}
			assert.Equal(t, []string{"a", "", "b"}, strs(got[1:]))

			peers := r.Peers()
			require.Len(t, peers, 1)
			assert.Equal(t, peerID, peers[0].ID)
			assert.Equal(t, "DEALER", peers[0].SocketType)

			sendFrames(t, r, peerID, []byte("reply"), []byte{})
			assert.Equal(t, []string{"reply", ""}, strs(zmqRecv(t, d)))
		})
	}
}

// TestRouterFromLibzmqRouter: a libzmq ROUTER with routing id "lz" connects
// to zrouter and names it "zr" (ZMQ_CONNECT_ROUTING_ID). Messages must
// cross router to router both ways.
func TestRouterFromLibzmqRouter(t *testing.T) {
	t.Parallel()
	r := newRouter(t)
	zctx := newContext(t)
	lz := newSocket(t, zctx, zmq.ROUTER)
	require.NoError(t, lz.SetIdentity("lz"))
	require.NoError(t, lz.SetConnectRid("zr"))
	require.NoError(t, lz.SetRouterMandatory(1))
	require.NoError(t, lz.Connect(r.Addr()))

	testutil.CheckFor(t, waitLimit, func() bool {
		_, err := lz.SendMessage("zr", "ping", "")
		if err != nil {
			require.True(t, isErrno(err, zmq.EHOSTUNREACH), "libzmq send: %v", err)
		}
		return err == nil
	}, "libzmq ROUTER never got a route to zrouter")
	assert.Equal(t, []string{"lz", "ping", ""}, strs(recvFrames(t, r)))

	sendFrames(t, r, bs("lz", "pong", "", "x")...)
	assert.Equal(t, []string{"zr", "pong", "", "x"}, strs(zmqRecv(t, lz)))
}

// TestRouterConnectToLibzmqRouter: zrouter connects to a libzmq ROUTER and
// names it "lzr" with router.ConnectRoutingID; libzmq sees zrouter's own
// routing id "zr".
func TestRouterConnectToLibzmqRouter(t *testing.T) {
	t.Parallel()
	zctx := newContext(t)
	lz := newSocket(t, zctx, zmq.ROUTER)
	require.NoError(t, lz.Bind("tcp://127.0.0.1:*"))
	endpoint, err := lz.GetLastEndpoint()
	require.NoError(t, err)

	r := newUnboundRouter(t, socket.WithRoutingID([]byte("zr")), router.WithMandatory(true))
	require.NoError(t, r.Connect(endpoint, router.ConnectRoutingID([]byte("lzr"))))

	testutil.CheckFor(t, waitLimit, func() bool {
		err := r.SendFrames(context.Background(), []byte("lzr"), []byte("hello"), []byte{})
		if err != nil {
			require.ErrorIs(t, err, socket.ErrHostUnreachable)
		}
		return err == nil
	}, "zrouter never got a route to the libzmq ROUTER")
	assert.Equal(t, []string{"zr", "hello", ""}, strs(zmqRecv(t, lz)))

	zmqSend(t, lz, bs("zr", "back")...)
	assert.Equal(t, []string{"lzr", "back"}, strs(recvFrames(t, r)))
}

// pattern returns n bytes that differ from frame to frame, so that a frame
// delivered in the wrong place or cut short shows.
func pattern(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed*31+7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// TestRouterFrameSizes sends multipart messages with empty frames and with
// frames at the short/long header boundary (255 and 256 bytes) and of
// 1 MiB from a libzmq DEALER through a zrouter echo and back. Every frame
// must arrive intact at zrouter and again at libzmq.
func TestRouterFrameSizes(t *testing.T) {
	t.Parallel()
	msgs := [][][]byte{
		{{}},
		{{}, {}, {}},
		{pattern(1, 255)},
		{pattern(2, 256)},
		{pattern(3, 1<<20)},
		{{}, pattern(4, 255), {}, pattern(5, 256), pattern(6, 1<<20), {}},
		{[]byte("a"), pattern(7, 8<<10-1), pattern(8, 8<<10), pattern(9, 70000), {}},
	}
	var mu sync.Mutex
	var seen [][][]byte
	r := newRouter(t)
	startEcho(t, r, func(frames [][]byte) {
		c := make([][]byte, len(frames)-1)
		for i, f := range frames[1:] {
			c[i] = bytes.Clone(f)
		}
		mu.Lock()
		seen = append(seen, c)
		mu.Unlock()
	})
	zctx := newContext(t)
	d := newSocket(t, zctx, zmq.DEALER)
	require.NoError(t, d.Connect(r.Addr()))

	for i, m := range msgs {
		zmqSend(t, d, m...)
		got := zmqRecv(t, d)
		require.Len(t, got, len(m), "message %d", i)
		for j := range m {
			assert.True(t, bytes.Equal(m[j], got[j]), "message %d frame %d (%d bytes) came back as %d bytes", i, j, len(m[j]), len(got[j]))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, len(msgs))
	for i, m := range msgs {
		require.Len(t, seen[i], len(m), "message %d at zrouter", i)
		for j := range m {
			assert.True(t, bytes.Equal(m[j], seen[i][j]), "message %d frame %d at zrouter", i, j)
		}
	}
}

// TestRouterManyDealers connects 200 libzmq DEALERs to a zrouter echo at
// once. Each sends tagged messages and must get back exactly its own, in
// order: no crosstalk between peers.
func TestRouterManyDealers(t *testing.T) {
	t.Parallel()
	const (
		peers   = 200
		perPeer = 20
	)
	r := newRouter(t)
	startEcho(t, r, nil)
	zctx := newContext(t)
	socks := make([]*zmq.Socket, peers)
	for i := range socks {
		socks[i] = newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, socks[i].Connect(r.Addr()))
	}

	var wg sync.WaitGroup
	for i, s := range socks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range perPeer {
				if _, err := s.SendMessage(frameTag(i, j), "", strconv.Itoa(i)); !assert.NoError(t, err, "peer %d send", i) {
					return
				}
			}
			for j := range perPeer {
				got, err := s.RecvMessage(0)
				if !assert.NoError(t, err, "peer %d receive %d", i, j) {
					return
				}
				if !assert.Equal(t, []string{frameTag(i, j), "", strconv.Itoa(i)}, got, "peer %d message %d", i, j) {
					return
				}
			}
		}()
	}
	wg.Wait()

	st := r.Stats()
	assert.Equal(t, peers, st.Peers)
	assert.Equal(t, uint64(peers*perPeer), st.MsgsIn)
	assert.Zero(t, st.Unroutable, "echoes dropped for want of a peer")
	assert.Zero(t, st.DroppedHWM, "echoes dropped at the high-water mark")
}

// TestRouterPipelined: 10,000 messages sent back to back by one libzmq
// DEALER arrive at Recv complete and in order.
func TestRouterPipelined(t *testing.T) {
	t.Parallel()
	const n = 10000
	r := newRouter(t)
	zctx := newContext(t)
	d := newSocket(t, zctx, zmq.DEALER)
	require.NoError(t, d.Connect(r.Addr()))

	sent := make(chan error, 1)
	go func() {
		var seq [8]byte
		for i := range n {
			binary.BigEndian.PutUint64(seq[:], uint64(i))
			if _, err := d.SendMessage(seq[:], "payload"); err != nil {
				sent <- fmt.Errorf("send %d: %w", i, err)
				return
			}
		}
		sent <- nil
	}()
	var id []byte
	for i := range n {
		got := recvFrames(t, r)
		require.Len(t, got, 3, "message %d", i)
		if id == nil {
			id = got[0]
		}
		require.Equal(t, id, got[0], "message %d from the one peer", i)
		require.Len(t, got[1], 8)
		require.Equal(t, uint64(i), binary.BigEndian.Uint64(got[1]), "sequence number")
		require.Equal(t, "payload", string(got[2]))
	}
	require.NoError(t, <-sent)
}

// TestRouterLoadBalancer: a LoadBalancer-mode zrouter spreads 10,000
// messages over 4 libzmq DEALER workers, each getting 2,500 ± 5%.
func TestRouterLoadBalancer(t *testing.T) {
	t.Parallel()
	const (
		workers = 4
		total   = 10000
	)
	// Round robin skips a worker whose queue is full, as libzmq's does, so
	// a worker whose goroutine the scheduler starves for a while would get
	// less than its share (seen on a loaded machine: 1913 against 2696).
	// The test is about the rotation, so the queues can hold every
	// message; mandatory makes any failure to queue an error of Send.
	r := newRouter(t, router.WithMode(router.LoadBalancer), router.WithMandatory(true),
		socket.WithSendHWM(total))
	zctx := newContext(t)
	socks := make([]*zmq.Socket, workers)
	for i := range socks {
		socks[i] = newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, socks[i].SetRcvtimeo(50*time.Millisecond))
		require.NoError(t, socks[i].Connect(r.Addr()))
	}
	testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().Peers == workers }, "workers connected")

	var received atomic.Int64
	counts := make([]int, workers)
	var wg sync.WaitGroup
	deadline := time.Now().Add(30 * time.Second)
	for i, s := range socks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for received.Load() < total && time.Now().Before(deadline) {
				got, err := s.RecvMessage(0)
				if err != nil {
					if !assert.True(t, isErrno(err, zmq.Errno(syscall.EAGAIN)), "worker %d receive: %v", i, err) {
						return
					}
					continue // timed out: check whether we are done
				}
				assert.Len(t, got, 2, "worker %d: [seq, body]", i)
				counts[i]++
				received.Add(1)
			}
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range total {
		m := wire.Get()
		m.AppendString(strconv.Itoa(i))
		m.AppendString("work")
		if err := r.Send(ctx, m); err != nil {
			m.Release()
			require.NoError(t, err, "send %d", i)
		}
	}
	wg.Wait()
	require.Equal(t, int64(total), received.Load(), "messages received by the workers")
	for i, c := range counts {
		assert.InDelta(t, total/workers, c, total/workers*0.05, "worker %d share", i)
	}
	assert.Zero(t, r.Stats().Dropped())
}

// TestRouterMandatory: with mandatory on, sending to an id no peer has is
// an error matching socket.ErrHostUnreachable, and the caller keeps the
// message; with it off the message is dropped and counted.
func TestRouterMandatory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("on", func(t *testing.T) {
		t.Parallel()
		r := newRouter(t, router.WithMandatory(true))
		m := wire.New([]byte("nobody"), []byte("x"))
		err := r.Send(ctx, m)
		require.Error(t, err)
		assert.True(t, errors.Is(err, socket.ErrHostUnreachable), "got %v", err)
		ue, ok := errAs[*socket.UnroutableError](err)
		require.True(t, ok, "want *socket.UnroutableError, got %T", err)
		assert.Equal(t, "nobody", string(ue.ID))
		// Still ours after the error.
		assert.Equal(t, []string{"nobody", "x"}, strs(m.Frames))
		m.Release()

		// A known peer is reachable, and unreachable again once gone.
		zctx := newContext(t)
		d := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, d.SetIdentity("known"))
		require.NoError(t, d.Connect(r.Addr()))
		testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().Peers == 1 }, "peer connected")
		sendFrames(t, r, bs("known", "hi")...)
		assert.Equal(t, []string{"hi"}, strs(zmqRecv(t, d)))
		require.NoError(t, d.Close())
		testutil.CheckFor(t, waitLimit, func() bool {
			err := r.SendFrames(ctx, []byte("known"), []byte("hi"))
			return errors.Is(err, socket.ErrHostUnreachable)
		}, "send to a gone peer fails")
	})

	t.Run("off", func(t *testing.T) {
		t.Parallel()
		r := newRouter(t)
		require.NoError(t, r.SendFrames(ctx, []byte("nobody"), []byte("x")))
		assert.Equal(t, uint64(1), r.Stats().Unroutable)
	})
}

// TestRouterHandover: two libzmq DEALERs use the same routing id. Without
// handover the second is refused and the first keeps working; with it the
// second takes the id over.
func TestRouterHandover(t *testing.T) {
	t.Parallel()
	const id = "same-id"

	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		r := newRouter(t)
		zctx := newContext(t)
		d1 := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, d1.SetIdentity(id))
		require.NoError(t, d1.Connect(r.Addr()))
		zmqSend(t, d1, []byte("from-1"))
		assert.Equal(t, []string{id, "from-1"}, strs(recvFrames(t, r)))

		d2 := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, d2.SetIdentity(id))
		require.NoError(t, d2.Connect(r.Addr()))
		testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().RefusedDuplicateID >= 1 }, "second peer refused")

		st := r.Stats()
		assert.Equal(t, 1, st.Peers)
		assert.Equal(t, uint64(1), st.Connected)
		assert.Zero(t, st.CloseReasons[socket.Replaced])
		sendFrames(t, r, bs(id, "to-id")...)
		assert.Equal(t, []string{"to-id"}, strs(zmqRecv(t, d1)), "the first peer keeps the id")
		zmqSend(t, d1, []byte("from-1-again"))
		assert.Equal(t, []string{id, "from-1-again"}, strs(recvFrames(t, r)))
	})

	t.Run("takeover", func(t *testing.T) {
		t.Parallel()
		r := newRouter(t, router.WithHandover(true))
		zctx := newContext(t)
		d1 := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, d1.SetIdentity(id))
		// Once replaced, d1 must not reconnect and take the id back.
		require.NoError(t, d1.SetReconnectIvl(time.Duration(-1)))
		require.NoError(t, d1.Connect(r.Addr()))
		zmqSend(t, d1, []byte("from-1"))
		assert.Equal(t, []string{id, "from-1"}, strs(recvFrames(t, r)))

		d2 := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, d2.SetIdentity(id))
		require.NoError(t, d2.Connect(r.Addr()))
		testutil.CheckFor(t, waitLimit, func() bool {
			st := r.Stats()
			return st.CloseReasons[socket.Replaced] == 1 && st.Peers == 1
		}, "second peer takes over")
		assert.Equal(t, uint64(2), r.Stats().Connected)
		assert.Zero(t, r.Stats().RefusedDuplicateID)

		sendFrames(t, r, bs(id, "to-newcomer")...)
		assert.Equal(t, []string{"to-newcomer"}, strs(zmqRecv(t, d2)))
		zmqSend(t, d2, []byte("from-2"))
		assert.Equal(t, []string{id, "from-2"}, strs(recvFrames(t, r)))
		_, err := d1.RecvMessageBytes(zmq.DONTWAIT)
		assert.True(t, isErrno(err, zmq.Errno(syscall.EAGAIN)), "the replaced peer got nothing: %v", err)
	})
}

// TestRouterAnswersLibzmqHeartbeats: a libzmq DEALER pings every 100 ms
// (ZMQ_HEARTBEAT_IVL) and, with no other traffic, drops the connection when
// a PING goes unanswered for ZMQ_HEARTBEAT_TIMEOUT. Seen through a
// recording proxy, zrouter must answer at least fifteen PINGs with PONGs,
// over more than that timeout, while the peer stays connected.
//
// The timeout is 1 s rather than libzmq's default (the interval), and the
// test does not run in parallel with the others: on a loaded 2-core
// machine under the race detector, the proxy goroutine was seen to stall
// for up to a second, and the test is about PONGs being sent, not about
// scheduling latency.
func TestRouterAnswersLibzmqHeartbeats(t *testing.T) {
	r := newRouter(t, router.WithNotify(router.NotifyConnect|router.NotifyDisconnect))
	px := newProxy(t, r.Addr())
	zctx := newContext(t)
	d := newSocket(t, zctx, zmq.DEALER)
	require.NoError(t, d.SetHeartbeatIvl(100*time.Millisecond))
	require.NoError(t, d.SetHeartbeatTimeout(time.Second))
	require.NoError(t, d.Connect(px.Endpoint()))

	up := recvFrames(t, r)
	require.Len(t, up, 2, "connect notification")
	assert.Empty(t, up[1])
	id := up[0]

	testutil.CheckFor(t, waitLimit, func() bool {
		return px.Count(true, pingPattern) >= 15 && px.Count(false, pongPattern) >= 15
	}, "fifteen PINGs from libzmq answered")

	st := r.Stats()
	assert.Equal(t, 1, st.Peers)
	assert.Equal(t, uint64(1), st.Connected, "no reconnection")
	assert.Zero(t, st.Disconnected, "no disconnection; close reasons %v", st.CloseReasons)
	// A disconnect would have queued a notification ahead of this.
	zmqSend(t, d, []byte("still-here"))
	assert.Equal(t, []string{string(id), "still-here"}, strs(recvFrames(t, r)))
}

// TestRouterHeartbeatTimeout: zrouter pings a libzmq DEALER every 100 ms
// and gives up 300 ms after an unanswered PING. libzmq answers while the
// proxy between them forwards; once the proxy silently drops everything,
// zrouter must remove the peer with reason HeartbeatTimeout.
//
// It does not run in parallel with the other tests: zrouter's 300 ms
// timeout is tight enough that the scheduling delays of the busy parallel
// phase could fail a PING before the proxy starts dropping.
func TestRouterHeartbeatTimeout(t *testing.T) {
	r := newRouter(t, router.WithNotify(router.NotifyConnect|router.NotifyDisconnect),
		socket.WithHeartbeat(socket.Heartbeat{Interval: 100 * time.Millisecond, TTL: time.Second, Timeout: 300 * time.Millisecond}))
	px := newProxy(t, r.Addr())
	zctx := newContext(t)
	d := newSocket(t, zctx, zmq.DEALER)
	require.NoError(t, d.Connect(px.Endpoint()))

	up := recvFrames(t, r)
	require.Len(t, up, 2, "connect notification")
	id := up[0]

	testutil.CheckFor(t, waitLimit, func() bool {
		return px.Count(false, pingPattern) >= 3 && px.Count(true, pongPattern) >= 3
	}, "libzmq answers zrouter's PINGs")
	st := r.Stats()
	require.Equal(t, 1, st.Peers)
	require.Zero(t, st.Disconnected, "a peer that answers PINGs stays")

	px.Drop()
	testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().Peers == 0 }, "silent peer removed")
	down := recvFrames(t, r)
	assert.Equal(t, []string{string(id), ""}, strs(down), "disconnect notification")
	st = r.Stats()
	assert.Equal(t, uint64(1), st.Disconnected)
	assert.Equal(t, uint64(1), st.CloseReasons[socket.HeartbeatTimeout], "close reasons %v", st.CloseReasons)
}
