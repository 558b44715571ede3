package core_test

import (
	"bytes"
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/device"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/rep"
	"github.com/zrouter/zrouter/req"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
)

// inprocName returns an inproc endpoint unique to the test: the names are
// the process's, shared by every test.
func inprocName(t *testing.T, what string) string {
	return fmt.Sprintf("inproc://%s/%s", t.Name(), what)
}

func newRouter(t *testing.T, opts ...socket.Option) *router.Router {
	t.Helper()
	r, err := router.New(append([]socket.Option{socket.WithLinger(0)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, r.Close()) })
	return r
}

func newDealer(t *testing.T, opts ...socket.Option) *dealer.Dealer {
	t.Helper()
	d, err := dealer.New(append([]socket.Option{socket.WithLinger(0)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Close()) })
	return d
}

// sender is what both socket types send and receive with.
type sender interface {
	SendFrames(ctx context.Context, frames ...[]byte) error
	Recv(ctx context.Context) (*wire.Msg, error)
}

func send(t *testing.T, s sender, frames ...string) {
	t.Helper()
	fs := make([][]byte, len(frames))
	for i, f := range frames {
		fs[i] = []byte(f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.SendFrames(ctx, fs...))
}

func recv(t *testing.T, s sender) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := s.Recv(ctx)
	require.NoError(t, err)
	defer m.Release()
	out := make([]string, len(m.Frames))
	for i, f := range m.Frames {
		out[i] = string(f)
	}
	return out
}

func TestInprocRouterWithDealers(t *testing.T) {
	ep := inprocName(t, "r")
	r := newRouter(t)
	early := newDealer(t, socket.WithRoutingID([]byte("early")))
	require.NoError(t, early.Connect(ep), "connect before bind")
	send(t, early, "queued before the bind")
	require.NoError(t, r.Bind(ep))
	assert.Equal(t, ep, r.Addr())
	late := newDealer(t, socket.WithRoutingID([]byte("late")))
	require.NoError(t, late.Connect(ep))
	assert.Equal(t, []string{"early", "queued before the bind"}, recv(t, r))
	send(t, late, "a", "b")
	assert.Equal(t, []string{"late", "a", "b"}, recv(t, r))
	send(t, r, "late", "to late")
	send(t, r, "early", "to early")
	assert.Equal(t, []string{"to late"}, recv(t, late))
	assert.Equal(t, []string{"to early"}, recv(t, early))
}

func TestInprocRouterWithRouter(t *testing.T) {
	ep := inprocName(t, "r")
	bound := newRouter(t, socket.WithRoutingID([]byte("B")), router.WithMandatory(true))
	require.NoError(t, bound.Bind(ep))
	conn := newRouter(t, socket.WithRoutingID([]byte("C")), router.WithMandatory(true))
	require.NoError(t, conn.Connect(ep))
	require.NoError(t, conn.WaitPeers(testutil.Context(t, 5*time.Second), 1))
	send(t, conn, "B", "hi")
	assert.Equal(t, []string{"C", "hi"}, recv(t, bound), "the binder knows the connecter by its routing id")
	send(t, bound, "C", "back")
	assert.Equal(t, []string{"B", "back"}, recv(t, conn), "and the connecter the binder by its")

	// A connect routing id names the peer before the connection: a
	// message sent at once waits in the pipe for the bind.
	later := inprocName(t, "later")
	named := newRouter(t, router.WithMandatory(true))
	require.NoError(t, named.Connect(later, router.ConnectRoutingID([]byte("svc"))))
	send(t, named, "svc", "before the bind")
	svc := newRouter(t)
	require.NoError(t, svc.Bind(later))
	got := recv(t, svc)
	require.Len(t, got, 2)
	assert.Equal(t, "before the bind", got[1])
	assert.Equal(t, byte(0), got[0][0], "a generated id for a connecter without one")
}

func TestInprocSocketTypesAreNotChecked(t *testing.T) {
	// libzmq checks no socket types on inproc (see interop's
	// TestLibzmqInproc); neither does zrouter: a DEALER binds, a DEALER
	// connects, as they could over tcp too.
	ep := inprocName(t, "d")
	a := newDealer(t)
	require.NoError(t, a.Bind(ep))
	b := newDealer(t)
	require.NoError(t, b.Connect(ep))
	send(t, b, "x")
	assert.Equal(t, []string{"x"}, recv(t, a))
	send(t, a, "y")
	assert.Equal(t, []string{"y"}, recv(t, b))
}

func TestInprocBindErrors(t *testing.T) {
	ep := inprocName(t, "taken")
	a := newRouter(t)
	require.NoError(t, a.Bind(ep))
	b := newRouter(t)
	err := b.Bind(ep)
	assert.ErrorIs(t, err, syscall.EADDRINUSE, "a name is bound once in the process")
	assert.ErrorIs(t, b.Bind("inproc://"), socket.ErrBadEndpoint)
	assert.ErrorIs(t, b.Connect("inproc://"), socket.ErrBadEndpoint)
	require.NoError(t, a.Unbind(ep))
	require.NoError(t, b.Bind(ep), "free again after Unbind")
	require.NoError(t, b.Close())
	require.NoError(t, a.Bind(ep), "and after Close")
}

func TestInprocPassesFramesByPointer(t *testing.T) {
	ep := inprocName(t, "r")
	r := newRouter(t)
	require.NoError(t, r.Bind(ep))
	d := newDealer(t, socket.WithRoutingID([]byte("d")))
	require.NoError(t, d.Connect(ep))
	for _, size := range []int{16, 1 << 10, 64 << 10} {
		m := wire.Get()
		copy(m.NewFrame(size), bytes.Repeat([]byte{'x'}, size))
		at := unsafe.SliceData(m.Frames[0])
		require.NoError(t, d.Send(testutil.Context(t, 5*time.Second), m))
		got, err := r.Recv(testutil.Context(t, 5*time.Second))
		require.NoError(t, err)
		require.Len(t, got.Frames, 2)
		assert.Equal(t, "d", string(got.Frames[0]))
		assert.Same(t, at, unsafe.SliceData(got.Frames[1]), "%d bytes: the frame arrives where it was written", size)
		// Back again: the routing id goes, the frame stays.
		require.NoError(t, r.Send(testutil.Context(t, 5*time.Second), got))
		back, err := d.Recv(testutil.Context(t, 5*time.Second))
		require.NoError(t, err)
		require.Len(t, back.Frames, 1)
		assert.Same(t, at, unsafe.SliceData(back.Frames[0]), "%d bytes, on the way back", size)
		back.Release()
	}
}

// fillTo sends numbered messages with try until it reports
// socket.ErrWouldBlock once the pipe's mover has settled, and returns how
// many it took: sent, the receiver counted in and the sender's queue
// stable.
func fillTo(t *testing.T, try func(i int) error, settled func() bool) int {
	t.Helper()
	n := 0
	for {
		err := try(n)
		if err == nil {
			n++
			continue
		}
		require.ErrorIs(t, err, socket.ErrWouldBlock)
		if settled() {
			// Nothing is moving: one more try tells.
			if err := try(n); err == nil {
				n++
				continue
			}
			return n
		}
	}
}

func TestInprocHWMIsTheSumOfBothSides(t *testing.T) {
	t.Run("dealer to router", func(t *testing.T) {
		ep := inprocName(t, "r")
		r := newRouter(t, socket.WithRecvHWM(5))
		require.NoError(t, r.Bind(ep))
		d := newDealer(t, socket.WithSendHWM(3))
		require.NoError(t, d.Connect(ep))
		require.NoError(t, d.WaitPeers(testutil.Context(t, 5*time.Second), 1))
		n := fillTo(t, func(i int) error { return d.TrySend(wire.New(fmt.Appendf(nil, "%d", i))) },
			func() bool { return r.Stats().MsgsIn == 5 && d.Stats().Queued == 3 })
		assert.Equal(t, 3+5, n, "SNDHWM 3 + RCVHWM 5")
		for i := range n {
			got := recv(t, r)
			assert.Equal(t, fmt.Sprint(i), got[1], "in order")
		}
	})
	t.Run("router to dealer", func(t *testing.T) {
		ep := inprocName(t, "r")
		r := newRouter(t, socket.WithSendHWM(4), router.WithMandatory(true))
		d := newDealer(t, socket.WithRecvHWM(2), socket.WithRoutingID([]byte("d")))
		require.NoError(t, d.Bind(ep))
		require.NoError(t, r.Connect(ep, router.ConnectRoutingID([]byte("d"))))
		require.NoError(t, r.WaitPeers(testutil.Context(t, 5*time.Second), 1))
		n := fillTo(t, func(i int) error { return r.TrySend(wire.New([]byte("d"), fmt.Appendf(nil, "%d", i))) },
			func() bool { return d.Stats().MsgsIn == 2 && r.Stats().Queued == 4 })
		assert.Equal(t, 4+2, n, "SNDHWM 4 + RCVHWM 2")
	})
	t.Run("zero is unlimited", func(t *testing.T) {
		for _, tc := range []struct{ snd, rcv int }{{0, 5}, {3, 0}} {
			ep := inprocName(t, fmt.Sprintf("%d-%d", tc.snd, tc.rcv))
			r := newRouter(t, socket.WithRecvHWM(tc.rcv))
			require.NoError(t, r.Bind(ep))
			d := newDealer(t, socket.WithSendHWM(tc.snd))
			require.NoError(t, d.Connect(ep))
			require.NoError(t, d.WaitPeers(testutil.Context(t, 5*time.Second), 1))
			const many = 5000
			for i := range many {
				require.NoError(t, d.Send(testutil.Context(t, 5*time.Second), wire.New(fmt.Appendf(nil, "%d", i))),
					"SNDHWM %d, RCVHWM %d: message %d", tc.snd, tc.rcv, i)
			}
			for i := range many {
				require.Equal(t, fmt.Sprint(i), recv(t, r)[1])
			}
		}
	})
}

func TestInprocNotifyAndProbe(t *testing.T) {
	ep := inprocName(t, "r")
	r := newRouter(t, router.WithNotify(router.NotifyConnect|router.NotifyDisconnect), socket.WithProbe(true))
	require.NoError(t, r.Bind(ep))
	d := newDealer(t, socket.WithRoutingID([]byte("n")))
	require.NoError(t, d.Connect(ep))
	assert.Equal(t, []string{"n", ""}, recv(t, r), "connect")
	assert.Equal(t, []string{""}, recv(t, d), "the binder's probe")
	send(t, d, "one")
	assert.Equal(t, []string{"n", "one"}, recv(t, r))
	require.NoError(t, d.Close())
	assert.Equal(t, []string{"n", ""}, recv(t, r), "disconnect, behind the last message")

	// A connecting ROUTER's probe reaches the binder first.
	p := newRouter(t, socket.WithProbe(true), socket.WithRoutingID([]byte("p")))
	require.NoError(t, p.Connect(ep))
	assert.Equal(t, []string{"p", ""}, recv(t, r), "connect")
	assert.Equal(t, []string{"p", ""}, recv(t, r), "the connecter's probe")
	got := recv(t, p)
	assert.Len(t, got, 2)
	assert.Equal(t, "", got[1], "the binder's probe, under the binder's id")
}

func TestInprocHandover(t *testing.T) {
	for _, handover := range []bool{false, true} {
		t.Run(fmt.Sprint("handover=", handover), func(t *testing.T) {
			ep := inprocName(t, "r")
			r := newRouter(t, router.WithHandover(handover))
			require.NoError(t, r.Bind(ep))
			first := newDealer(t, socket.WithRoutingID([]byte("x")), socket.WithReconnectInterval(-1))
			require.NoError(t, first.Connect(ep))
			require.NoError(t, first.WaitPeers(testutil.Context(t, 5*time.Second), 1))
			second := newDealer(t, socket.WithRoutingID([]byte("x")), socket.WithReconnectInterval(time.Hour))
			require.NoError(t, second.Connect(ep))
			if !handover {
				testutil.CheckFor(t, 5*time.Second, func() bool { return r.Stats().RefusedDuplicateID == 1 })
				send(t, r, "x", "still the first's")
				assert.Equal(t, []string{"still the first's"}, recv(t, first))
				assert.Equal(t, 1, second.Stats().Pipes, "the refused connect keeps its pipe")
				assert.Equal(t, 0, second.Stats().Peers)
				return
			}
			require.NoError(t, second.WaitPeers(testutil.Context(t, 5*time.Second), 1))
			testutil.CheckFor(t, 5*time.Second, func() bool { return first.Stats().Peers == 0 }, "the first replaced")
			send(t, r, "x", "to the second")
			assert.Equal(t, []string{"to the second"}, recv(t, second))
			assert.Equal(t, uint64(1), first.Stats().CloseReasons[socket.PeerClosed], "the first saw its peer close")
		})
	}
}

func TestInprocMandatory(t *testing.T) {
	ep := inprocName(t, "r")
	r := newRouter(t, router.WithMandatory(true), socket.WithSendHWM(1))
	require.NoError(t, r.Bind(ep))
	err := r.TrySend(wire.New([]byte("nobody"), []byte("x")))
	var ue *socket.UnroutableError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, "nobody", string(ue.ID))
	d := newDealer(t, socket.WithRoutingID([]byte("d")), socket.WithRecvHWM(1))
	require.NoError(t, d.Connect(ep))
	require.NoError(t, r.WaitPeers(testutil.Context(t, 5*time.Second), 1))
	n := fillTo(t, func(int) error { return r.TrySend(wire.New([]byte("d"), []byte("x"))) },
		func() bool { return d.Stats().MsgsIn == 1 && r.Stats().Queued == 1 })
	assert.Equal(t, 2, n)
	// A Send that waits goes in when the dealer reads.
	done := make(chan error, 1)
	go func() { done <- r.Send(testutil.Context(t, 5*time.Second), wire.New([]byte("d"), []byte("last"))) }()
	for range n {
		assert.Equal(t, []string{"x"}, recv(t, d))
	}
	require.NoError(t, <-done)
	assert.Equal(t, []string{"last"}, recv(t, d))
	// The dealer gone, a Send that waits ends unroutable.
	require.NoError(t, d.Close())
	testutil.CheckFor(t, 5*time.Second, func() bool { return r.Stats().Pipes == 0 })
	require.ErrorAs(t, r.TrySend(wire.New([]byte("d"), []byte("x"))), &ue)
}

func TestInprocLingerOnClose(t *testing.T) {
	ep := inprocName(t, "r")
	r := newRouter(t, socket.WithRecvHWM(10))
	require.NoError(t, r.Bind(ep))

	// The linger lets what is queued go out before Close returns, once
	// the router reads.
	d, err := dealer.New(socket.WithLinger(time.Minute), socket.WithSendHWM(10))
	require.NoError(t, err)
	require.NoError(t, d.Connect(ep))
	const n = 20 // more than the router takes without reading
	for i := range n {
		require.NoError(t, d.Send(testutil.Context(t, 5*time.Second), wire.New(fmt.Appendf(nil, "%d", i))))
	}
	closed := make(chan struct{})
	go func() { _ = d.Close(); close(closed) }()
	for i := range n {
		assert.Equal(t, fmt.Sprint(i), recv(t, r)[1])
	}
	<-closed
	assert.Equal(t, uint64(0), d.Stats().DroppedClosed)

	// With no linger, Close drops what the router has no room for.
	d2, err := dealer.New(socket.WithLinger(0), socket.WithSendHWM(10))
	require.NoError(t, err)
	require.NoError(t, d2.Connect(ep))
	require.NoError(t, d2.WaitPeers(testutil.Context(t, 5*time.Second), 1))
	for i := range n {
		require.NoError(t, d2.Send(testutil.Context(t, 5*time.Second), wire.New(fmt.Appendf(nil, "%d", i))))
	}
	testutil.CheckFor(t, 5*time.Second, func() bool { return d2.Stats().Queued == n-10 })
	require.NoError(t, d2.Close())
	assert.Equal(t, uint64(n-10), d2.Stats().DroppedClosed)
}

// eventsUntil collects m's events until one of kind last.
func eventsUntil(t *testing.T, m *socket.Monitor, last socket.EventKind) []socket.Event {
	t.Helper()
	var out []socket.Event
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-m.C:
			out = append(out, ev)
			if ev.Kind == last {
				return out
			}
		case <-timeout:
			t.Fatalf("no %v event; got %v", last, out)
		}
	}
}

func eventKinds(evs []socket.Event) []socket.EventKind {
	out := make([]socket.EventKind, len(evs))
	for i, ev := range evs {
		out[i] = ev.Kind
	}
	return out
}

func TestInprocEvents(t *testing.T) {
	ep := inprocName(t, "r")
	r := newRouter(t)
	rm := r.Monitor(64)
	require.NoError(t, r.Bind(ep))
	d, err := dealer.New(socket.WithLinger(0), socket.WithRoutingID([]byte("d")))
	require.NoError(t, err)
	dm := d.Monitor(64)
	require.NoError(t, d.Connect(ep))

	evs := eventsUntil(t, rm, socket.EventHandshakeSucceeded)
	assert.Equal(t, []socket.EventKind{socket.EventListening, socket.EventAccepted, socket.EventHandshakeSucceeded}, eventKinds(evs))
	assert.Equal(t, ep, evs[2].Endpoint)
	assert.Equal(t, ep, evs[2].Remote)
	assert.Equal(t, "d", string(evs[2].RoutingID))
	evs = eventsUntil(t, dm, socket.EventHandshakeSucceeded)
	assert.Equal(t, []socket.EventKind{socket.EventConnected, socket.EventHandshakeSucceeded}, eventKinds(evs))

	require.NoError(t, d.Close())
	evs = eventsUntil(t, rm, socket.EventDisconnected)
	assert.Equal(t, socket.PeerClosed, evs[len(evs)-1].Reason)
	assert.Equal(t, "d", string(evs[len(evs)-1].RoutingID))

	// The other way: the binder closes, the connecter sees its peer go
	// and retries.
	ep2 := inprocName(t, "d")
	b := newDealer(t)
	require.NoError(t, b.Bind(ep2))
	c := newDealer(t, socket.WithReconnectInterval(time.Millisecond))
	cm := c.Monitor(64)
	require.NoError(t, c.Connect(ep2))
	eventsUntil(t, cm, socket.EventHandshakeSucceeded)
	require.NoError(t, b.Close())
	evs = eventsUntil(t, cm, socket.EventConnectRetried)
	assert.Equal(t, socket.EventDisconnected, evs[0].Kind)
	assert.Equal(t, socket.PeerClosed, evs[0].Reason)
}

func TestInprocDisconnectAndCloseEitherSide(t *testing.T) {
	t.Run("dealer disconnects", func(t *testing.T) {
		ep := inprocName(t, "r")
		r := newRouter(t, router.WithNotify(router.NotifyDisconnect))
		require.NoError(t, r.Bind(ep))
		d := newDealer(t, socket.WithRoutingID([]byte("d")), socket.WithLinger(time.Minute))
		require.NoError(t, d.Connect(ep))
		send(t, d, "last")
		require.NoError(t, d.Disconnect(ep), "after the linger's wait for a connection")
		assert.Equal(t, []string{"d", "last"}, recv(t, r))
		assert.Equal(t, []string{"d", ""}, recv(t, r), "the disconnect notification")
		testutil.CheckFor(t, 5*time.Second, func() bool { return r.Stats().Pipes == 0 && d.Stats().Pipes == 0 })
		assert.ErrorIs(t, d.Disconnect(ep), socket.ErrUnknownEndpoint)
	})
	t.Run("router unbinds and binds again", func(t *testing.T) {
		ep := inprocName(t, "r")
		r := newRouter(t)
		require.NoError(t, r.Bind(ep))
		d := newDealer(t, socket.WithRoutingID([]byte("d")), socket.WithReconnectInterval(time.Millisecond))
		require.NoError(t, d.Connect(ep))
		require.NoError(t, d.WaitPeers(testutil.Context(t, 5*time.Second), 1))
		require.NoError(t, r.Unbind(ep))
		testutil.CheckFor(t, 5*time.Second, func() bool { return d.Stats().Peers == 0 })
		assert.Equal(t, 1, d.Stats().Pipes, "the Connect's pipe stays")
		for i := range 5 {
			send(t, d, fmt.Sprint(i))
		}
		require.NoError(t, r.Bind(ep))
		for i := range 5 {
			assert.Equal(t, []string{"d", fmt.Sprint(i)}, recv(t, r), "queued while unbound, in order")
		}
	})
	t.Run("router closes, another binds", func(t *testing.T) {
		ep := inprocName(t, "r")
		r, err := router.New(socket.WithLinger(0))
		require.NoError(t, err)
		require.NoError(t, r.Bind(ep))
		d := newDealer(t, socket.WithRoutingID([]byte("d")), socket.WithReconnectInterval(time.Millisecond))
		require.NoError(t, d.Connect(ep))
		require.NoError(t, d.WaitPeers(testutil.Context(t, 5*time.Second), 1))
		require.NoError(t, r.Close())
		testutil.CheckFor(t, 5*time.Second, func() bool { return d.Stats().Peers == 0 })
		r2 := newRouter(t)
		require.NoError(t, r2.Bind(ep))
		send(t, d, "to the new one")
		assert.Equal(t, []string{"d", "to the new one"}, recv(t, r2))
	})
	t.Run("load balancer heals its round robin", func(t *testing.T) {
		ep := inprocName(t, "r")
		r := newRouter(t, router.WithMode(router.LoadBalancer))
		require.NoError(t, r.Bind(ep))
		var ds []*dealer.Dealer
		for range 3 {
			d := newDealer(t)
			require.NoError(t, d.Connect(ep))
			ds = append(ds, d)
		}
		require.NoError(t, r.WaitPeers(testutil.Context(t, 5*time.Second), 3))
		require.NoError(t, ds[1].Close())
		testutil.CheckFor(t, 5*time.Second, func() bool { return r.Stats().Peers == 2 })
		for i := range 10 {
			send(t, r, fmt.Sprint(i))
		}
		got := 0
		for _, d := range []*dealer.Dealer{ds[0], ds[2]} {
			for range 5 {
				recv(t, d)
				got++
			}
		}
		assert.Equal(t, 10, got, "every message to a live dealer, in turn")
		assert.Equal(t, uint64(0), r.Stats().Dropped())
	})
	t.Run("dealer round robin over two routers", func(t *testing.T) {
		ep1, ep2 := inprocName(t, "1"), inprocName(t, "2")
		r1, r2 := newRouter(t), newRouter(t)
		require.NoError(t, r1.Bind(ep1))
		require.NoError(t, r2.Bind(ep2))
		d := newDealer(t)
		require.NoError(t, d.Connect(ep1))
		require.NoError(t, d.Connect(ep2))
		require.NoError(t, d.WaitPeers(testutil.Context(t, 5*time.Second), 2))
		for i := range 4 {
			send(t, d, fmt.Sprint(i))
		}
		a, b := recv(t, r1)[1], recv(t, r2)[1]
		c, e := recv(t, r1)[1], recv(t, r2)[1]
		assert.ElementsMatch(t, []string{"0", "1", "2", "3"}, []string{a, b, c, e})
		assert.NotEqual(t, a, c)
	})
}

func TestInprocSecurityDoesNotApply(t *testing.T) {
	// libzmq runs no mechanism on inproc: a CURVE server takes a peer
	// without keys, as libzmq's does.
	_, secret, err := socket.NewCurveKeys()
	require.NoError(t, err)
	ep := inprocName(t, "r")
	r := newRouter(t, socket.WithCurveServer(secret))
	require.NoError(t, r.Bind(ep))
	d := newDealer(t, socket.WithRoutingID([]byte("d")))
	require.NoError(t, d.Connect(ep))
	send(t, d, "in")
	assert.Equal(t, []string{"d", "in"}, recv(t, r))
}

func TestInprocImmediateAndMaxPeers(t *testing.T) {
	ep := inprocName(t, "r")
	d := newDealer(t, socket.WithImmediate(true))
	require.NoError(t, d.Connect(ep))
	assert.ErrorIs(t, d.TrySend(wire.New([]byte("x"))), socket.ErrWouldBlock, "immediate: no pipe before the bind")
	r := newRouter(t, socket.WithMaxPeers(1))
	require.NoError(t, r.Bind(ep))
	require.NoError(t, d.WaitPeers(testutil.Context(t, 5*time.Second), 1))
	send(t, d, "now")
	assert.Equal(t, "now", recv(t, r)[1])

	over := newDealer(t, socket.WithReconnectInterval(time.Hour))
	require.NoError(t, over.Connect(ep))
	testutil.CheckFor(t, 5*time.Second, func() bool { return r.Stats().RefusedMaxPeers == 1 }, "the second peer refused")
	assert.Equal(t, 1, r.Stats().Peers)
	assert.Equal(t, 0, over.Stats().Peers)
}

func TestInprocConnectToItself(t *testing.T) {
	// As libzmq lets a socket connect to its own inproc name.
	ep := inprocName(t, "self")
	d := newDealer(t)
	require.NoError(t, d.Bind(ep))
	require.NoError(t, d.Connect(ep))
	require.NoError(t, d.WaitPeers(testutil.Context(t, 5*time.Second), 2), "both ends are the dealer's")
	send(t, d, "round")
	assert.Equal(t, []string{"round"}, recv(t, d))
}

func TestInprocThroughAProxy(t *testing.T) {
	// The broker's zmq_proxy(ROUTER, DEALER) with everything in one
	// process: clients and workers on inproc.
	front, back := newRouter(t), newDealer(t)
	fe, be := inprocName(t, "front"), inprocName(t, "back")
	require.NoError(t, front.Bind(fe))
	require.NoError(t, back.Bind(be))
	p, err := device.NewProxy(front, back)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- p.Run(ctx) }()
	defer func() {
		cancel()
		assert.ErrorIs(t, <-ran, context.Canceled)
	}()

	worker := newDealer(t)
	require.NoError(t, worker.Connect(be))
	client := newDealer(t)
	require.NoError(t, client.Connect(fe))
	for i := range 10 {
		send(t, client, "", fmt.Sprint("request ", i))
		req := recv(t, worker)
		require.Len(t, req, 3, "[client id, \"\", request]")
		assert.Equal(t, fmt.Sprint("request ", i), req[2])
		send(t, worker, req[0], "", fmt.Sprint("reply ", i))
		assert.Equal(t, []string{"", fmt.Sprint("reply ", i)}, recv(t, client))
	}
}

func TestInprocReqRep(t *testing.T) {
	// Every socket type has inproc through the core: REQ and REP too,
	// the REQ connecting before the REP binds.
	ep := inprocName(t, "rep")
	q, err := req.New(socket.WithLinger(0))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, q.Close()) })
	require.NoError(t, q.Connect(ep))
	p, err := rep.New(socket.WithLinger(0))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	for i := range 3 {
		send(t, q, fmt.Sprint("ping ", i))
		if i == 0 {
			require.NoError(t, p.Bind(ep))
		}
		assert.Equal(t, []string{fmt.Sprint("ping ", i)}, recv(t, p))
		send(t, p, fmt.Sprint("pong ", i))
		assert.Equal(t, []string{fmt.Sprint("pong ", i)}, recv(t, q))
	}
}
