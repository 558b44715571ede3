package interop

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/socket"
)

// Connection events. Each test runs one scenario twice: with libzmq 4.3.4
// sockets, whose zmq_socket_monitor events it reads through an inproc PAIR,
// asserting the sequence measured for libzmq; and with the zrouter socket
// in the same place (its peers are libzmq sockets or raw TCP), asserting
// that its Monitor gives the same sequence of kinds, libzmq's events mapped
// to zrouter's EventKind, and the fields of zrouter's events that the
// scenario defines. Where zrouter deliberately differs, the test says so.

// eventsMonitorSeq numbers the inproc endpoints of the libzmq monitors.
var eventsMonitorSeq atomic.Int64

// eventsKindOf maps libzmq's monitor events to zrouter's kinds; the three
// HANDSHAKE_FAILED_* events are all EventHandshakeFailed. An event zrouter
// has no kind for maps to 0, which prints as "unknown".
var eventsKindOf = map[zmq.Event]socket.EventKind{
	zmq.EVENT_LISTENING:                  socket.EventListening,
	zmq.EVENT_BIND_FAILED:                socket.EventBindFailed,
	zmq.EVENT_ACCEPTED:                   socket.EventAccepted,
	zmq.EVENT_ACCEPT_FAILED:              socket.EventAcceptFailed,
	zmq.EVENT_CONNECTED:                  socket.EventConnected,
	zmq.EVENT_CONNECT_DELAYED:            socket.EventConnectDelayed,
	zmq.EVENT_CONNECT_RETRIED:            socket.EventConnectRetried,
	zmq.EVENT_HANDSHAKE_SUCCEEDED:        socket.EventHandshakeSucceeded,
	zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL: socket.EventHandshakeFailed,
	zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:  socket.EventHandshakeFailed,
	zmq.EVENT_HANDSHAKE_FAILED_AUTH:      socket.EventHandshakeFailed,
	zmq.EVENT_DISCONNECTED:               socket.EventDisconnected,
	zmq.EVENT_CLOSED:                     socket.EventClosed,
	zmq.EVENT_MONITOR_STOPPED:            socket.EventMonitorStopped,
}

// Short names for the kinds, so that the expected sequences read as lists.
const (
	eventsListening     = socket.EventListening
	eventsBindFailed    = socket.EventBindFailed
	eventsAccepted      = socket.EventAccepted
	eventsConnected     = socket.EventConnected
	eventsDelayed       = socket.EventConnectDelayed
	eventsRetried       = socket.EventConnectRetried
	eventsHandshake     = socket.EventHandshakeSucceeded
	eventsHandshakeFail = socket.EventHandshakeFailed
	eventsDisconnect    = socket.EventDisconnected
	eventsClosed        = socket.EventClosed
	eventsStopped       = socket.EventMonitorStopped
)

// eventsRecorder is what the waits and assertions need of either
// implementation's recorded events.
type eventsRecorder interface {
	// kinds returns the kinds recorded so far, for endpoint alone when it
	// is not "" (MONITOR_STOPPED, which has no endpoint, is then left out).
	kinds(endpoint string) []socket.EventKind
	fmt.Stringer
}

// eventsZmqEvent is one event from a libzmq monitor.
type eventsZmqEvent struct {
	ev    zmq.Event
	addr  string
	value int
	at    time.Time // when the reader got it
}

func (e eventsZmqEvent) String() string {
	return fmt.Sprintf("%v(%d %#x) %q", e.ev, e.value, e.value, e.addr)
}

func (e eventsZmqEvent) kind() socket.EventKind { return eventsKindOf[e.ev] }
func (e eventsZmqEvent) endpoint() string       { return e.addr }

// eventsLog is the events one monitor has recorded, of either
// implementation.
type eventsLog[E interface {
	kind() socket.EventKind
	endpoint() string
	fmt.Stringer
}] struct {
	mu  sync.Mutex
	evs []E
}

func (l *eventsLog[E]) add(e E) {
	l.mu.Lock()
	l.evs = append(l.evs, e)
	l.mu.Unlock()
}

// events returns a copy of the events so far.
func (l *eventsLog[E]) events() []E {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.evs)
}

func (l *eventsLog[E]) kinds(endpoint string) []socket.EventKind {
	var out []socket.EventKind
	for _, e := range l.events() {
		if endpoint == "" || e.endpoint() == endpoint {
			out = append(out, e.kind())
		}
	}
	return out
}

func (l *eventsLog[E]) String() string {
	var b strings.Builder
	for i, e := range l.events() {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.String())
	}
	return "[" + b.String() + "]"
}

// find returns the first event for which match holds.
func (l *eventsLog[E]) find(t *testing.T, what string, match func(E) bool) E {
	t.Helper()
	for _, e := range l.events() {
		if match(e) {
			return e
		}
	}
	t.Errorf("no %s among the events %s", what, l)
	var zero E
	return zero
}

// eventsZmqMon records the events of a libzmq socket, read on a goroutine
// from the PAIR that zmq_socket_monitor's inproc endpoint is connected to.
type eventsZmqMon struct {
	eventsLog[eventsZmqEvent]
	mu      sync.Mutex    // guards err
	err     error         // a receive error other than a timeout
	stopped chan struct{} // closed when MONITOR_STOPPED has come
	done    chan struct{} // closed when the reader has returned
}

// eventsWatchZmq starts recording every event of s, which must not have
// bound or connected yet: libzmq's monitor blocks the thread that raises an
// event until a reader takes it, so the reader is connected first. When
// the test ends s is closed (so that MONITOR_STOPPED comes) and the reader
// has returned, before the context is terminated.
func eventsWatchZmq(t *testing.T, zctx *zmq.Context, s *zmq.Socket) *eventsZmqMon {
	t.Helper()
	addr := fmt.Sprintf("inproc://events-monitor-%d", eventsMonitorSeq.Add(1))
	require.NoError(t, s.Monitor(addr, zmq.EVENT_ALL))
	pair, err := zctx.NewSocket(zmq.PAIR)
	require.NoError(t, err)
	if err := pair.SetRcvtimeo(20 * time.Millisecond); err != nil {
		_ = pair.Close()
		require.NoError(t, err)
	}
	if err := pair.Connect(addr); err != nil {
		_ = pair.Close()
		require.NoError(t, err)
	}
	m := &eventsZmqMon{stopped: make(chan struct{}), done: make(chan struct{})}
	quit := make(chan struct{})
	go m.read(pair, quit)
	t.Cleanup(func() {
		_ = s.Close() // a second Close of a pebbe socket is a no-op
		close(quit)
		<-m.done
		m.mu.Lock()
		err := m.err
		m.mu.Unlock()
		assert.NoError(t, err, "libzmq monitor reader")
		if t.Failed() {
			t.Logf("libzmq events: %s", m)
		}
	})
	return m
}

// read receives events until MONITOR_STOPPED, or until waitLimit after
// quit is closed, and then closes pair.
func (m *eventsZmqMon) read(pair *zmq.Socket, quit <-chan struct{}) {
	defer close(m.done)
	defer func() { _ = pair.Close() }()
	var giveUp time.Time
	for {
		ev, addr, value, err := pair.RecvEvent(0)
		if err != nil {
			if !isErrno(err, zmq.Errno(syscall.EAGAIN)) {
				m.mu.Lock()
				m.err = err
				m.mu.Unlock()
				return
			}
			if giveUp.IsZero() {
				select {
				case <-quit:
					giveUp = time.Now().Add(waitLimit)
				default:
				}
			} else if time.Now().After(giveUp) {
				return
			}
			continue
		}
		m.add(eventsZmqEvent{ev: ev, addr: addr, value: value, at: time.Now()})
		if ev == zmq.EVENT_MONITOR_STOPPED {
			close(m.stopped)
			return
		}
	}
}

// first returns the first event ev.
func (m *eventsZmqMon) first(t *testing.T, ev zmq.Event) eventsZmqEvent {
	t.Helper()
	return m.find(t, ev.String(), func(e eventsZmqEvent) bool { return e.ev == ev })
}

// waitStopped waits for MONITOR_STOPPED, which libzmq sends once the
// socket's close has finished.
func (m *eventsZmqMon) waitStopped(t *testing.T) {
	t.Helper()
	select {
	case <-m.stopped:
	case <-time.After(waitLimit):
		t.Fatalf("no MONITOR_STOPPED within %v; events: %s", waitLimit, m)
	}
}

// eventsZrEvent is one event from a zrouter Monitor.
type eventsZrEvent struct {
	socket.Event
	at time.Time // when the reader got it
}

func (e eventsZrEvent) kind() socket.EventKind { return e.Kind }
func (e eventsZrEvent) endpoint() string       { return e.Endpoint }

func (e eventsZrEvent) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v %q", e.Kind, e.Endpoint)
	if e.Remote != "" {
		fmt.Fprintf(&b, " remote=%s", e.Remote)
	}
	if e.RoutingID != nil {
		fmt.Fprintf(&b, " id=%q", e.RoutingID)
	}
	switch e.Kind {
	case socket.EventHandshakeFailed:
		fmt.Fprintf(&b, " failure=%v", e.Failure)
	case socket.EventDisconnected:
		fmt.Fprintf(&b, " reason=%v", e.Reason)
	case socket.EventConnectRetried:
		fmt.Fprintf(&b, " interval=%v", e.Interval)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, " err=%v", e.Err)
	}
	return b.String()
}

// eventsZrMon records the events of a zrouter socket's Monitor.
type eventsZrMon struct {
	eventsLog[eventsZrEvent]
	m    *socket.Monitor
	done chan struct{} // closed when C has been closed
}

// eventsWatch starts recording the events of s on a Monitor with room for
// far more events than a test makes. When the test ends the monitor is
// stopped and its reader has returned.
func eventsWatch(t *testing.T, s interface{ Monitor(int) *socket.Monitor }) *eventsZrMon {
	t.Helper()
	m := &eventsZrMon{m: s.Monitor(4096), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for ev := range m.m.C {
			m.add(eventsZrEvent{Event: ev, at: time.Now()})
		}
	}()
	t.Cleanup(func() {
		m.m.Stop()
		<-m.done
		assert.Zero(t, m.m.Dropped(), "zrouter monitor dropped events")
		if t.Failed() {
			t.Logf("zrouter events: %s", m)
		}
	})
	return m
}

// first returns the first event of kind k.
func (m *eventsZrMon) first(t *testing.T, k socket.EventKind) eventsZrEvent {
	t.Helper()
	return m.find(t, k.String(), func(e eventsZrEvent) bool { return e.Kind == k })
}

// all returns every event of kind k.
func (m *eventsZrMon) all(k socket.EventKind) []eventsZrEvent {
	var out []eventsZrEvent
	for _, e := range m.events() {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// waitStopped waits for the monitor's channel to close, which follows
// EventMonitorStopped.
func (m *eventsZrMon) waitStopped(t *testing.T) {
	t.Helper()
	select {
	case <-m.done:
	case <-time.After(waitLimit):
		t.Fatalf("monitor not closed within %v; events: %s", waitLimit, m)
	}
}

// eventsCount returns how many of ks are k.
func eventsCount(ks []socket.EventKind, k socket.EventKind) int {
	n := 0
	for _, x := range ks {
		if x == k {
			n++
		}
	}
	return n
}

// eventsWaitCount waits until rec has recorded at least n events of kind k
// (for endpoint alone, unless it is ""). poke, if not nil, runs at every
// poll: libzmq finishes some work only when the application calls into the
// socket.
func eventsWaitCount(t *testing.T, rec eventsRecorder, endpoint string, k socket.EventKind, n int, poke func()) {
	t.Helper()
	testutil.CheckFor(t, waitLimit, func() bool {
		if poke != nil {
			poke()
		}
		return eventsCount(rec.kinds(endpoint), k) >= n
	}, "%d %v event(s) for %q", n, k, endpoint)
}

// eventsNames returns the names of ks, for readable comparisons.
func eventsNames(ks []socket.EventKind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.String()
	}
	return out
}

// eventsAssertSeq asserts that rec recorded exactly want (for endpoint
// alone, unless it is "").
func eventsAssertSeq(t *testing.T, rec eventsRecorder, endpoint string, want ...socket.EventKind) bool {
	t.Helper()
	return assert.Equal(t, eventsNames(want), eventsNames(rec.kinds(endpoint)), "events %s", rec)
}

// eventsAssertCycles asserts that rec recorded head, then cycle over and
// over, the last time perhaps cut short by the close, then
// EventMonitorStopped; and at least n whole cycles.
func eventsAssertCycles(t *testing.T, rec eventsRecorder, head, cycle []socket.EventKind, n int) bool {
	t.Helper()
	got := rec.kinds("")
	want := slices.Clone(head)
	for i := 0; len(want) < max(len(got)-1, len(head)+n*len(cycle)); i++ {
		want = append(want, cycle[i%len(cycle)])
	}
	want = append(want, eventsStopped)
	return assert.Equal(t, eventsNames(want), eventsNames(got), "events %s", rec)
}

// eventsLibzmqEndpoint returns the last endpoint s bound.
func eventsLibzmqEndpoint(t *testing.T, s *zmq.Socket) string {
	t.Helper()
	ep, err := s.GetLastEndpoint()
	require.NoError(t, err)
	return ep
}

// eventsDial opens a raw TCP connection to endpoint, closed when the test
// ends.
func eventsDial(t *testing.T, endpoint string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", tcpAddr(t, endpoint))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// eventsAwaitClose reads and discards what c receives until the other side
// closes it (EOF or reset), failing the test after waitLimit.
func eventsAwaitClose(t *testing.T, c net.Conn) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(waitLimit)))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the socket did not close the raw connection: %v", err)
}

// eventsGreeting returns a ZMTP 3.1 greeting, as client, for mechanism.
func eventsGreeting(mechanism string) []byte {
	g := make([]byte, 64)
	g[0], g[9] = 0xff, 0x7f
	g[10], g[11] = 3, 1
	copy(g[12:32], mechanism)
	return g
}

// eventsAssertInterval asserts that a reconnect wait is the interval plus
// jitter of less than one interval, as libzmq computes it.
func eventsAssertInterval(t *testing.T, got, ivl time.Duration) {
	t.Helper()
	assert.GreaterOrEqual(t, got, ivl, "reconnect interval")
	assert.Less(t, got, 2*ivl, "reconnect interval plus jitter")
}

// TestEventsRouterPeerCloses: a libzmq ROUTER bound on tcp://127.0.0.1:*,
// to which a DEALER connects, sends a message and then closes, before the
// ROUTER itself closes, reports LISTENING, ACCEPTED, HANDSHAKE_SUCCEEDED,
// DISCONNECTED, CLOSED (the listener) and MONITOR_STOPPED; ACCEPTED and
// DISCONNECTED carry the fd of the connection, LISTENING and CLOSED that of
// the listener. A zrouter ROUTER in its place reports the same kinds, each
// with Addr() as Endpoint; the connection's events share one Remote, and
// its EventHandshakeSucceeded and EventDisconnected carry the routing id the
// DEALER's message arrived with, the latter with Reason PeerClosed.
func TestEventsRouterPeerCloses(t *testing.T) {
	t.Parallel()
	want := []socket.EventKind{eventsListening, eventsAccepted, eventsHandshake, eventsDisconnect, eventsClosed, eventsStopped}

	t.Run("libzmq", func(t *testing.T) {
		t.Parallel()
		zctx := newContext(t)
		lr := newSocket(t, zctx, zmq.ROUTER)
		mon := eventsWatchZmq(t, zctx, lr)
		require.NoError(t, lr.Bind("tcp://127.0.0.1:*"))
		ep := eventsLibzmqEndpoint(t, lr)
		ld := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, ld.Connect(ep))
		zmqSend(t, ld, []byte("hi"))
		assert.Equal(t, "hi", string(zmqRecv(t, lr)[1]))
		require.NoError(t, ld.Close())
		eventsWaitCount(t, mon, "", eventsDisconnect, 1, nil)
		require.NoError(t, lr.Close())
		mon.waitStopped(t)

		eventsAssertSeq(t, mon, "", want...)
		for _, e := range mon.events() {
			if e.ev != zmq.EVENT_MONITOR_STOPPED {
				assert.Equal(t, ep, e.addr, "address of %v", e)
			}
		}
		assert.Equal(t, mon.first(t, zmq.EVENT_ACCEPTED).value, mon.first(t, zmq.EVENT_DISCONNECTED).value, "the connection's fd")
		assert.Equal(t, mon.first(t, zmq.EVENT_LISTENING).value, mon.first(t, zmq.EVENT_CLOSED).value, "the listener's fd")
	})

	t.Run("zrouter", func(t *testing.T) {
		t.Parallel()
		r := newUnboundRouter(t)
		mon := eventsWatch(t, r)
		require.NoError(t, r.Bind("tcp://127.0.0.1:*"))
		addr := r.Addr()
		zctx := newContext(t)
		ld := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, ld.Connect(addr))
		zmqSend(t, ld, []byte("hi"))
		got := recvFrames(t, r)
		require.Len(t, got, 2)
		id := got[0]
		require.NoError(t, ld.Close())
		eventsWaitCount(t, mon, "", eventsDisconnect, 1, nil)
		require.NoError(t, r.Close())
		mon.waitStopped(t)

		eventsAssertSeq(t, mon, "", want...)
		for _, e := range mon.events() {
			if e.Kind != eventsStopped {
				assert.Equal(t, addr, e.Endpoint, "Endpoint of %v", e.Kind)
			}
		}
		acc := mon.first(t, eventsAccepted)
		assert.True(t, strings.HasPrefix(acc.Remote, "127.0.0.1:"), "Remote %q", acc.Remote)
		hs := mon.first(t, eventsHandshake)
		assert.Equal(t, acc.Remote, hs.Remote)
		assert.Equal(t, id, hs.RoutingID, "RoutingID is the id the ROUTER gave the peer")
		dis := mon.first(t, eventsDisconnect)
		assert.Equal(t, acc.Remote, dis.Remote)
		assert.Equal(t, id, dis.RoutingID)
		assert.Equal(t, socket.PeerClosed, dis.Reason)
		assert.Equal(t, socket.Event{Kind: eventsStopped}, mon.first(t, eventsStopped).Event)
	})
}

// TestEventsRouterClosesLiveConnection: a libzmq ROUTER that closes while
// its DEALER is still connected reports no DISCONNECTED for that
// connection, which it ends itself: LISTENING, ACCEPTED,
// HANDSHAKE_SUCCEEDED, CLOSED, MONITOR_STOPPED. The DEALER sees
// DISCONNECTED. A zrouter ROUTER in its place reports the same kinds, and
// its libzmq DEALER sees DISCONNECTED too.
func TestEventsRouterClosesLiveConnection(t *testing.T) {
	t.Parallel()
	want := []socket.EventKind{eventsListening, eventsAccepted, eventsHandshake, eventsClosed, eventsStopped}

	t.Run("libzmq", func(t *testing.T) {
		t.Parallel()
		zctx := newContext(t)
		lr := newSocket(t, zctx, zmq.ROUTER)
		mon := eventsWatchZmq(t, zctx, lr)
		require.NoError(t, lr.Bind("tcp://127.0.0.1:*"))
		ep := eventsLibzmqEndpoint(t, lr)
		ld := newSocket(t, zctx, zmq.DEALER)
		dmon := eventsWatchZmq(t, zctx, ld)
		require.NoError(t, ld.Connect(ep))
		eventsWaitCount(t, mon, "", eventsHandshake, 1, nil)
		require.NoError(t, lr.Close())
		mon.waitStopped(t)
		eventsWaitCount(t, dmon, ep, eventsDisconnect, 1, nil)

		eventsAssertSeq(t, mon, "", want...)
	})

	t.Run("zrouter", func(t *testing.T) {
		t.Parallel()
		r := newUnboundRouter(t)
		mon := eventsWatch(t, r)
		require.NoError(t, r.Bind("tcp://127.0.0.1:*"))
		addr := r.Addr()
		zctx := newContext(t)
		ld := newSocket(t, zctx, zmq.DEALER)
		dmon := eventsWatchZmq(t, zctx, ld)
		require.NoError(t, ld.Connect(addr))
		eventsWaitCount(t, mon, "", eventsHandshake, 1, nil)
		require.NoError(t, r.Close())
		mon.waitStopped(t)
		eventsWaitCount(t, dmon, addr, eventsDisconnect, 1, nil)

		eventsAssertSeq(t, mon, "", want...)
		assert.Equal(t, addr, mon.first(t, eventsClosed).Endpoint)
	})
}

// TestEventsConnectRefused: a libzmq DEALER with a reconnect interval of
// 100ms connecting where nothing listens reports, for every attempt,
// CONNECT_DELAYED (value EINPROGRESS), CLOSED (the attempt's fd) and
// CONNECT_RETRIED (the next wait: 100ms plus up to 100ms of jitter), the
// first attempt at once; closing it after three retries ends the events
// with MONITOR_STOPPED. A zrouter DEALER reports the same kinds, with the
// endpoint as given as Endpoint, each Interval in [100ms, 200ms) and the
// refusal as Err.
func TestEventsConnectRefused(t *testing.T) {
	t.Parallel()
	const ivl = 100 * time.Millisecond
	cycle := []socket.EventKind{eventsDelayed, eventsClosed, eventsRetried}

	t.Run("libzmq", func(t *testing.T) {
		t.Parallel()
		ep := freeEndpoint(t)
		zctx := newContext(t)
		ld := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, ld.SetReconnectIvl(ivl))
		mon := eventsWatchZmq(t, zctx, ld)
		require.NoError(t, ld.Connect(ep))
		eventsWaitCount(t, mon, "", eventsRetried, 3, nil)
		require.NoError(t, ld.Close())
		mon.waitStopped(t)

		eventsAssertCycles(t, mon, nil, cycle, 3)
		for _, e := range mon.events() {
			switch e.ev {
			case zmq.EVENT_MONITOR_STOPPED:
				continue
			case zmq.EVENT_CONNECT_DELAYED:
				assert.Equal(t, int(syscall.EINPROGRESS), e.value, "%v", e)
			case zmq.EVENT_CONNECT_RETRIED:
				eventsAssertInterval(t, time.Duration(e.value)*time.Millisecond, ivl)
			}
			assert.Equal(t, ep, e.addr, "address of %v", e)
		}
	})

	t.Run("zrouter", func(t *testing.T) {
		t.Parallel()
		ep := freeEndpoint(t)
		d := dealerNew(t, socket.WithReconnectInterval(ivl))
		mon := eventsWatch(t, d)
		require.NoError(t, d.Connect(ep))
		eventsWaitCount(t, mon, "", eventsRetried, 3, nil)
		require.NoError(t, d.Close())
		mon.waitStopped(t)

		eventsAssertCycles(t, mon, nil, cycle, 3)
		for _, e := range mon.events() {
			if e.Kind != eventsStopped {
				assert.Equal(t, ep, e.Endpoint, "Endpoint of %v", e.Kind)
			}
		}
		for _, e := range mon.all(eventsRetried) {
			eventsAssertInterval(t, e.Interval, ivl)
			assert.ErrorIs(t, e.Err, syscall.ECONNREFUSED, "Err of a retry after a refusal")
		}
	})
}

// TestEventsConnectPeerCloses: a libzmq DEALER (reconnect interval 100ms)
// connecting to a bound ROUTER reports CONNECT_DELAYED, CONNECTED and
// HANDSHAKE_SUCCEEDED; when the ROUTER closes, DISCONNECTED and at once
// CONNECT_RETRIED, then CONNECT_DELAYED, CLOSED, CONNECT_RETRIED for every
// refused attempt. A zrouter DEALER connecting to a libzmq ROUTER reports
// the same kinds, with the endpoint as Endpoint throughout; EventConnected
// and EventHandshakeSucceeded carry the ROUTER's address as Remote, the
// latter the identity the ROUTER announced as RoutingID; EventDisconnected
// has Reason PeerClosed; and every Interval is in [100ms, 200ms).
func TestEventsConnectPeerCloses(t *testing.T) {
	t.Parallel()
	const ivl = 100 * time.Millisecond
	head := []socket.EventKind{eventsDelayed, eventsConnected, eventsHandshake, eventsDisconnect, eventsRetried}
	cycle := []socket.EventKind{eventsDelayed, eventsClosed, eventsRetried}

	t.Run("libzmq", func(t *testing.T) {
		t.Parallel()
		zctx := newContext(t)
		lr := newSocket(t, zctx, zmq.ROUTER)
		require.NoError(t, lr.Bind("tcp://127.0.0.1:*"))
		ep := eventsLibzmqEndpoint(t, lr)
		ld := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, ld.SetReconnectIvl(ivl))
		mon := eventsWatchZmq(t, zctx, ld)
		require.NoError(t, ld.Connect(ep))
		eventsWaitCount(t, mon, "", eventsHandshake, 1, nil)
		require.NoError(t, lr.Close())
		eventsWaitCount(t, mon, "", eventsRetried, 3, nil)
		require.NoError(t, ld.Close())
		mon.waitStopped(t)

		eventsAssertCycles(t, mon, head, cycle, 2)
		assert.Equal(t, mon.first(t, zmq.EVENT_CONNECTED).value, mon.first(t, zmq.EVENT_DISCONNECTED).value, "the connection's fd")
		for _, e := range mon.events() {
			if e.ev == zmq.EVENT_CONNECT_RETRIED {
				eventsAssertInterval(t, time.Duration(e.value)*time.Millisecond, ivl)
			}
		}
	})

	t.Run("zrouter", func(t *testing.T) {
		t.Parallel()
		const routerID = "lz-router"
		zctx := newContext(t)
		lr := newSocket(t, zctx, zmq.ROUTER)
		require.NoError(t, lr.SetIdentity(routerID))
		require.NoError(t, lr.Bind("tcp://127.0.0.1:*"))
		ep := eventsLibzmqEndpoint(t, lr)
		d := dealerNew(t, socket.WithReconnectInterval(ivl))
		mon := eventsWatch(t, d)
		require.NoError(t, d.Connect(ep))
		eventsWaitCount(t, mon, "", eventsHandshake, 1, nil)
		require.NoError(t, lr.Close())
		eventsWaitCount(t, mon, "", eventsRetried, 3, nil)
		require.NoError(t, d.Close())
		mon.waitStopped(t)

		eventsAssertCycles(t, mon, head, cycle, 2)
		for _, e := range mon.events() {
			if e.Kind != eventsStopped {
				assert.Equal(t, ep, e.Endpoint, "Endpoint of %v", e.Kind)
			}
		}
		assert.Equal(t, tcpAddr(t, ep), mon.first(t, eventsConnected).Remote)
		hs := mon.first(t, eventsHandshake)
		assert.Equal(t, tcpAddr(t, ep), hs.Remote)
		assert.Equal(t, routerID, string(hs.RoutingID), "RoutingID is the identity the ROUTER announced")
		assert.Equal(t, socket.PeerClosed, mon.first(t, eventsDisconnect).Reason)
		for _, e := range mon.all(eventsRetried) {
			eventsAssertInterval(t, e.Interval, ivl)
		}
	})
}

// TestEventsBindInUse: a libzmq ROUTER binding a port already in use fails
// with EADDRINUSE and reports CLOSED (the socket it made, with an empty
// address) and BIND_FAILED (value EADDRINUSE, the address without
// "tcp://"), then MONITOR_STOPPED at close. A zrouter ROUTER's Bind returns
// an error matching EADDRINUSE, Addr stays empty, and its monitor reports
// the same kinds, EventBindFailed with the endpoint given to Bind and the
// same error.
func TestEventsBindInUse(t *testing.T) {
	t.Parallel()
	want := []socket.EventKind{eventsClosed, eventsBindFailed, eventsStopped}

	// eventsBusyEndpoint returns an endpoint a listener holds until the
	// test ends.
	busy := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { _ = ln.Close() })
		return "tcp://" + ln.Addr().String()
	}

	t.Run("libzmq", func(t *testing.T) {
		t.Parallel()
		ep := busy(t)
		zctx := newContext(t)
		lr := newSocket(t, zctx, zmq.ROUTER)
		mon := eventsWatchZmq(t, zctx, lr)
		err := lr.Bind(ep)
		assert.True(t, isErrno(err, zmq.Errno(syscall.EADDRINUSE)), "bind: %v", err)
		require.NoError(t, lr.Close())
		mon.waitStopped(t)

		eventsAssertSeq(t, mon, "", want...)
		assert.Equal(t, "", mon.first(t, zmq.EVENT_CLOSED).addr)
		bf := mon.first(t, zmq.EVENT_BIND_FAILED)
		assert.Equal(t, int(syscall.EADDRINUSE), bf.value)
		assert.Equal(t, tcpAddr(t, ep), bf.addr)
	})

	t.Run("zrouter", func(t *testing.T) {
		t.Parallel()
		ep := busy(t)
		r := newUnboundRouter(t)
		mon := eventsWatch(t, r)
		err := r.Bind(ep)
		require.Error(t, err)
		assert.ErrorIs(t, err, syscall.EADDRINUSE)
		assert.Empty(t, r.Addr())
		require.NoError(t, r.Close())
		mon.waitStopped(t)

		eventsAssertSeq(t, mon, "", want...)
		bf := mon.first(t, eventsBindFailed)
		assert.Equal(t, ep, bf.Endpoint)
		assert.ErrorIs(t, bf.Err, syscall.EADDRINUSE)
	})
}

// TestEventsUnbind: zmq_unbind reports CLOSED (the listener, same fd as
// LISTENING) on the unbinding libzmq ROUTER and nothing for the connection
// it had accepted, which it closes: its DEALER sees DISCONNECTED then
// CONNECT_RETRIED once the ROUTER's application thread next calls into it.
// Closing the ROUTER then gives MONITOR_STOPPED straight after CLOSED,
// which shows that nothing came for the connection. A zrouter ROUTER's
// Unbind reports the same kinds (EventClosed with Addr() as Endpoint), and
// its libzmq DEALER sees the same.
func TestEventsUnbind(t *testing.T) {
	t.Parallel()
	want := []socket.EventKind{eventsListening, eventsAccepted, eventsHandshake, eventsClosed, eventsStopped}
	peerHead := []socket.EventKind{eventsDelayed, eventsConnected, eventsHandshake, eventsDisconnect, eventsRetried}
	peerCycle := []socket.EventKind{eventsDelayed, eventsClosed, eventsRetried}

	t.Run("libzmq", func(t *testing.T) {
		t.Parallel()
		zctx := newContext(t)
		lr := newSocket(t, zctx, zmq.ROUTER)
		mon := eventsWatchZmq(t, zctx, lr)
		require.NoError(t, lr.Bind("tcp://127.0.0.1:*"))
		ep := eventsLibzmqEndpoint(t, lr)
		ld := newSocket(t, zctx, zmq.DEALER)
		dmon := eventsWatchZmq(t, zctx, ld)
		require.NoError(t, ld.Connect(ep))
		eventsWaitCount(t, mon, "", eventsHandshake, 1, nil)
		eventsWaitCount(t, dmon, "", eventsHandshake, 1, nil)
		require.NoError(t, lr.Unbind(ep))
		eventsWaitCount(t, dmon, "", eventsRetried, 1, func() { _, _ = lr.GetEvents() })
		require.NoError(t, lr.Close())
		mon.waitStopped(t)
		require.NoError(t, ld.Close())
		dmon.waitStopped(t)

		eventsAssertSeq(t, mon, "", want...)
		assert.Equal(t, mon.first(t, zmq.EVENT_LISTENING).value, mon.first(t, zmq.EVENT_CLOSED).value, "the listener's fd")
		eventsAssertCycles(t, dmon, peerHead, peerCycle, 0)
	})

	t.Run("zrouter", func(t *testing.T) {
		t.Parallel()
		r := newUnboundRouter(t)
		mon := eventsWatch(t, r)
		require.NoError(t, r.Bind("tcp://127.0.0.1:*"))
		addr := r.Addr()
		zctx := newContext(t)
		ld := newSocket(t, zctx, zmq.DEALER)
		dmon := eventsWatchZmq(t, zctx, ld)
		require.NoError(t, ld.Connect(addr))
		eventsWaitCount(t, mon, "", eventsHandshake, 1, nil)
		eventsWaitCount(t, dmon, "", eventsHandshake, 1, nil)
		require.NoError(t, r.Unbind(addr))
		eventsWaitCount(t, dmon, "", eventsRetried, 1, nil)
		require.NoError(t, r.Close())
		mon.waitStopped(t)
		require.NoError(t, ld.Close())
		dmon.waitStopped(t)

		eventsAssertSeq(t, mon, "", want...)
		assert.Equal(t, addr, mon.first(t, eventsClosed).Endpoint)
		eventsAssertCycles(t, dmon, peerHead, peerCycle, 0)
	})
}

// TestEventsDisconnect: zmq_disconnect gives no event on the disconnecting
// libzmq DEALER for the connection it closes: after CONNECT_DELAYED,
// CONNECTED and HANDSHAKE_SUCCEEDED, and once its ROUTER has seen
// DISCONNECTED (which needs the DEALER's application thread to call into
// it again), closing the DEALER gives MONITOR_STOPPED next. A zrouter
// DEALER's Disconnect from a libzmq ROUTER does the same.
func TestEventsDisconnect(t *testing.T) {
	t.Parallel()
	want := []socket.EventKind{eventsDelayed, eventsConnected, eventsHandshake, eventsStopped}
	routerWant := []socket.EventKind{eventsListening, eventsAccepted, eventsHandshake, eventsDisconnect, eventsClosed, eventsStopped}

	t.Run("libzmq", func(t *testing.T) {
		t.Parallel()
		zctx := newContext(t)
		lr := newSocket(t, zctx, zmq.ROUTER)
		rmon := eventsWatchZmq(t, zctx, lr)
		require.NoError(t, lr.Bind("tcp://127.0.0.1:*"))
		ep := eventsLibzmqEndpoint(t, lr)
		ld := newSocket(t, zctx, zmq.DEALER)
		mon := eventsWatchZmq(t, zctx, ld)
		require.NoError(t, ld.Connect(ep))
		eventsWaitCount(t, mon, "", eventsHandshake, 1, nil)
		eventsWaitCount(t, rmon, "", eventsHandshake, 1, nil)
		require.NoError(t, ld.Disconnect(ep))
		eventsWaitCount(t, rmon, "", eventsDisconnect, 1, func() { _, _ = ld.GetEvents() })
		require.NoError(t, ld.Close())
		mon.waitStopped(t)
		require.NoError(t, lr.Close())
		rmon.waitStopped(t)

		eventsAssertSeq(t, mon, "", want...)
		eventsAssertSeq(t, rmon, "", routerWant...)
	})

	t.Run("zrouter", func(t *testing.T) {
		t.Parallel()
		zctx := newContext(t)
		lr := newSocket(t, zctx, zmq.ROUTER)
		rmon := eventsWatchZmq(t, zctx, lr)
		require.NoError(t, lr.Bind("tcp://127.0.0.1:*"))
		ep := eventsLibzmqEndpoint(t, lr)
		d := dealerNew(t)
		mon := eventsWatch(t, d)
		require.NoError(t, d.Connect(ep))
		eventsWaitCount(t, mon, "", eventsHandshake, 1, nil)
		eventsWaitCount(t, rmon, "", eventsHandshake, 1, nil)
		require.NoError(t, d.Disconnect(ep))
		eventsWaitCount(t, rmon, "", eventsDisconnect, 1, nil)
		require.NoError(t, d.Close())
		mon.waitStopped(t)
		require.NoError(t, lr.Close())
		rmon.waitStopped(t)

		eventsAssertSeq(t, mon, "", want...)
		eventsAssertSeq(t, rmon, "", routerWant...)
	})
}

// TestEventsHandshakeMechanism: a raw TCP peer that sends a ZMTP 3.1
// greeting with mechanism PLAIN to a NULL libzmq ROUTER gets its
// connection closed, and the ROUTER reports ACCEPTED,
// HANDSHAKE_FAILED_PROTOCOL with value 0x11000002
// (ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) and DISCONNECTED, between
// LISTENING and, at close, CLOSED and MONITOR_STOPPED. A zrouter ROUTER
// must report the same kinds, EventHandshakeFailed with Failure
// HandshakeMechanism, Addr() as Endpoint and the raw peer's address as
// Remote.
func TestEventsHandshakeMechanism(t *testing.T) {
	t.Parallel()
	want := []socket.EventKind{eventsListening, eventsAccepted, eventsHandshakeFail, eventsDisconnect, eventsClosed, eventsStopped}

	t.Run("libzmq", func(t *testing.T) {
		t.Parallel()
		zctx := newContext(t)
		lr := newSocket(t, zctx, zmq.ROUTER)
		mon := eventsWatchZmq(t, zctx, lr)
		require.NoError(t, lr.Bind("tcp://127.0.0.1:*"))
		ep := eventsLibzmqEndpoint(t, lr)
		c := eventsDial(t, ep)
		_, err := c.Write(eventsGreeting("PLAIN"))
		require.NoError(t, err)
		eventsWaitCount(t, mon, "", eventsHandshakeFail, 1, nil)
		eventsAwaitClose(t, c)
		require.NoError(t, lr.Close())
		mon.waitStopped(t)

		eventsAssertSeq(t, mon, "", want...)
		hf := mon.first(t, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
		assert.Equal(t, 0x11000002, hf.value, "ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH")
	})

	t.Run("zrouter", func(t *testing.T) {
		t.Parallel()
		r := newUnboundRouter(t)
		mon := eventsWatch(t, r)
		require.NoError(t, r.Bind("tcp://127.0.0.1:*"))
		addr := r.Addr()
		c := eventsDial(t, addr)
		_, err := c.Write(eventsGreeting("PLAIN"))
		require.NoError(t, err)
		eventsWaitCount(t, mon, "", eventsHandshakeFail, 1, nil)
		eventsAwaitClose(t, c)
		require.NoError(t, r.Close())
		mon.waitStopped(t)

		eventsAssertSeq(t, mon, "", want...)
		hf := mon.first(t, eventsHandshakeFail)
		assert.Equal(t, socket.HandshakeMechanism, hf.Failure)
		assert.Equal(t, addr, hf.Endpoint)
		assert.Equal(t, c.LocalAddr().String(), hf.Remote)
		assert.Error(t, hf.Err)
	})
}

// TestEventsHandshakeTimeout: a raw TCP peer that connects and sends
// nothing to a libzmq ROUTER whose ZMQ_HANDSHAKE_IVL is 200ms (set before
// bind: the listener copies the options at bind time) has its connection
// closed no sooner than 200ms later, and the ROUTER reports ACCEPTED,
// HANDSHAKE_FAILED_NO_DETAIL with value EAGAIN and DISCONNECTED, between
// LISTENING and, at close, CLOSED and MONITOR_STOPPED. A zrouter ROUTER
// with WithHandshakeTimeout(200ms) must report the same kinds,
// EventHandshakeFailed with Failure HandshakeNoDetail, no sooner. (Today
// it reports no EventDisconnected: see the marked assertion.)
func TestEventsHandshakeTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 200 * time.Millisecond
	// libzmq's timers count whole milliseconds; allow it to fire a little early.
	const atLeast = timeout - 2*time.Millisecond
	want := []socket.EventKind{eventsListening, eventsAccepted, eventsHandshakeFail, eventsDisconnect, eventsClosed, eventsStopped}

	t.Run("libzmq", func(t *testing.T) {
		t.Parallel()
		zctx := newContext(t)
		lr := newSocket(t, zctx, zmq.ROUTER)
		require.NoError(t, lr.SetHandshakeIvl(timeout))
		mon := eventsWatchZmq(t, zctx, lr)
		require.NoError(t, lr.Bind("tcp://127.0.0.1:*"))
		ep := eventsLibzmqEndpoint(t, lr)
		start := time.Now()
		c := eventsDial(t, ep)
		eventsWaitCount(t, mon, "", eventsHandshakeFail, 1, nil)
		eventsAwaitClose(t, c)
		require.NoError(t, lr.Close())
		mon.waitStopped(t)

		eventsAssertSeq(t, mon, "", want...)
		hf := mon.first(t, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)
		assert.Equal(t, int(syscall.EAGAIN), hf.value)
		assert.GreaterOrEqual(t, hf.at.Sub(start), atLeast, "the handshake timeout")
	})

	t.Run("zrouter", func(t *testing.T) {
		t.Parallel()
		r := newUnboundRouter(t, socket.WithHandshakeTimeout(timeout))
		mon := eventsWatch(t, r)
		require.NoError(t, r.Bind("tcp://127.0.0.1:*"))
		addr := r.Addr()
		start := time.Now()
		c := eventsDial(t, addr)
		eventsWaitCount(t, mon, "", eventsHandshakeFail, 1, nil)
		eventsAwaitClose(t, c)
		require.NoError(t, r.Close())
		mon.waitStopped(t)

		eventsAssertSeq(t, mon, "", want...)
		hf := mon.first(t, eventsHandshakeFail)
		assert.Equal(t, socket.HandshakeNoDetail, hf.Failure)
		assert.Equal(t, addr, hf.Endpoint)
		assert.Equal(t, c.LocalAddr().String(), hf.Remote)
		assert.GreaterOrEqual(t, hf.at.Sub(start), timeout, "the handshake timeout")
	})
}

// TestEventsPubConnectsToRouter: a libzmq PUB connecting to a libzmq
// ROUTER (types that cannot talk) gets no HANDSHAKE_FAILED event on either
// side: the ROUTER reports LISTENING, ACCEPTED, DISCONNECTED (then CLOSED
// and MONITOR_STOPPED at close); the PUB reports CONNECT_DELAYED,
// CONNECTED, DISCONNECTED for that endpoint and never reconnects to it.
// That it does not is shown by a positive marker: the same PUB, with the
// same reconnect interval, then connects to a port where nothing listens
// and retries there three times, while nothing more comes for the
// ROUTER's endpoint (a reconnect would have reported CONNECT_RETRIED at
// once, as in TestEventsConnectPeerCloses).
//
// zrouter deliberately says more than libzmq here: a zrouter ROUTER in the
// ROUTER's place reports EventHandshakeFailed with Failure
// HandshakeSocketType before libzmq's DISCONNECTED; so its sequence is
// LISTENING, ACCEPTED, HANDSHAKE_FAILED, DISCONNECTED, CLOSED,
// MONITOR_STOPPED. The libzmq PUB must see it as it sees a libzmq ROUTER:
// CONNECT_DELAYED, CONNECTED, DISCONNECTED, and no reconnect.
func TestEventsPubConnectsToRouter(t *testing.T) {
	t.Parallel()
	const ivl = 50 * time.Millisecond
	pubWant := []socket.EventKind{eventsDelayed, eventsConnected, eventsDisconnect}

	// pub connects a libzmq PUB to ep, waits for DISCONNECTED, runs the
	// marker, closes the PUB and asserts its events for ep.
	pub := func(t *testing.T, zctx *zmq.Context, ep string) {
		t.Helper()
		lp := newSocket(t, zctx, zmq.PUB)
		require.NoError(t, lp.SetReconnectIvl(ivl))
		pmon := eventsWatchZmq(t, zctx, lp)
		require.NoError(t, lp.Connect(ep))
		eventsWaitCount(t, pmon, ep, eventsDisconnect, 1, nil)
		dead := freeEndpoint(t)
		require.NoError(t, lp.Connect(dead))
		eventsWaitCount(t, pmon, dead, eventsRetried, 3, nil)
		require.NoError(t, lp.Close())
		pmon.waitStopped(t)
		eventsAssertSeq(t, pmon, ep, pubWant...)
	}

	t.Run("libzmq", func(t *testing.T) {
		t.Parallel()
		zctx := newContext(t)
		lr := newSocket(t, zctx, zmq.ROUTER)
		mon := eventsWatchZmq(t, zctx, lr)
		require.NoError(t, lr.Bind("tcp://127.0.0.1:*"))
		ep := eventsLibzmqEndpoint(t, lr)
		pub(t, zctx, ep)
		eventsWaitCount(t, mon, "", eventsDisconnect, 1, nil)
		require.NoError(t, lr.Close())
		mon.waitStopped(t)

		eventsAssertSeq(t, mon, "", eventsListening, eventsAccepted, eventsDisconnect, eventsClosed, eventsStopped)
	})

	t.Run("zrouter", func(t *testing.T) {
		t.Parallel()
		r := newUnboundRouter(t)
		mon := eventsWatch(t, r)
		require.NoError(t, r.Bind("tcp://127.0.0.1:*"))
		addr := r.Addr()
		zctx := newContext(t)
		pub(t, zctx, addr)
		eventsWaitCount(t, mon, "", eventsHandshakeFail, 1, nil)
		require.NoError(t, r.Close())
		mon.waitStopped(t)

		// Deliberate: HANDSHAKE_FAILED before libzmq's DISCONNECTED.
		eventsAssertSeq(t, mon, "", eventsListening, eventsAccepted, eventsHandshakeFail, eventsDisconnect, eventsClosed, eventsStopped)
		hf := mon.first(t, eventsHandshakeFail)
		assert.Equal(t, socket.HandshakeSocketType, hf.Failure)
		assert.Equal(t, addr, hf.Endpoint)
	})
}

// TestEventsDealerConnectsToPub: a DEALER connecting to a bound libzmq
// PUB is refused and does not reconnect. A libzmq DEALER reports
// CONNECT_DELAYED, CONNECTED, DISCONNECTED for the PUB's endpoint (as the
// PUB connecting to a ROUTER does in TestEventsPubConnectsToRouter) and
// nothing more for it while two markers pass on other connections of the
// same socket, with the same reconnect interval: a connect to a port where
// nothing listens retries three times, and then a libzmq ROUTER's message
// reaches the DEALER over a third connection.
//
// zrouter deliberately reports EventHandshakeFailed with Failure
// HandshakeSocketType before libzmq's DISCONNECTED: a zrouter DEALER
// reports CONNECT_DELAYED, CONNECTED, HANDSHAKE_FAILED, DISCONNECTED for
// the PUB's endpoint (the PUB's address as Remote), and nothing more for
// it, in particular no EventConnectDelayed, while the same markers pass.
func TestEventsDealerConnectsToPub(t *testing.T) {
	t.Parallel()
	const ivl = 50 * time.Millisecond

	// markers connects s to a dead port and waits for three retries there,
	// then has a libzmq ROUTER send a marker to the DEALER identity id over
	// a new connection, and returns once recv has received it.
	markers := func(t *testing.T, zctx *zmq.Context, rec eventsRecorder, connect func(string) error, id string, recv func() []string) {
		t.Helper()
		dead := freeEndpoint(t)
		require.NoError(t, connect(dead))
		eventsWaitCount(t, rec, dead, eventsRetried, 3, nil)
		lr := newSocket(t, zctx, zmq.ROUTER)
		require.NoError(t, lr.SetRouterMandatory(1))
		require.NoError(t, lr.Bind("tcp://127.0.0.1:*"))
		require.NoError(t, connect(eventsLibzmqEndpoint(t, lr)))
		testutil.CheckFor(t, waitLimit, func() bool {
			_, err := lr.SendMessage(id, "marker")
			if err != nil {
				require.True(t, isErrno(err, zmq.EHOSTUNREACH), "libzmq send: %v", err)
			}
			return err == nil
		}, "the ROUTER reaches the DEALER")
		assert.Equal(t, []string{"marker"}, recv())
	}

	t.Run("libzmq", func(t *testing.T) {
		t.Parallel()
		zctx := newContext(t)
		lp := newSocket(t, zctx, zmq.PUB)
		require.NoError(t, lp.Bind("tcp://127.0.0.1:*"))
		ep := eventsLibzmqEndpoint(t, lp)
		ld := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, ld.SetIdentity("ld"))
		require.NoError(t, ld.SetReconnectIvl(ivl))
		mon := eventsWatchZmq(t, zctx, ld)
		require.NoError(t, ld.Connect(ep))
		eventsWaitCount(t, mon, ep, eventsDisconnect, 1, nil)
		markers(t, zctx, mon, ld.Connect, "ld", func() []string { return strs(zmqRecv(t, ld)) })
		require.NoError(t, ld.Close())
		mon.waitStopped(t)

		eventsAssertSeq(t, mon, ep, eventsDelayed, eventsConnected, eventsDisconnect)
	})

	t.Run("zrouter", func(t *testing.T) {
		t.Parallel()
		zctx := newContext(t)
		lp := newSocket(t, zctx, zmq.PUB)
		require.NoError(t, lp.Bind("tcp://127.0.0.1:*"))
		ep := eventsLibzmqEndpoint(t, lp)
		d := dealerNew(t, socket.WithRoutingID([]byte("zd")), socket.WithReconnectInterval(ivl))
		mon := eventsWatch(t, d)
		require.NoError(t, d.Connect(ep))
		eventsWaitCount(t, mon, ep, eventsHandshakeFail, 1, nil)
		connect := func(e string) error { return d.Connect(e) }
		markers(t, zctx, mon, connect, "zd", func() []string { return dealerRecv(t, d) })
		require.NoError(t, d.Close())
		mon.waitStopped(t)

		// Deliberate: HANDSHAKE_FAILED before libzmq's DISCONNECTED.
		eventsAssertSeq(t, mon, ep, eventsDelayed, eventsConnected, eventsHandshakeFail, eventsDisconnect)
		hf := mon.first(t, eventsHandshakeFail)
		assert.Equal(t, socket.HandshakeSocketType, hf.Failure)
		assert.Equal(t, tcpAddr(t, ep), hf.Remote)
	})
}

// TestEventsSlowMonitor: a zrouter Monitor with room for one event that
// nobody reads never slows its socket. Its ROUTER serves 20 libzmq DEALERs
// one after the other, each connecting, having a message echoed and
// closing; every message comes back. The monitor keeps the first event
// (EventListening) and drops the other 60 (ACCEPTED, HANDSHAKE_SUCCEEDED
// and DISCONNECTED per DEALER), counted by Dropped and by the socket's
// Stats().EventsDropped; after Stop its channel yields exactly the kept
// event, then EventMonitorStopped, and is closed, and the socket still
// works and drops no more events.
//
// libzmq is not tested here: its monitor sends each event with a blocking
// send from the thread that raised it, so a reader that does not read
// stalls the socket's I/O thread instead of dropping events.
func TestEventsSlowMonitor(t *testing.T) {
	t.Parallel()
	const dealers = 20
	r := newUnboundRouter(t)
	m := r.Monitor(1)
	t.Cleanup(m.Stop)
	require.NoError(t, r.Bind("tcp://127.0.0.1:*"))
	addr := r.Addr()
	startEcho(t, r, nil)
	zctx := newContext(t)

	echo := func(i int) {
		t.Helper()
		ld := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, ld.Connect(addr))
		msg := fmt.Sprintf("ping-%d", i)
		zmqSend(t, ld, []byte(msg))
		assert.Equal(t, []string{msg}, strs(zmqRecv(t, ld)), "echo %d", i)
		require.NoError(t, ld.Close())
	}
	for i := range dealers {
		echo(i)
	}
	testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().Disconnected == dealers }, "every DEALER gone")

	const dropped = 3 * dealers
	// The counters of a connection are kept just before its last event is
	// sent.
	testutil.CheckFor(t, waitLimit, func() bool { return m.Dropped() >= dropped }, "the last DISCONNECTED dropped")
	assert.Equal(t, uint64(dropped), m.Dropped(), "Monitor.Dropped")
	assert.Equal(t, uint64(dropped), r.Stats().EventsDropped, "Stats.EventsDropped")

	m.Stop()
	var got []socket.Event
	for ev := range m.C {
		got = append(got, ev)
	}
	assert.Equal(t, []socket.Event{{Kind: eventsListening, Endpoint: addr}, {Kind: eventsStopped}}, got)

	echo(dealers)
	testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().Disconnected == dealers+1 }, "the last DEALER gone")
	assert.Equal(t, uint64(dropped), m.Dropped(), "a stopped monitor drops nothing more")
	assert.Equal(t, uint64(dropped), r.Stats().EventsDropped, "a stopped monitor drops nothing more")
}

// TestEventsMonitorAfterClose: a Monitor made on a closed zrouter socket,
// ROUTER or DEALER, yields only EventMonitorStopped and is closed.
// (libzmq's zmq_socket_monitor cannot be called on a closed socket at all,
// so there is nothing of libzmq's to compare.)
func TestEventsMonitorAfterClose(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, m *socket.Monitor) {
		t.Helper()
		var got []socket.Event
		timeout := time.After(waitLimit)
	read:
		for {
			select {
			case ev, ok := <-m.C:
				if !ok {
					break read
				}
				got = append(got, ev)
			case <-timeout:
				t.Fatalf("monitor not closed within %v; got %v", waitLimit, got)
			}
		}
		assert.Equal(t, []socket.Event{{Kind: eventsStopped}}, got)
		assert.Zero(t, m.Dropped())
	}

	t.Run("router", func(t *testing.T) {
		t.Parallel()
		r := newUnboundRouter(t)
		require.NoError(t, r.Bind("tcp://127.0.0.1:*"))
		require.NoError(t, r.Close())
		check(t, r.Monitor(8))
	})

	t.Run("dealer", func(t *testing.T) {
		t.Parallel()
		d := dealerNew(t)
		require.NoError(t, d.Connect(freeEndpoint(t)))
		require.NoError(t, d.Close())
		check(t, d.Monitor(8))
	})
}
