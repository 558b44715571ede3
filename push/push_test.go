package push_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/pull"
	"github.com/zrouter/zrouter/push"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

const waitFor = 10 * time.Second

var noLinger = socket.WithLinger(0)

func newPush(t *testing.T, opts ...socket.Option) *push.Push {
	t.Helper()
	p, err := push.New(append([]socket.Option{noLinger}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	return p
}

func newPull(t *testing.T, opts ...socket.Option) *pull.Pull {
	t.Helper()
	p, err := pull.New(append([]socket.Option{noLinger}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	return p
}

func recvString(t *testing.T, ctx context.Context, p *pull.Pull) string {
	t.Helper()
	m, err := p.Recv(ctx)
	require.NoError(t, err)
	defer m.Release()
	require.Len(t, m.Frames, 1)
	return string(m.Frames[0])
}

// reservePort returns an endpoint on a free loopback port with nothing
// listening on it.
func reservePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return "tcp://" + addr
}

func TestTypes(t *testing.T) {
	p := newPush(t)
	q := newPull(t)
	assert.Equal(t, "PUSH", p.Type())
	assert.Equal(t, "PULL", q.Type())
}

func TestPushCannotRecv(t *testing.T) {
	p := newPush(t)
	_, err := p.Recv(context.Background())
	require.ErrorIs(t, err, errors.ErrUnsupported)
	_, err = p.TryRecv()
	require.ErrorIs(t, err, errors.ErrUnsupported)
}

func TestPullCannotSend(t *testing.T) {
	q := newPull(t)
	require.ErrorIs(t, q.SendFrames(context.Background(), []byte("x")), errors.ErrUnsupported)
	m := wire.New([]byte("x"))
	defer m.Release()
	require.ErrorIs(t, q.TrySend(m), errors.ErrUnsupported)
}

// TestRoundRobinOut ports test_spec_pushpull's push_round_robin_out: a bound
// PUSH with five PULL peers sends 2N messages, and each peer gets one of
// each half, in order.
func TestRoundRobinOut(t *testing.T) { testutil.ForEachSocketTransport(t, testRoundRobinOut) }

func testRoundRobinOut(t *testing.T, transport string) {
	ctx := testutil.Context(t, waitFor)
	p := newPush(t)
	require.NoError(t, p.Bind(testutil.Endpoint(t, transport)))
	const n = 5
	pulls := make([]*pull.Pull, n)
	for i := range pulls {
		pulls[i] = newPull(t)
		require.NoError(t, pulls[i].Connect(p.Addr()))
	}
	require.NoError(t, p.WaitPeers(ctx, n))
	for range n {
		require.NoError(t, p.SendFrames(ctx, []byte("ABC")))
	}
	for range n {
		require.NoError(t, p.SendFrames(ctx, []byte("DEF")))
	}
	for _, q := range pulls {
		assert.Equal(t, "ABC", recvString(t, ctx, q))
		assert.Equal(t, "DEF", recvString(t, ctx, q))
	}
}

// TestRoundRobinOverPeersWithRoom: a pipe that is full is passed over, and
// the others take its turns; nothing waits while one has room.
func TestRoundRobinOverPeersWithRoom(t *testing.T) {
	ctx := testutil.Context(t, waitFor)
	p := newPush(t, socket.WithSendHWM(2))
	// A Connect's pipe exists at once; with nothing listening it never
	// drains, so it is full after two messages.
	require.NoError(t, p.Connect(reservePort(t)))
	q := newPull(t)
	require.NoError(t, q.Bind("tcp://127.0.0.1:0"))
	require.NoError(t, p.Connect(q.Addr()))
	require.NoError(t, p.WaitPeers(ctx, 1))

	const n = 20
	got := make(chan string, n)
	go func() {
		for range n - 2 {
			m, err := q.Recv(ctx)
			if err != nil {
				return
			}
			got <- string(m.Frames[0])
			m.Release()
		}
		close(got)
	}()
	for i := range n {
		require.NoError(t, p.SendFrames(ctx, []byte(strconv.Itoa(i))))
	}
	var seq []int
	for s := range got {
		i, err := strconv.Atoi(s)
		require.NoError(t, err)
		seq = append(seq, i)
	}
	require.Len(t, seq, n-2)
	for i := 1; i < len(seq); i++ {
		require.Less(t, seq[i-1], seq[i], "order kept on the live pipe")
	}
	// The live pipe's writer counts its last write once it returns, which
	// may be after the PULL has read it: wait for that.
	testutil.CheckFor(t, waitFor, func() bool { return p.Stats().Queued == 2 }, "the dead pipe holds its two")
	assert.Zero(t, p.Stats().Dropped())
}

// TestBlockOnSendNoPeers ports push_block_on_send_no_peers: with no peer,
// TrySend reports ErrWouldBlock and Send waits until its context ends.
func TestBlockOnSendNoPeers(t *testing.T) {
	p := newPush(t)
	m := wire.New([]byte("x"))
	defer m.Release()
	require.ErrorIs(t, p.TrySend(m), socket.ErrWouldBlock)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Send(ctx, m) }()
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
}

// TestBlockWhenAllFull: with every pipe full Send waits, and goes on as soon
// as a peer makes room.
func TestBlockWhenAllFull(t *testing.T) {
	ctx := testutil.Context(t, waitFor)
	ep := reservePort(t)
	p := newPush(t, socket.WithSendHWM(3), socket.WithReconnectInterval(10*time.Millisecond))
	require.NoError(t, p.Connect(ep))
	for i := range 3 {
		require.NoError(t, p.TrySend(wire.New([]byte(strconv.Itoa(i)))))
	}
	m := wire.New([]byte("3"))
	require.ErrorIs(t, p.TrySend(m), socket.ErrWouldBlock)
	errc := make(chan error, 1)
	go func() { errc <- p.Send(ctx, m) }()

	q := newPull(t)
	require.NoError(t, q.Bind(ep))
	for i := range 4 {
		assert.Equal(t, strconv.Itoa(i), recvString(t, ctx, q))
	}
	require.NoError(t, <-errc)
}

// TestFairQueueIn ports pull_fair_queue_in: five PUSH peers send two
// messages each; once all ten are in, the PULL returns one from each peer
// before the second from any.
func TestFairQueueIn(t *testing.T) { testutil.ForEachSocketTransport(t, testFairQueueIn) }

func testFairQueueIn(t *testing.T, transport string) {
	ctx := testutil.Context(t, waitFor)
	q := newPull(t)
	require.NoError(t, q.Bind(testutil.Endpoint(t, transport)))
	const n = 5
	for i := range n {
		p := newPush(t)
		require.NoError(t, p.Connect(q.Addr()))
		require.NoError(t, p.SendFrames(ctx, []byte{'A' + byte(i)}))
		require.NoError(t, p.SendFrames(ctx, []byte{'A' + n + byte(i)}))
	}
	testutil.CheckFor(t, waitFor, func() bool { return q.Stats().MsgsIn == 2*n }, "all arrived")
	first, second := map[string]bool{}, map[string]bool{}
	for range n {
		first[recvString(t, ctx, q)] = true
	}
	for range n {
		second[recvString(t, ctx, q)] = true
	}
	assert.Equal(t, map[string]bool{"A": true, "B": true, "C": true, "D": true, "E": true}, first)
	assert.Equal(t, map[string]bool{"F": true, "G": true, "H": true, "I": true, "J": true}, second)
}

// TestDestroyQueueOnDisconnect ports destroy_queue_on_disconnect: when a
// PULL disconnects, the PUSH drops the queue of its pipe, and the PULL what
// it had received and not read; after reconnecting, only new messages
// arrive.
func TestDestroyQueueOnDisconnect(t *testing.T) {
	ctx := testutil.Context(t, waitFor)
	p := newPush(t, socket.WithSendHWM(1))
	require.NoError(t, p.Bind("tcp://127.0.0.1:0"))
	q := newPull(t, socket.WithRecvHWM(1))
	require.NoError(t, q.Connect(p.Addr()))
	require.NoError(t, p.WaitPeers(ctx, 1))

	// Large messages fill the socket buffers in a few sends, so that both
	// queues are full and the PUSH would have to wait.
	big := make([]byte, 1<<20)
	sent := 0
	for {
		m := wire.New([]byte("old"), big)
		if err := p.TrySend(m); err != nil {
			m.Release()
			require.ErrorIs(t, err, socket.ErrWouldBlock)
			break
		}
		sent++
	}
	testutil.CheckFor(t, waitFor, func() bool { return q.Stats().MsgsIn >= 1 }, "one arrived")

	require.NoError(t, q.Disconnect(p.Addr()))
	testutil.CheckFor(t, waitFor, func() bool { return p.Stats().Pipes == 0 }, "the PUSH's pipe went")
	_, err := q.TryRecv()
	require.ErrorIs(t, err, socket.ErrWouldBlock, "what was not read is dropped")
	m := wire.New([]byte("x"))
	defer m.Release()
	require.ErrorIs(t, p.TrySend(m), socket.ErrWouldBlock, "no peer")
	// Each one was written, or dropped with its pipe.
	s := p.Stats()
	assert.Equal(t, uint64(sent), s.MsgsOut+s.DroppedClosed, "%+v", s)

	require.NoError(t, q.Connect(p.Addr()))
	require.NoError(t, p.WaitPeers(ctx, 1))
	require.NoError(t, p.SendFrames(ctx, []byte("ABC")))
	require.NoError(t, p.SendFrames(ctx, []byte("DEF")))
	assert.Equal(t, "ABC", recvString(t, ctx, q))
	assert.Equal(t, "DEF", recvString(t, ctx, q))
	assert.Positive(t, sent)
}

// TestMultipartAtomic: a multipart message arrives whole or not at all,
// across a disconnect in the middle of a stream of large ones.
func TestMultipartAtomic(t *testing.T) { testutil.ForEachSocketTransport(t, testMultipartAtomic) }

func testMultipartAtomic(t *testing.T, transport string) {
	ctx := testutil.Context(t, waitFor)
	p := newPush(t, socket.WithSendHWM(1))
	require.NoError(t, p.Bind(testutil.Endpoint(t, transport)))
	q := newPull(t, socket.WithRecvHWM(1))
	require.NoError(t, q.Connect(p.Addr()))
	require.NoError(t, p.WaitPeers(ctx, 1))
	big := make([]byte, 4<<20)
	send := func(tag string) {
		for i := range big {
			big[i] = tag[0]
		}
		require.NoError(t, p.SendFrames(ctx, []byte(tag), []byte(tag), big))
	}
	check := func(m *wire.Msg) string {
		defer m.Release()
		require.Len(t, m.Frames, 3)
		tag := string(m.Frames[0])
		require.Equal(t, tag, string(m.Frames[1]))
		require.Len(t, m.Frames[2], len(big))
		require.Equal(t, tag[0], m.Frames[2][0])
		require.Equal(t, tag[0], m.Frames[2][len(big)-1])
		return tag
	}
	send("0")
	m, err := q.Recv(ctx)
	require.NoError(t, err)
	require.Equal(t, "0", check(m))

	mon := p.Monitor(16)
	defer mon.Stop()
	send("1")
	send("2")
	require.NoError(t, q.Disconnect(p.Addr()))
	require.NoError(t, q.Connect(p.Addr()))
	// Until the PUSH sees the old connection go, its round robin may put
	// a message in that pipe, which dies with it: wait, so that the last
	// message, which ends the test, goes to the new one.
	for gone := false; !gone; {
		select {
		case ev := <-mon.C:
			gone = ev.Kind == socket.EventDisconnected
		case <-ctx.Done():
			t.Fatal("the PUSH saw no disconnect")
		}
	}
	send("3")
	send("5")
	for {
		m, err := q.Recv(ctx)
		require.NoError(t, err)
		if check(m) == "5" {
			break
		}
	}
}

// rawPull dials ep and completes the handshake as a PULL.
func rawPull(t *testing.T, ep string) (net.Conn, *zmtp.Session) {
	t.Helper()
	c, err := net.Dial("tcp", ep[len("tcp://"):])
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	sess, err := zmtp.Handshake(c, &zmtp.Config{SocketType: zmtp.PULL, Timeout: waitFor, MaxSize: -1})
	require.NoError(t, err)
	return c, sess
}

// TestDropsWhatPeerSends: a peer that sends to a PUSH anyway (here a raw
// ZMTP PULL) has its messages read and dropped, counted in DroppedIn, and
// the connection goes on carrying the PUSH's messages.
func TestDropsWhatPeerSends(t *testing.T) {
	ctx := testutil.Context(t, waitFor)
	p := newPush(t, socket.WithRecvHWM(1))
	require.NoError(t, p.Bind("tcp://127.0.0.1:0"))
	c, sess := rawPull(t, p.Addr())
	// Far more than the receive high-water mark and the socket buffers:
	// the PUSH must keep reading.
	const n = 5000
	chunk := make([]byte, 1024)
	var buf []byte
	for range n {
		buf = zmtp.AppendMessage(buf, [][]byte{chunk})
	}
	require.NoError(t, c.SetWriteDeadline(time.Now().Add(waitFor)))
	_, err := c.Write(buf)
	require.NoError(t, err)
	testutil.CheckFor(t, waitFor, func() bool { return p.Stats().DroppedIn == n }, "all read and dropped")
	s := p.Stats()
	assert.EqualValues(t, n, s.MsgsIn)
	assert.EqualValues(t, n, s.Dropped())

	require.NoError(t, p.SendFrames(ctx, []byte("work")))
	require.NoError(t, c.SetReadDeadline(time.Now().Add(waitFor)))
	m := wire.Get()
	defer m.Release()
	for {
		f, err := sess.Reader.ReadFrame(m)
		require.NoError(t, err)
		if f.Command == nil && !f.More {
			break
		}
	}
	require.Equal(t, [][]byte{[]byte("work")}, m.Frames)
}

func TestEmptyMessageDropped(t *testing.T) {
	p := newPush(t)
	require.NoError(t, p.Connect(reservePort(t)))
	require.NoError(t, p.TrySend(wire.Get()))
	assert.EqualValues(t, 1, p.Stats().DroppedEmpty)
	assert.Zero(t, p.Stats().Queued)
}

func TestCloseUnblocks(t *testing.T) {
	p, err := push.New(noLinger)
	require.NoError(t, err)
	q, err := pull.New(noLinger)
	require.NoError(t, err)
	require.NoError(t, q.Bind("tcp://127.0.0.1:0"))
	sendErr := make(chan error, 1)
	go func() { sendErr <- p.SendFrames(context.Background(), []byte("waits")) }()
	recvErr := make(chan error, 1)
	go func() {
		_, err := q.Recv(context.Background())
		recvErr <- err
	}()
	require.NoError(t, p.Close())
	require.NoError(t, q.Close())
	require.ErrorIs(t, <-sendErr, net.ErrClosed)
	require.ErrorIs(t, <-recvErr, net.ErrClosed)
}
