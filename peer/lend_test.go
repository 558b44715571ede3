package peer

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// lendOf returns the peer whose reading h's inbox has on loan, and where
// that reading is.
func lendOf(h *harness) (*Peer, int) {
	h.in.mu.Lock()
	defer h.in.mu.Unlock()
	if h.in.lender == nil {
		return nil, lendNone
	}
	return h.in.lender, h.in.lender.lend.state
}

// send writes a one-frame message from the remote side.
func (h *harness) send(t *testing.T, body string) {
	t.Helper()
	_, err := h.remote.Write(zmtp.AppendMessage(nil, [][]byte{[]byte(body)}))
	require.NoError(t, err)
}

// recvBody receives one message and returns its one frame.
func recvBody(t *testing.T, in *Inbox) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := in.Recv(ctx)
	require.NoError(t, err)
	defer m.Release()
	require.Len(t, m.Frames, 1)
	return string(m.Frames[0])
}

// lent exchanges messages until the peer's reading is lent to the inbox
// (a receiver waited when the reader needed the network) and returns how
// many it exchanged.
func lent(t *testing.T, h *harness) int {
	t.Helper()
	for i := range 1000 {
		got := make(chan string, 1)
		go func() {
			m, err := h.in.Recv(context.Background())
			if err != nil {
				got <- err.Error()
				return
			}
			got <- string(m.Frames[0])
			m.Release()
		}()
		waitFor(t, func() bool { h.in.mu.Lock(); defer h.in.mu.Unlock(); return h.in.waiters > 0 || h.in.lender != nil })
		h.send(t, fmt.Sprint("warm-", i))
		require.Equal(t, fmt.Sprint("warm-", i), <-got)
		if l, _ := lendOf(h); l == h.p {
			return i + 1
		}
	}
	t.Fatal("the reading was never lent")
	return 0
}

// borrowedRecv starts a Recv once the reading is lent, waits until that
// receiver reads the connection itself, and returns where its message
// comes.
func borrowedRecv(t *testing.T, h *harness, ctx context.Context) <-chan *wire.Msg {
	t.Helper()
	lent(t, h)
	got := make(chan *wire.Msg, 1)
	go func() {
		m, err := h.in.Recv(ctx)
		if err != nil {
			m = wire.New([]byte(err.Error()))
		}
		got <- m
	}()
	waitFor(t, func() bool { _, st := lendOf(h); return st == lendReading })
	return got
}

// noTicks makes the parked reader look at a lent reading only when told,
// so that what a test sees comes from the lending itself, not from a tick
// that takes the reading back. It is called before the peer starts.
func noTicks(t *testing.T) {
	old := lendTick
	lendTick = time.Hour
	t.Cleanup(func() { lendTick = old })
}

// within waits for got's message, failing the test after a long while.
func within(t *testing.T, got <-chan *wire.Msg) *wire.Msg {
	t.Helper()
	select {
	case m := <-got:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("the receiver got nothing")
		return nil
	}
}

// waitFor waits until cond holds, failing the test after a long while; in
// a synctest bubble the while is the bubble's.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("the condition never held")
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func body(m *wire.Msg) string {
	defer m.Release()
	return string(bytes.Join(m.Frames, []byte("|")))
}

// TestLendRequestReply: in a request-reply exchange the receiver comes to
// read the connection itself, and every request arrives, in order, once.
func TestLendRequestReply(t *testing.T) {
	noTicks(t)
	h := startPeer(t, Config{}, -1, nil)
	warm := lent(t, h)
	const n = 300
	for i := range n {
		h.send(t, fmt.Sprint("req-", i))
		require.Equal(t, fmt.Sprint("req-", i), recvBody(t, h.in))
		require.True(t, h.p.WriteNow(wire.New([]byte("id"), []byte(fmt.Sprint("rep-", i)))))
		require.Equal(t, [][]byte{[]byte(fmt.Sprint("rep-", i))}, h.readMsg(t))
	}
	l, _ := lendOf(h)
	assert.Same(t, h.p, l, "the reading is still lent after the exchange")
	assert.Equal(t, uint64(warm+n), h.p.src.Received())
}

// TestLendInterruptedByAnotherSource: a message from elsewhere reaches a
// receiver that waits in a borrowed read, and the connection reads on
// afterwards: the interrupting deadline is gone.
func TestLendInterruptedByAnotherSource(t *testing.T) {
	noTicks(t)
	h := startPeer(t, Config{}, -1, nil)
	got := borrowedRecv(t, h, context.Background())
	other := h.in.NewSource(10, nil)
	require.NoError(t, other.Push([]*wire.Msg{wire.New([]byte("other"))}, 5, nil))
	assert.Equal(t, "other", body(within(t, got)))
	h.send(t, "after")
	assert.Equal(t, "after", recvBody(t, h.in))
	h.send(t, "and on")
	assert.Equal(t, "and on", recvBody(t, h.in))
}

// TestLendContextEnds: a receiver whose context ends in a borrowed read
// returns its error, and the next receiver gets the connection's messages.
func TestLendContextEnds(t *testing.T) {
	noTicks(t)
	h := startPeer(t, Config{}, -1, nil)
	ctx, cancel := context.WithCancel(context.Background())
	got := borrowedRecv(t, h, ctx)
	cancel()
	assert.Equal(t, context.Canceled.Error(), body(within(t, got)))
	h.send(t, "after")
	assert.Equal(t, "after", recvBody(t, h.in))
}

// TestLendReclaimedWhenUnused: once the application stops receiving, the
// reader takes its reading back: PINGs are answered and messages queue in
// the inbox.
func TestLendReclaimedWhenUnused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startPipePeer(t, Config{})
		lent(t, h)
		time.Sleep(lendTick / 2)
		synctest.Wait()
		l, _ := lendOf(h)
		require.Same(t, h.p, l, "within a tick the reading is still lent")
		time.Sleep(2 * lendTick)
		synctest.Wait()
		l, _ = lendOf(h)
		require.Nil(t, l, "two ticks unused: the reader has it back")

		ping := zmtp.AppendCommand(nil, &zmtp.Ping{Context: []byte("still there?")})
		go func() { _, _ = h.remote.Write(ping) }()
		assert.Equal(t, &zmtp.Pong{Context: []byte("still there?")}, h.readCommand(t))
		for i := range 3 {
			h.send(t, fmt.Sprint("queued-", i))
		}
		synctest.Wait()
		assert.Equal(t, 3, h.p.src.Len(), "the reader queues what arrives")
		for i := range 3 {
			assert.Equal(t, fmt.Sprint("queued-", i), recvBody(t, h.in))
		}
	})
}

// TestLendIdleReadGoesBack: a receiver that waits long in a borrowed read
// of an idle connection gives it back to the reader and waits in the inbox,
// which still gets the next message.
func TestLendIdleReadGoesBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startPipePeer(t, Config{})
		got := borrowedRecv(t, h, context.Background())
		time.Sleep(2 * lendTick)
		synctest.Wait()
		_, st := lendOf(h)
		require.Equal(t, lendReading, st, "two ticks into the read, the receiver still reads")
		time.Sleep((lendStale + 2) * lendTick)
		synctest.Wait()
		h.in.mu.Lock()
		lender, waiters := h.in.lender, h.in.waiters
		h.in.mu.Unlock()
		require.Nil(t, lender, "the reader has the reading back")
		require.Equal(t, 1, waiters, "the receiver waits in the inbox")
		go h.send(t, "late")
		assert.Equal(t, "late", body(<-got))
	})
}

// TestLendLargeFrameGoesBack: a frame too large for the buffer goes to the
// reader, and arrives whole, as does what follows.
func TestLendLargeFrameGoesBack(t *testing.T) {
	noTicks(t)
	h := startPeer(t, Config{}, -1, nil)
	got := borrowedRecv(t, h, context.Background())
	big := make([]byte, 200<<10)
	for i := range big {
		big[i] = byte(i * 13)
	}
	_, err := h.remote.Write(zmtp.AppendMessage(zmtp.AppendMessage(nil, [][]byte{[]byte("head"), big}), [][]byte{[]byte("small")}))
	require.NoError(t, err)
	m := within(t, got)
	require.Len(t, m.Frames, 2)
	assert.Equal(t, "head", string(m.Frames[0]))
	assert.True(t, bytes.Equal(big, m.Frames[1]), "the large frame arrives intact")
	m.Release()
	assert.Equal(t, "small", recvBody(t, h.in))
}

// TestLendPeerGoneWhileBorrowed: the connection ends under a borrowed read;
// the peer exits and the receiver waits on in the inbox until it closes.
func TestLendPeerGoneWhileBorrowed(t *testing.T) {
	noTicks(t)
	h := startPeer(t, Config{}, -1, nil)
	got := borrowedRecv(t, h, context.Background())
	require.NoError(t, h.remote.Close())
	<-h.exited
	l, _ := lendOf(h)
	assert.Nil(t, l)
	h.in.Close()
	assert.Equal(t, net.ErrClosed.Error(), body(within(t, got)))
}

// TestLendManyReceivers: receivers that share an inbox get every message
// of the connection exactly once, lent or not.
func TestLendManyReceivers(t *testing.T) {
	h := startPeer(t, Config{}, -1, nil)
	const n, workers = 400, 4
	var wg sync.WaitGroup
	seen := make(chan string, n)
	for range workers {
		wg.Go(func() {
			for {
				m, err := h.in.Recv(context.Background())
				if err != nil {
					return
				}
				s := string(m.Frames[0])
				seen <- s
				if !h.p.WriteNow(wire.New([]byte("id"), m.Frames[0])) {
					require.NoError(t, h.q.Push(wire.New([]byte("id"), []byte(s))))
				}
				m.Release()
			}
		})
	}
	for i := range n {
		h.send(t, fmt.Sprint(i))
		require.Equal(t, [][]byte{[]byte(fmt.Sprint(i))}, h.readMsg(t))
	}
	h.in.Close()
	wg.Wait()
	close(seen)
	count := map[string]int{}
	for s := range seen {
		count[s]++
	}
	require.Len(t, count, n)
	for s, c := range count {
		require.Equal(t, 1, c, "message %s", s)
	}
}

// TestLendPollKeepsTheReading: a TryRecv that finds nothing buffered
// leaves the reading lent (a REQ before its request, a proxy batching
// after its Recv), and does not count as a use: a receiver that only polls
// gets the reader back at the next tick, and sees what arrives.
func TestLendPollKeepsTheReading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startPipePeer(t, Config{})
		lent(t, h)
		sent := make(chan struct{})
		go func() { h.send(t, "polled"); close(sent) }()
		var m *wire.Msg
		for polls := 0; m == nil; polls++ {
			require.Less(t, polls, 10, "ten polls a tick apart")
			time.Sleep(lendTick)
			m = h.in.TryRecv()
		}
		<-sent
		assert.Equal(t, "polled", body(m))
		l, _ := lendOf(h)
		assert.Nil(t, l, "the reader took the reading back from the poller")
	})
}

// TestLendTryRecvStaysLent: without ticks, a TryRecv leaves the reading
// lent, and a TryRecv that finds a message buffered whole takes it.
func TestLendTryRecvStaysLent(t *testing.T) {
	noTicks(t)
	h := startPeer(t, Config{}, -1, nil)
	lent(t, h)
	assert.Nil(t, h.in.TryRecv())
	l, st := lendOf(h)
	assert.Same(t, h.p, l)
	assert.Equal(t, lendIdle, st)
	// Two messages in one segment: the borrowed read takes both, returns
	// the first, and the second waits in the buffer for a TryRecv.
	_, err := h.remote.Write(zmtp.AppendMessage(zmtp.AppendMessage(nil, [][]byte{[]byte("one")}), [][]byte{[]byte("two")}))
	require.NoError(t, err)
	assert.Equal(t, "one", recvBody(t, h.in))
	m := h.in.TryRecv()
	require.NotNil(t, m, "the message buffered whole")
	assert.Equal(t, "two", body(m))
}
