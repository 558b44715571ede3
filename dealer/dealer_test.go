package dealer_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/zrouter/zrouter/internal/msgmeta"

	"github.com/zrouter/zrouter/socket"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

const (
	waitFor = 10 * time.Second
	tick    = 5 * time.Millisecond
)

// testCtx returns a context that ends with the test or after waitFor.
func testCtx(t *testing.T) context.Context { return testutil.Context(t, waitFor) }

// noLinger comes first in the options of the tests' sockets: they drop what
// is queued at Close, as a test that does not test linger wants, unless a
// later option says otherwise.
var noLinger = socket.WithLinger(0)

func newDealer(t *testing.T, opts ...socket.Option) *dealer.Dealer {
	t.Helper()
	d, err := dealer.New(append([]socket.Option{noLinger}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, d.Close()) })
	return d
}

// newRouter binds a Router on endpoint and closes it when the test ends.
func newRouter(t *testing.T, endpoint string, opts ...socket.Option) *router.Router {
	t.Helper()
	r, err := router.New(append([]socket.Option{noLinger}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, r.Close()) })
	require.NoError(t, r.Bind(endpoint))
	return r
}

// echo sends every message r receives back to its sender, until r closes.
// The returned function closes r and waits for the loop to end.
func echo(t *testing.T, r *router.Router) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := r.Recv(context.Background())
			if err != nil {
				return
			}
			if r.Send(context.Background(), m) != nil {
				m.Release()
			}
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			assert.NoError(t, r.Close())
			<-done
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitConnected waits until d and r both have their connection up. Replies
// from r can only be routed once r has admitted d.
func waitConnected(t *testing.T, d *dealer.Dealer, r *router.Router) {
	t.Helper()
	testutil.CheckFor(t, 10*time.Second, func() bool { return d.Stats().Peers == 1 && r.Stats().Peers == 1 }, "connected")
}

// echoPair starts a Router that echoes, and a Dealer connected to it.
func echoPair(t *testing.T) (*router.Router, *dealer.Dealer) {
	t.Helper()
	return echoPairOn(t, "tcp://127.0.0.1:0")
}

// echoPairOn is echoPair with the Router bound to endpoint.
func echoPairOn(t *testing.T, endpoint string) (*router.Router, *dealer.Dealer) {
	t.Helper()
	r := newRouter(t, endpoint)
	echo(t, r)
	d := newDealer(t)
	require.NoError(t, d.Connect(r.Addr()))
	waitConnected(t, d, r)
	return r, d
}

func recvFrames(t *testing.T, ctx context.Context, d *dealer.Dealer) [][]byte {
	t.Helper()
	m, err := d.Recv(ctx)
	require.NoError(t, err)
	defer m.Release()
	out := make([][]byte, len(m.Frames))
	for i, f := range m.Frames {
		out[i] = append([]byte{}, f...)
	}
	return out
}

func TestNewOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    []socket.Option
		wantErr error
	}{
		{"defaults", nil, nil},
		{"routing id", []socket.Option{socket.WithRoutingID([]byte("me"))}, nil},
		{"empty routing id", []socket.Option{socket.WithRoutingID([]byte{})}, socket.ErrBadRoutingID},
		{"zero-led routing id", []socket.Option{socket.WithRoutingID([]byte{0, 1})}, socket.ErrBadRoutingID},
		{"long routing id", []socket.Option{socket.WithRoutingID(make([]byte, 256))}, socket.ErrBadRoutingID},
		{"negative hwm", []socket.Option{socket.WithSendHWM(-1)}, socket.ErrBadOption},
		{"router option", []socket.Option{router.WithMandatory(true)}, socket.ErrBadOption},
		{"connect option", []socket.Option{router.ConnectRoutingID([]byte("x"))}, socket.ErrBadOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := dealer.New(tt.opts...)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.NoError(t, d.Close())
		})
	}
}

func TestBadEndpoint(t *testing.T) {
	d := newDealer(t)
	require.Error(t, d.Bind("udp://127.0.0.1:0"))
	require.Error(t, d.Connect("tcp://127.0.0.1"))
	require.Equal(t, "", d.Addr())
}

func TestRequestReplyWithRouter(t *testing.T) {
	testutil.ForEachSocketTransport(t, testRequestReplyWithRouter)
}

func testRequestReplyWithRouter(t *testing.T, transport string) {
	ctx := testCtx(t)
	_, d := echoPairOn(t, testutil.Endpoint(t, transport))

	// Order per peer is kept.
	const n = 500
	for i := range n {
		require.NoError(t, d.SendFrames(ctx, []byte(strconv.Itoa(i))))
	}
	for i := range n {
		require.Equal(t, [][]byte{[]byte(strconv.Itoa(i))}, recvFrames(t, ctx, d))
	}
	testutil.CheckFor(t, 10*time.Second, func() bool {
		s := d.Stats()
		return s.Peers == 1 && s.Pipes == 1 && s.MsgsOut == n && s.MsgsIn == n && s.Dropped() == 0
	}, "counters")
}

// TestPingPongWritesDirectly bounces one message between a dealer and an
// echoing router: each side sends back the message it just received, with
// nothing else waiting, so both write it from Send's goroutine.
func TestPingPongWritesDirectly(t *testing.T) {
	ctx := testCtx(t)
	r, d := echoPair(t)

	const n = 200
	require.NoError(t, d.SendFrames(ctx, []byte{0, 0, 0, 0}, []byte("ball")))
	for i := range uint32(n) {
		m, err := d.Recv(ctx)
		require.NoError(t, err)
		require.Len(t, m.Frames, 2)
		require.Equal(t, i, binary.BigEndian.Uint32(m.Frames[0]), "round trip order")
		require.Equal(t, "ball", string(m.Frames[1]))
		require.True(t, msgmeta.Of(m).Drained)
		binary.BigEndian.PutUint32(m.Frames[0], i+1)
		require.NoError(t, d.Send(ctx, m))
	}
	m, err := d.Recv(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint32(n), binary.BigEndian.Uint32(m.Frames[0]))
	m.Release()
	testutil.CheckFor(t, 10*time.Second, func() bool {
		ds, rs := d.Stats(), r.Stats()
		return ds.MsgsOut == n+1 && ds.MsgsIn == n+1 && rs.MsgsOut == n+1
	}, "counters")
	ds, rs := d.Stats(), r.Stats()
	assert.Positive(t, ds.MsgsOutDirect, "the dealer wrote replies itself")
	assert.LessOrEqual(t, ds.MsgsOutDirect, uint64(n), "not the first message, which was not received")
	assert.Positive(t, rs.MsgsOutDirect, "the router wrote replies itself")
	assert.LessOrEqual(t, rs.MsgsOutDirect, rs.MsgsOut)
}

func TestFrames(t *testing.T) { testutil.ForEachSocketTransport(t, testFrames) }

func testFrames(t *testing.T, transport string) {
	ctx := testCtx(t)
	_, d := echoPairOn(t, testutil.Endpoint(t, transport))

	big := bytes.Repeat([]byte("z"), 1<<20)
	tests := []struct {
		name   string
		frames [][]byte
	}{
		{"empty frame", [][]byte{{}}},
		{"255 bytes", [][]byte{bytes.Repeat([]byte("a"), 255)}},
		{"256 bytes", [][]byte{bytes.Repeat([]byte("b"), 256)}},
		{"1 MiB", [][]byte{big}},
		{"envelope", [][]byte{{}, []byte("request")}},
		{"empty frames around", [][]byte{{}, []byte("x"), {}, {}}},
		{"mixed sizes", [][]byte{{}, bytes.Repeat([]byte("c"), 255), bytes.Repeat([]byte("d"), 256), big, {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, d.SendFrames(ctx, tt.frames...))
			require.Equal(t, tt.frames, recvFrames(t, ctx, d))
		})
	}
}

// TestEmptyMessage: a message with no frames has nothing to put on the
// wire; like the ROUTER's routing id alone, it is dropped and counted.
func TestEmptyMessage(t *testing.T) {
	ctx := testCtx(t)
	_, d := echoPair(t)
	require.NoError(t, d.Send(ctx, wire.Get()))
	require.NoError(t, d.TrySend(wire.Get()))
	require.NoError(t, d.SendFrames(ctx, []byte("after")))
	require.Equal(t, [][]byte{[]byte("after")}, recvFrames(t, ctx, d), "nothing came before")
	testutil.CheckFor(t, 10*time.Second, func() bool { return d.Stats().MsgsOut == 1 }, "the one message counted as sent")
	require.EqualValues(t, 2, d.Stats().DroppedEmpty)
}

func TestRoutingID(t *testing.T) {
	ctx := testCtx(t)
	r := newRouter(t, "tcp://127.0.0.1:0")
	d := newDealer(t, socket.WithRoutingID([]byte("alice")))
	require.NoError(t, d.Connect(r.Addr()))
	waitConnected(t, d, r)
	require.NoError(t, d.SendFrames(ctx, []byte("hi")))
	m, err := r.Recv(ctx)
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("alice"), []byte("hi")}, m.Frames)
	m.Release()
	require.NoError(t, r.SendFrames(ctx, []byte("alice"), []byte("hello"), []byte{}))
	require.Equal(t, [][]byte{[]byte("hello"), {}}, recvFrames(t, ctx, d))
}

func TestRoundRobinAcrossRouters(t *testing.T) {
	testutil.ForEachSocketTransport(t, testRoundRobinAcrossRouters)
}

func testRoundRobinAcrossRouters(t *testing.T, transport string) {
	ctx := testCtx(t)
	const perRouter = 20
	d := newDealer(t)
	counts := make([]int, 3)
	var wg sync.WaitGroup
	for i := range counts {
		r := newRouter(t, testutil.Endpoint(t, transport))
		require.NoError(t, d.Connect(r.Addr()))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perRouter {
				m, err := r.Recv(ctx)
				if err != nil {
					return
				}
				counts[i]++
				m.Release()
			}
		}()
	}
	// Every Connect has its pipe from the start, so the spread does not
	// depend on which connection comes up first.
	for i := range 3 * perRouter {
		require.NoError(t, d.SendFrames(ctx, []byte(strconv.Itoa(i))))
	}
	wg.Wait()
	require.Equal(t, []int{perRouter, perRouter, perRouter}, counts)
	testutil.CheckFor(t, 10*time.Second, func() bool { return d.Stats().Peers == 3 }, "three peers")
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

func TestQueuedBeforeConnect(t *testing.T) {
	ctx := testCtx(t)
	ep := reservePort(t)
	d := newDealer(t, socket.WithReconnectInterval(10*time.Millisecond))
	require.NoError(t, d.Connect(ep))
	const n = 50
	for i := range n {
		require.NoError(t, d.TrySend(wire.New([]byte(strconv.Itoa(i)))))
	}
	s := d.Stats()
	require.Equal(t, 0, s.Peers)
	require.Equal(t, n, s.Queued)

	r := newRouter(t, ep)
	for i := range n {
		m, err := r.Recv(ctx)
		require.NoError(t, err)
		require.Equal(t, []byte(strconv.Itoa(i)), m.Frames[1])
		m.Release()
	}
	testutil.CheckFor(t, 10*time.Second, func() bool {
		s := d.Stats()
		return s.Queued == 0 && s.MsgsOut == n
	}, "queue drained")
}

func TestReconnect(t *testing.T) { testutil.ForEachSocketTransport(t, testReconnect) }

func testReconnect(t *testing.T, transport string) {
	ctx := testCtx(t)
	r1 := newRouter(t, testutil.Endpoint(t, transport))
	ep := r1.Addr()
	stop1 := echo(t, r1)
	d := newDealer(t, socket.WithReconnectInterval(10*time.Millisecond), socket.WithReconnectMax(50*time.Millisecond))
	require.NoError(t, d.Connect(ep))
	waitConnected(t, d, r1)
	require.NoError(t, d.SendFrames(ctx, []byte("one")))
	require.Equal(t, [][]byte{[]byte("one")}, recvFrames(t, ctx, d))

	stop1()
	testutil.CheckFor(t, 10*time.Second, func() bool { return d.Stats().Peers == 0 }, "connection lost")
	// Sent while no connection is up: waits in the endpoint's pipe.
	require.NoError(t, d.SendFrames(ctx, []byte("two")))

	r2 := newRouter(t, ep)
	m, err := r2.Recv(ctx)
	require.NoError(t, err)
	require.Equal(t, []byte("two"), m.Frames[1])
	waitConnected(t, d, r2)
	require.NoError(t, r2.Send(ctx, m))
	require.Equal(t, [][]byte{[]byte("two")}, recvFrames(t, ctx, d))
	require.NoError(t, d.SendFrames(ctx, []byte("three")))
	m, err = r2.Recv(ctx)
	require.NoError(t, err)
	require.Equal(t, []byte("three"), m.Frames[1])
	m.Release()
	require.Equal(t, 1, d.Stats().Peers)
}

func TestBoundPipesRoundRobin(t *testing.T) {
	ctx := testCtx(t)
	d := newDealer(t)
	require.NoError(t, d.Bind("tcp://127.0.0.1:0"))
	var clients []*dealer.Dealer
	for range 2 {
		c := newDealer(t)
		require.NoError(t, c.Connect(d.Addr()))
		clients = append(clients, c)
	}
	testutil.CheckFor(t, 10*time.Second, func() bool { return d.Stats().Pipes == 2 }, "two peers")
	for i := range 10 {
		require.NoError(t, d.SendFrames(ctx, []byte(strconv.Itoa(i))))
	}
	for _, c := range clients {
		for range 5 {
			recvFrames(t, ctx, c)
		}
	}

	// A pipe of an accepted connection goes with it.
	require.NoError(t, clients[0].Close())
	testutil.CheckFor(t, 10*time.Second, func() bool { return d.Stats().Pipes == 1 }, "one pipe left")
	for i := range 4 {
		require.NoError(t, d.SendFrames(ctx, []byte(fmt.Sprint("after", i))))
	}
	for i := range 4 {
		require.Equal(t, [][]byte{[]byte(fmt.Sprint("after", i))}, recvFrames(t, ctx, clients[1]))
	}
}

// silentPeer accepts one connection, completes the ZMTP handshake as a
// ROUTER with a tiny receive buffer, and then never reads. It returns the
// endpoint; the connection and listener close when the test ends.
func silentPeer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	conns := make(chan net.Conn, 1)
	go func() {
		defer close(conns)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_ = c.(*net.TCPConn).SetReadBuffer(4096)
		if _, err := zmtp.Handshake(c, &zmtp.Config{SocketType: zmtp.ROUTER, Timeout: waitFor}); err != nil {
			_ = c.Close()
			return
		}
		conns <- c
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		for c := range conns {
			_ = c.Close()
		}
	})
	return "tcp://" + ln.Addr().String()
}

func TestHWMWithSilentPeer(t *testing.T) {
	d := newDealer(t, socket.WithSendHWM(1))
	require.NoError(t, d.Connect(silentPeer(t)))
	testutil.CheckFor(t, 10*time.Second, func() bool { return d.Stats().Peers == 1 }, "connected")

	// Far more than the socket buffers hold: the writer stays on it. As in
	// libzmq, the mark counts messages waiting behind the writer, so the
	// queue is full once one more waits.
	huge := wire.Get()
	huge.NewFrame(32 << 20)
	require.NoError(t, d.TrySend(huge))
	filler := wire.New([]byte("filler"))
	testutil.CheckFor(t, 10*time.Second, func() bool { return d.TrySend(filler) == nil }, "writer took the huge message")

	m := wire.New([]byte("more"))
	defer m.Release()
	require.ErrorIs(t, d.TrySend(m), socket.ErrWouldBlock)

	// Send waits instead, until its context gives up.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, d.Send(ctx, m), context.DeadlineExceeded)

	ctx, cancel = context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Send(ctx, m) }()
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)

	s := d.Stats()
	require.Equal(t, 2, s.Queued, "the huge message being written and the filler")
	require.Zero(t, s.Dropped())
}

func TestHWMWithoutConnection(t *testing.T) {
	d := newDealer(t, socket.WithSendHWM(3), socket.WithLinger(0))
	require.NoError(t, d.Connect(reservePort(t)))
	for range 3 {
		require.NoError(t, d.TrySend(wire.New([]byte("x"))))
	}
	m := wire.New([]byte("y"))
	defer m.Release()
	require.ErrorIs(t, d.TrySend(m), socket.ErrWouldBlock)
	require.Equal(t, 3, d.Stats().Queued)
	require.NoError(t, d.Close())
	s := d.Stats()
	require.Equal(t, uint64(3), s.DroppedClosed, "linger 0 drops what is queued")
	require.Zero(t, s.Queued)
}

func TestNoPipe(t *testing.T) {
	d := newDealer(t)
	m := wire.New([]byte("x"))
	defer m.Release()
	require.ErrorIs(t, d.TrySend(m), socket.ErrWouldBlock)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Send(ctx, m) }()
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
}

func TestRecvCancel(t *testing.T) {
	d := newDealer(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := d.Recv(ctx)
		errc <- err
	}()
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
}

func TestCloseUnblocks(t *testing.T) {
	d, err := dealer.New(noLinger)
	require.NoError(t, err)
	require.NoError(t, d.Bind("tcp://127.0.0.1:0"))
	require.NoError(t, d.Connect(reservePort(t)))

	recvErr := make(chan error, 1)
	go func() {
		_, err := d.Recv(context.Background())
		recvErr <- err
	}()
	// With no pipe that has room, Send waits too.
	full, err := dealer.New(noLinger, socket.WithSendHWM(1))
	require.NoError(t, err)
	require.NoError(t, full.Connect(reservePort(t)))
	require.NoError(t, full.SendFrames(context.Background(), []byte("queued")))
	sendErr := make(chan error, 1)
	go func() { sendErr <- full.SendFrames(context.Background(), []byte("waits")) }()

	require.NoError(t, d.Close())
	require.NoError(t, full.Close())
	require.ErrorIs(t, <-recvErr, net.ErrClosed)
	require.ErrorIs(t, <-sendErr, net.ErrClosed)

	// Every later call reports the close; Close itself is idempotent.
	_, err = d.Recv(context.Background())
	require.ErrorIs(t, err, net.ErrClosed)
	require.ErrorIs(t, d.SendFrames(context.Background(), []byte("x")), net.ErrClosed)
	require.ErrorIs(t, d.Bind("tcp://127.0.0.1:0"), net.ErrClosed)
	require.ErrorIs(t, d.Connect("tcp://127.0.0.1:1"), net.ErrClosed)
	require.NoError(t, d.Close())
}

// TestReconnectWhileSending loses connections while a sender keeps the
// endpoint's pipe busy: whatever is still queued when a new connection comes
// up must flow on it. The pipe's queue outlives the connection, so this
// needs peer.Run to wake the writer of a queue that already holds
// messages.
func TestReconnectWhileSending(t *testing.T) {
	ep := reservePort(t)
	// d never reads the echoes. With a bounded inbox its reader would stop
	// reading at the mark (TCP pushback) and so could not see the router
	// hang up, as in libzmq; an unbounded one keeps it reading.
	d := newDealer(t, socket.WithReconnectInterval(time.Millisecond), socket.WithSendHWM(0), socket.WithRecvHWM(0))
	require.NoError(t, d.Connect(ep))
	for round := range 10 {
		r, err := router.New()
		require.NoError(t, err)
		require.NoError(t, r.Bind(ep))
		stop := echo(t, r) // drops the echoes: d never reads them
		testutil.CheckFor(t, 10*time.Second, func() bool { return d.Stats().Peers == 1 }, "up")

		quit := make(chan struct{})
		sent := make(chan int)
		go func() {
			n := 0
			defer func() { sent <- n }()
			for {
				select {
				case <-quit:
					return
				default:
				}
				if d.SendFrames(context.Background(), []byte("x")) == nil {
					n++
				}
				if n == 100 {
					stop() // lose the connection in mid-stream
				}
			}
		}()
		testutil.CheckFor(t, 10*time.Second, func() bool { return d.Stats().Peers == 0 }, "down")
		close(quit)
		<-sent

		r2, err := router.New()
		require.NoError(t, err)
		require.NoError(t, r2.Bind(ep))
		stop2 := echo(t, r2)
		testutil.CheckFor(t, 10*time.Second, func() bool {
			return d.Stats().Queued == 0
		}, fmt.Sprint("round ", round, ": queue drained"))
		stop2()
		testutil.CheckFor(t, 10*time.Second, func() bool { return d.Stats().Peers == 0 }, "down again")
	}
}
