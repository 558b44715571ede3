package interop

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sort"
	"strings"
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
	"github.com/zrouter/zrouter/zmtp"
)

// Flow control and failure handling against real libzmq peers: send and
// receive high-water marks, silent connections, mandatory routing and the
// peer limit. The helpers here (flow...) are shared by dealer_test.go,
// chaos_test.go and flow_bench_test.go; the general ones (checkFor,
// newContext, newSocket, newRouter) live in helpers_test.go and
// libzmq_test.go.

// flowDealer returns a libzmq DEALER with the given routing id, connected
// to endpoint.
func flowDealer(tb testing.TB, zctx *zmq.Context, id, endpoint string) *zmq.Socket {
	tb.Helper()
	s := newSocket(tb, zctx, zmq.DEALER)
	require.NoError(tb, s.SetIdentity(id))
	require.NoError(tb, s.Connect(endpoint))
	return s
}

// flowEcho runs a goroutine that sends every message r receives back to
// its sender. extra, if not nil, runs on that goroutine after each echo.
// The goroutine ends when the test does, before r closes if r was made
// first.
func flowEcho(tb testing.TB, r *router.Router, extra func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := r.Recv(ctx)
			if err != nil {
				return
			}
			if err := r.Send(ctx, m); err != nil {
				m.Release()
				return
			}
			if extra != nil {
				extra()
			}
		}
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
	})
}

// flowPeerStats returns the stats of the live peer with routing id id.
func flowPeerStats(peers []socket.PeerInfo, id string) (socket.PeerInfo, bool) {
	for _, ps := range peers {
		if string(ps.ID) == id {
			return ps, true
		}
	}
	return socket.PeerInfo{}, false
}

// flowIDs returns the sorted routing ids of the live peers.
func flowIDs(peers []socket.PeerInfo) []string {
	ids := make([]string, 0, len(peers))
	for _, ps := range peers {
		ids = append(ids, string(ps.ID))
	}
	sort.Strings(ids)
	return ids
}

// flowSeqMsg returns [id, body] where body is size bytes starting with seq
// as a big-endian uint64. The rest of the body is left as the pool gives it.
func flowSeqMsg(id string, seq, size int) *wire.Msg {
	m := wire.Get()
	m.AppendString(id)
	body := m.NewFrame(size)
	binary.BigEndian.PutUint64(body, uint64(seq))
	return m
}

// flowHeapInuse returns the Go heap in use after two collections, which
// also empty the sync.Pools (the first moves their contents to the victim
// cache, the second frees them).
func flowHeapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// flowIsEAGAIN reports whether err is libzmq's EAGAIN: nothing to receive
// without waiting, or a send timeout.
func flowIsEAGAIN(err error) bool {
	return err != nil && zmq.AsErrno(err) == zmq.Errno(syscall.EAGAIN)
}

// TestFlowSlowConsumer: a Router with SNDHWM 100 sends 64 KiB messages,
// round by round, to eight libzmq DEALERs that read and acknowledge every
// message and to one that never reads (RCVHWM 10, small SO_RCVBUF). The
// stalled peer costs drops at its own high-water mark and nothing else:
//   - every peer's accounting adds up: attempted == Sent + Queued + Dropped;
//   - the healthy peers get every message, in order, with no drop;
//   - the stalled peer's queue holds its high-water mark (plus the batch
//     its writer holds), and the Go heap stays within 2 × HWM × S + 8 MiB
//     whenever it is measured (after GC, every 150 rounds and at the end),
//     where an unbounded queue would grow to about 600 × 64 KiB.
//
// The healthy peers each acknowledge with the sequence number, and the
// server keeps at most four rounds unacknowledged, so that their queues
// never reach the high-water mark: any drop for them is a bug.
//
// Not parallel: it measures the process's heap.
func TestFlowSlowConsumer(t *testing.T) {
	const (
		hwm     = 100
		size    = 64 << 10
		rounds  = 600
		healthy = 8
		window  = 4
		stalled = "stalled"
		// bound is the most the heap may grow: the stalled queue (HWM
		// messages and the writer's batch, with room to spare), plus the
		// healthy peers' windows and buffers.
		bound = 2*hwm*size + 8<<20
	)
	r := newRouter(t, socket.WithSendHWM(hwm))
	zctx := newContext(t)

	st := newSocket(t, zctx, zmq.DEALER)
	require.NoError(t, st.SetRcvhwm(10))
	require.NoError(t, st.SetRcvbuf(64<<10))
	require.NoError(t, st.SetIdentity(stalled))
	require.NoError(t, st.Connect(r.Addr()))

	ids := []string{stalled}
	var readers sync.WaitGroup
	readErrs := make(chan error, healthy)
	for i := range healthy {
		id := fmt.Sprintf("healthy-%d", i)
		ids = append(ids, id)
		s := flowDealer(t, zctx, id, r.Addr())
		readers.Add(1)
		go func() {
			defer readers.Done()
			readErrs <- flowReadInOrder(s, id, rounds, size)
		}()
	}
	// Before the sockets close (cleanups run last-in first-out).
	t.Cleanup(readers.Wait)
	testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().Peers == healthy+1 }, "all peers connected")

	base := flowHeapInuse()
	var peak uint64
	measure := func() {
		if h := flowHeapInuse(); h > peak {
			peak = h
		}
	}

	ctx := context.Background()
	acked := make(map[string]int, healthy)
	minAcked := func() int {
		low := rounds
		for _, id := range ids[1:] {
			low = min(low, acked[id])
		}
		return low
	}
	recvAck := func() {
		rctx, cancel := context.WithTimeout(ctx, ioTimeout)
		defer cancel()
		m, err := r.Recv(rctx)
		require.NoError(t, err, "receive an acknowledgement (acked %v)", acked)
		defer m.Release()
		require.Len(t, m.Frames, 2, "[id, seq]")
		id := string(m.Frames[0])
		require.Len(t, m.Frames[1], 8, "acknowledgement from %s", id)
		require.Equal(t, uint64(acked[id]), binary.BigEndian.Uint64(m.Frames[1]), "acknowledgement from %s", id)
		acked[id]++
	}
	for k := range rounds {
		for _, id := range ids {
			require.NoError(t, r.Send(ctx, flowSeqMsg(id, k, size)))
		}
		for minAcked() < k+1-window {
			recvAck()
		}
		if (k+1)%150 == 0 {
			measure()
		}
	}
	for minAcked() < rounds {
		recvAck()
	}
	readers.Wait()
	close(readErrs)
	for err := range readErrs {
		require.NoError(t, err)
	}
	measure()

	// The stalled peer's writer is stuck and the others are done: the
	// counters settle, and must then add up exactly for every peer.
	var peers []socket.PeerInfo
	testutil.CheckFor(t, waitLimit, func() bool {
		peers = r.Peers()
		if len(peers) != len(ids) {
			return false
		}
		for _, ps := range peers {
			if ps.MsgsOut+uint64(ps.Queued)+ps.DroppedHWM != rounds {
				return false
			}
		}
		return true
	}, "attempted == Sent + Queued + Dropped for every peer")

	stats := r.Stats()
	for _, id := range ids[1:] {
		ps, ok := flowPeerStats(peers, id)
		require.True(t, ok, id)
		assert.Equal(t, uint64(rounds), ps.MsgsOut, "%s sent", id)
		assert.Zero(t, ps.Queued, "%s queued", id)
		assert.Zero(t, ps.DroppedHWM, "%s dropped", id)
	}
	ps, ok := flowPeerStats(peers, stalled)
	require.True(t, ok)
	t.Logf("stalled peer: sent %d, queued %d, dropped %d of %d; heap %d KiB before, peak %d KiB after GC (bound +%d KiB)",
		ps.MsgsOut, ps.Queued, ps.DroppedHWM, rounds, base>>10, peak>>10, bound>>10)
	assert.Equal(t, uint64(rounds)-ps.MsgsOut-uint64(ps.Queued), ps.DroppedHWM, "stalled peer's drops")
	assert.Positive(t, ps.DroppedHWM, "the stalled peer really stalled")
	// The queue holds HWM messages waiting, plus the batch (at most 256 KiB)
	// that the writer took and cannot write.
	assert.GreaterOrEqual(t, ps.Queued, hwm, "stalled queue at its mark")
	assert.LessOrEqual(t, ps.Queued, hwm+(256<<10)/size+1, "stalled queue at its mark")
	assert.Equal(t, ps.DroppedHWM, stats.DroppedHWM, "only the stalled peer dropped")
	assert.Zero(t, stats.Unroutable)

	growth := int64(peak) - int64(base)
	assert.LessOrEqual(t, growth, int64(bound), "heap growth %d KiB over the bound", growth>>10)
}

// flowReadInOrder receives n messages of size bytes on s, checks that they
// are numbered 0..n-1, and acknowledges each with its number.
func flowReadInOrder(s *zmq.Socket, id string, n, size int) error {
	for seq := range n {
		msg, err := s.RecvMessageBytes(0)
		if err != nil {
			return fmt.Errorf("%s: message %d: %w", id, seq, err)
		}
		if len(msg) != 1 || len(msg[0]) != size {
			return fmt.Errorf("%s: message %d: %d frames, want 1 of %d bytes", id, seq, len(msg), size)
		}
		if got := binary.BigEndian.Uint64(msg[0]); got != uint64(seq) {
			return fmt.Errorf("%s: got message %d, want %d", id, got, seq)
		}
		if _, err := s.SendBytes(msg[0][:8], 0); err != nil {
			return fmt.Errorf("%s: acknowledge %d: %w", id, seq, err)
		}
	}
	return nil
}

// flowRaiseNoFile makes sure the process may open need file descriptors,
// raising RLIMIT_NOFILE's soft limit when it is lower, and restores the
// old limit when the test ends.
func flowRaiseNoFile(t *testing.T, need uint64) {
	t.Helper()
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	if lim.Cur >= need {
		return
	}
	require.LessOrEqual(t, need, lim.Max, "RLIMIT_NOFILE hard limit too low for this test")
	old := lim
	lim.Cur = need
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim))
	t.Cleanup(func() { assert.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)) })
}

// TestFlowSilentConnections: 1000 TCP connections that never say a word
// do not keep a libzmq DEALER from being served at once, and the router
// closes each of them when its handshake timeout (2 s) expires: it sent
// the first part of its greeting (signature and major version: it waits
// for the peer's before the rest, as libzmq does), then closed.
//
// Not parallel: it needs some 2000 file descriptors.
func TestFlowSilentConnections(t *testing.T) {
	const silent = 1000
	flowRaiseNoFile(t, 2*silent+1024)
	r := newRouter(t, socket.WithHandshakeTimeout(2*time.Second))
	flowEcho(t, r, nil)
	addr := strings.TrimPrefix(r.Addr(), "tcp://")

	conns := make([]net.Conn, 0, silent)
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	for range silent {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		conns = append(conns, c)
	}

	zctx := newContext(t)
	d := flowDealer(t, zctx, "talker", r.Addr())
	_, err := d.SendMessage("through the crowd")
	require.NoError(t, err)
	got, err := d.RecvMessage(0)
	require.NoError(t, err, "echo while %d connections are silent", silent)
	assert.Equal(t, []string{"through the crowd"}, got)
	assert.Less(t, r.Stats().HandshakeFailed, uint64(silent), "the echo came before the silent connections timed out")

	testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().HandshakeFailed >= silent }, "silent connections time out")
	for i, c := range conns {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(ioTimeout)))
		b, err := io.ReadAll(c)
		require.NoError(t, err, "silent connection %d: closed by the router", i)
		// The signature alone: the major version waits for the peer's
		// signature, as libzmq's does.
		require.Equal(t, zmtp.Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}.Append(nil)[:10], b, "silent connection %d: only the greeting's first part", i)
	}
	st := r.Stats()
	assert.Equal(t, uint64(silent), st.HandshakeFailed)
	assert.Equal(t, 1, st.Peers)
	assert.Equal(t, uint64(1), st.Connected)

	// The talker is still served.
	_, err = d.SendMessage("still here")
	require.NoError(t, err)
	got, err = d.RecvMessage(0)
	require.NoError(t, err)
	assert.Equal(t, []string{"still here"}, got)
}

// TestFlowMandatory: with ZMQ_ROUTER_MANDATORY, a message for an unknown
// id is an error; a full queue makes TrySend fail with ErrWouldBlock and
// Send wait until its context ends; and a Send waiting on a peer that goes
// away returns ErrHostUnreachable instead of hanging.
func TestFlowMandatory(t *testing.T) {
	t.Parallel()

	t.Run("unknown-id", func(t *testing.T) {
		t.Parallel()
		r := newRouter(t, router.WithMandatory(true))
		zctx := newContext(t)
		d := flowDealer(t, zctx, "known", r.Addr())
		testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().Peers == 1 }, "peer connected")

		for _, send := range []func(*wire.Msg) error{
			func(m *wire.Msg) error { return r.Send(context.Background(), m) },
			r.TrySend,
		} {
			m := wire.New([]byte("unknown"), []byte("x"))
			err := send(m)
			require.ErrorIs(t, err, socket.ErrHostUnreachable)
			var ue *socket.UnroutableError
			require.True(t, errors.As(err, &ue), "want *socket.UnroutableError, got %T", err)
			assert.Equal(t, "unknown", string(ue.ID))
			assert.Equal(t, []string{"unknown", "x"}, []string{string(m.Frames[0]), string(m.Frames[1])}, "the caller keeps the message")
			m.Release()
		}

		require.NoError(t, r.SendFrames(context.Background(), []byte("known"), []byte("y")))
		got, err := d.RecvMessage(0)
		require.NoError(t, err)
		assert.Equal(t, []string{"y"}, got)
		assert.Zero(t, r.Stats().Dropped())
	})

	t.Run("full-queue", func(t *testing.T) {
		t.Parallel()
		const (
			hwm  = 4
			size = 1 << 20
			id   = "slow"
		)
		r := newRouter(t, router.WithMandatory(true), socket.WithSendHWM(hwm))
		zctx := newContext(t)
		slow := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, slow.SetRcvhwm(1))
		require.NoError(t, slow.SetRcvbuf(64<<10))
		require.NoError(t, slow.SetIdentity(id))
		require.NoError(t, slow.Connect(r.Addr()))
		testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().Peers == 1 }, "peer connected")

		// Fill until the queue stays full: TrySend refuses and the writer
		// has stopped making progress for several polls.
		pushed, lastSent, still := 0, uint64(0), 0
		testutil.CheckFor(t, waitLimit, func() bool {
			for {
				m := flowSeqMsg(id, pushed, size)
				err := r.TrySend(m)
				if err != nil {
					m.Release()
					require.ErrorIs(t, err, socket.ErrWouldBlock)
					break
				}
				pushed++
				require.Less(t, pushed, 200, "the high-water mark holds")
			}
			ps, ok := flowPeerStats(r.Peers(), id)
			require.True(t, ok)
			if ps.MsgsOut != lastSent || ps.Queued < hwm {
				lastSent, still = ps.MsgsOut, 0
				return false
			}
			still++
			return still >= 5
		}, "queue full and stuck")
		ps, _ := flowPeerStats(r.Peers(), id)
		t.Logf("pushed %d messages of %d KiB; %d written, %d queued", pushed, size>>10, ps.MsgsOut, ps.Queued)

		// Each attempt uses a message of its own, released when the send
		// fails (the caller keeps it) and owned by the router otherwise.
		try := func(send func(*wire.Msg) error) error {
			m := flowSeqMsg(id, pushed, size)
			err := send(m)
			if err != nil {
				m.Release()
			}
			return err
		}
		sendFor := func(d time.Duration) func(*wire.Msg) error {
			return func(m *wire.Msg) error {
				ctx, cancel := context.WithTimeout(context.Background(), d)
				defer cancel()
				return r.Send(ctx, m)
			}
		}
		assert.ErrorIs(t, try(r.TrySend), socket.ErrWouldBlock)
		assert.ErrorIs(t, try(sendFor(200*time.Millisecond)), context.DeadlineExceeded, "Send waits until its context ends")
		assert.ErrorIs(t, try(r.TrySend), socket.ErrWouldBlock, "still full")

		// Send waits; the peer leaves; Send returns. (internal/core's
		// tests check on a fake clock that it waits until then.)
		res := make(chan error, 1)
		go func() { res <- try(sendFor(2 * waitLimit)) }()
		require.NoError(t, slow.Close())
		select {
		case err := <-res:
			assert.ErrorIs(t, err, socket.ErrHostUnreachable, "Send to a peer that left")
		case <-time.After(waitLimit):
			require.FailNow(t, "Send still waits after the peer left")
		}
		testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().Peers == 0 }, "the peer leaves the table")
		assert.Zero(t, r.Stats().DroppedHWM, "mandatory mode never drops at the mark")
		assert.ErrorIs(t, try(r.TrySend), socket.ErrHostUnreachable)
	})
}

// TestFlowPushback: with RCVHWM 10 and nobody calling Recv, a libzmq DEALER
// pushing 100,000 messages gets no further than the mark plus one read
// batch into the router; TCP holds the rest back. Recv then drains every
// message, in order.
func TestFlowPushback(t *testing.T) {
	t.Parallel()
	const (
		total = 100_000
		id    = "pusher"
	)
	r := newRouter(t, socket.WithRecvHWM(10))
	zctx := newContext(t)
	d := newSocket(t, zctx, zmq.DEALER)
	require.NoError(t, d.SetIdentity(id))
	require.NoError(t, d.SetSndtimeo(2*waitLimit))
	require.NoError(t, d.Connect(r.Addr()))

	var sent atomic.Int64
	sendErr := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		buf := make([]byte, 64)
		for i := range total {
			binary.BigEndian.PutUint64(buf, uint64(i))
			if _, err := d.SendBytes(buf, 0); err != nil {
				sendErr <- fmt.Errorf("send %d: %w", i, err)
				return
			}
			sent.Add(1)
		}
		sendErr <- nil
	}()
	t.Cleanup(func() { <-finished }) // before the socket closes

	testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().MsgsIn >= 10 }, "the first messages arrive")
	// The DEALER gets tens of thousands of messages into its queue and the
	// kernel's buffers: by the time it has sent 20,000, the router has
	// still taken in no more than its mark plus one read batch.
	testutil.CheckFor(t, waitLimit, func() bool { return sent.Load() >= 20_000 }, "the DEALER sends far past the mark")
	in := r.Stats().MsgsIn
	assert.LessOrEqual(t, in, uint64(10+128), "messages taken in without Recv")
	t.Logf("without Recv: %d messages taken in; the DEALER had sent %d", in, sent.Load())

	ctx, cancel := context.WithTimeout(context.Background(), 2*waitLimit)
	defer cancel()
	for i := range total {
		m, err := r.Recv(ctx)
		require.NoError(t, err, "message %d", i)
		if len(m.Frames) != 2 || string(m.Frames[0]) != id || len(m.Frames[1]) != 64 ||
			binary.BigEndian.Uint64(m.Frames[1]) != uint64(i) {
			require.FailNow(t, "out of order", "message %d: %q", i, m.Frames)
		}
		m.Release()
	}
	require.NoError(t, <-sendErr)
	assert.Equal(t, uint64(total), r.Stats().MsgsIn)
}

// TestFlowMaxPeers: with WithMaxPeers(5), a sixth libzmq DEALER is refused
// while the five are served; when one of them leaves, the sixth gets in on
// its next reconnect.
func TestFlowMaxPeers(t *testing.T) {
	t.Parallel()
	const limit = 5
	r := newRouter(t, socket.WithMaxPeers(limit))
	flowEcho(t, r, nil)
	zctx := newContext(t)

	members := make([]*zmq.Socket, limit)
	var want []string
	for i := range members {
		id := fmt.Sprintf("member-%d", i)
		want = append(want, id)
		members[i] = flowDealer(t, zctx, id, r.Addr())
	}
	testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().Peers == limit }, "five peers connected")

	extra := newSocket(t, zctx, zmq.DEALER)
	require.NoError(t, extra.SetIdentity("extra"))
	require.NoError(t, extra.SetReconnectIvl(20*time.Millisecond))
	require.NoError(t, extra.Connect(r.Addr()))
	testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().RefusedMaxPeers >= 1 }, "the sixth peer refused")

	for i, s := range members {
		msg := fmt.Sprintf("hello from %d", i)
		_, err := s.SendMessage(msg)
		require.NoError(t, err)
		got, err := s.RecvMessage(0)
		require.NoError(t, err, "member %d served", i)
		assert.Equal(t, []string{msg}, got)
	}
	st := r.Stats()
	assert.Equal(t, limit, st.Peers)
	assert.Equal(t, want, flowIDs(r.Peers()))

	// One member leaves; the sixth takes its place.
	require.NoError(t, members[0].Close())
	testutil.CheckFor(t, waitLimit, func() bool {
		_, in := flowPeerStats(r.Peers(), "extra")
		return in
	}, "the sixth peer admitted once there is room")
	_, err := extra.SendMessage("finally")
	require.NoError(t, err)
	got, err := extra.RecvMessage(0)
	require.NoError(t, err)
	assert.Equal(t, []string{"finally"}, got)
	st = r.Stats()
	assert.Equal(t, limit, st.Peers)
	assert.Equal(t, append([]string{"extra"}, want[1:]...), flowIDs(r.Peers()))
	assert.Equal(t, uint64(limit+1), st.Connected)
}
