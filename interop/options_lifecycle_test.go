package interop

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/interop/internal/zmqc"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
)

// Socket options that shape a socket's life: LINGER, IMMEDIATE,
// RECONNECT_IVL -1/0, PROBE_ROUTER, ROUTER_NOTIFY, CONNECT_ROUTING_ID, and a
// ROUTER's send of a bare routing id. Each scenario runs first with libzmq
// sockets, to pin down what libzmq 4.3 does, then with zrouter's, which
// must do the same.
//
// A negative ("nothing arrives", "it never reconnects") is shown with a
// marker: a message from an unrelated peer that must be the next thing
// received, or, for libzmq and zrouter monitors, the event of a later
// action (the close's MONITOR_STOPPED) that must come right after the last
// event expected. A reconnect attempt would show as an event at once: both
// libzmq and zrouter report CONNECT_RETRIED when they arm the retry, not
// when it fires.

// lifecycleEndpoint returns tcp://127.0.0.1:PORT for a port where nothing
// listens: one that was free a moment ago.
func lifecycleEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ep := "tcp://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	return ep
}

// lifecycleContext returns a libzmq context for sockets closed with linger
// -1, terminated when the test ends unless the test failed: zmq_ctx_term
// waits for every message such a socket still holds, and a failed test may
// leave some that never go.
func lifecycleContext(t *testing.T) *zmq.Context {
	t.Helper()
	ctx, err := zmq.NewContext()
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("libzmq context left unterminated: a lingering socket may never finish")
			return
		}
		assert.NoError(t, ctx.Term(), "terminate libzmq context")
	})
	return ctx
}

// lifecycleDealer returns a zrouter Dealer made with exactly opts (without
// the helpers' noLinger, so that the default linger applies unless opts
// say otherwise). When the test ends it is shut down without waiting for
// anything, in case the test did not close it; that cleanup also waits for
// a Close the test started, up to waitLimit.
func lifecycleDealer(t *testing.T, opts ...socket.Option) *dealer.Dealer {
	t.Helper()
	d, err := dealer.New(opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_ = d.Shutdown(ctx)
		}()
		select {
		case <-done:
		case <-time.After(waitLimit):
			t.Errorf("zrouter DEALER still closing %v after the test", waitLimit)
		}
	})
	return d
}

// lifecycleCloseAsync runs d.Close on a goroutine and returns a channel
// that yields its result. lifecycleDealer's cleanup waits for it.
func lifecycleCloseAsync(d *dealer.Dealer) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- d.Close() }()
	return ch
}

// lifecycleAwait returns what ch yields, failing the test after waitLimit.
func lifecycleAwait(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(waitLimit):
		require.FailNow(t, what+" did not return within "+waitLimit.String())
		return nil
	}
}

// lifecycleMsg is the i-th message of a numbered burst.
func lifecycleMsg(i int) string { return fmt.Sprintf("msg-%02d", i) }

// lifecycleShare returns the messages lifecycleMsg(i) for i = first,
// first+step, ... below n, each behind id: the share of a round robin.
func lifecycleShare(id string, first, step, n int) [][]string {
	var out [][]string
	for i := first; i < n; i += step {
		out = append(out, []string{id, lifecycleMsg(i)})
	}
	return out
}

// lifecycleTrySend runs a zrouter TrySend on a message of frames, and
// releases the message when the socket did not take it.
func lifecycleTrySend(send func(*wire.Msg) error, frames ...string) error {
	m := wire.New(bs(frames...)...)
	err := send(m)
	if err != nil {
		m.Release()
	}
	return err
}

// lifecycleZmqTrySend sends frames on a libzmq socket with ZMQ_DONTWAIT.
func lifecycleZmqTrySend(s *zmq.Socket, frames ...string) error {
	parts := make([]any, len(frames))
	for i, f := range frames {
		parts[i] = f
	}
	_, err := s.SendMessageDontwait(parts...)
	return err
}

var lifecycleEAGAIN = zmq.Errno(syscall.EAGAIN)

// lifecycleMarkerMsg is what a ROUTER receives from lifecycleMarker.
var lifecycleMarkerMsg = []string{"marker", "marker"}

// lifecycleMarker connects a fresh libzmq DEALER with routing id "marker"
// to ep and sends "marker" from it: a message from a peer that has nothing
// to do with the socket under test, which must be the next thing the
// ROUTER at ep receives.
func lifecycleMarker(t *testing.T, zctx *zmq.Context, ep string) {
	t.Helper()
	m := newSocket(t, zctx, zmq.DEALER)
	require.NoError(t, m.SetIdentity("marker"))
	require.NoError(t, m.Connect(ep))
	zmqSend(t, m, []byte("marker"))
}

// lifecycleZmqRouterAt returns a libzmq ROUTER bound on ep. A ROUTER that
// was bound there and has just been closed may still hold the port (libzmq
// closes the listener on its I/O thread), so the bind is retried.
func lifecycleZmqRouterAt(t *testing.T, zctx *zmq.Context, ep string) *zmq.Socket {
	t.Helper()
	r := newSocket(t, zctx, zmq.ROUTER)
	testutil.CheckFor(t, waitLimit, func() bool { return r.Bind(ep) == nil }, "libzmq ROUTER binds %s", ep)
	return r
}

// lifecycleRouterAt returns a zrouter ROUTER bound on ep.
func lifecycleRouterAt(t *testing.T, ep string, opts ...socket.Option) *router.Router {
	t.Helper()
	r := newUnboundRouter(t, opts...)
	testutil.CheckFor(t, waitLimit, func() bool { return r.Bind(ep) == nil }, "zrouter ROUTER binds %s", ep)
	return r
}

// lifecycleEvent is one libzmq monitor event.
type lifecycleEvent struct {
	kind  zmq.Event
	value int
	addr  string
}

func (e lifecycleEvent) String() string { return fmt.Sprintf("%v(%d)%s", e.kind, e.value, e.addr) }

// lifecycleZmqMonitor reads the events of one libzmq socket.
type lifecycleZmqMonitor struct{ r *zmq.Socket }

var lifecycleMonitorSeq atomic.Int64

// lifecycleWatch starts a monitor of every event on s, a libzmq socket of
// zctx, and connects its reader. Call it before s binds or connects. When
// the test ends the monitor is stopped before its reader closes (an event
// sent with no reader blocks libzmq's I/O thread), and both before s
// closes, when s was made first.
func lifecycleWatch(t *testing.T, zctx *zmq.Context, s *zmq.Socket) *lifecycleZmqMonitor {
	t.Helper()
	addr := fmt.Sprintf("inproc://lifecycle-monitor-%d", lifecycleMonitorSeq.Add(1))
	require.NoError(t, s.Monitor(addr, zmq.EVENT_ALL))
	r, err := zctx.NewSocket(zmq.PAIR)
	require.NoError(t, err)
	require.NoError(t, r.SetLinger(0))
	require.NoError(t, r.SetRcvtimeo(ioTimeout))
	require.NoError(t, r.Connect(addr))
	t.Cleanup(func() {
		_ = s.Monitor("", 0) // fails harmlessly once s is closed
		assert.NoError(t, r.Close(), "close monitor reader")
	})
	return &lifecycleZmqMonitor{r: r}
}

// waitFor reads events until one of kind arrives, and returns the events
// before it.
func (m *lifecycleZmqMonitor) waitFor(t *testing.T, kind zmq.Event) []lifecycleEvent {
	t.Helper()
	var seen []lifecycleEvent
	deadline := time.Now().Add(waitLimit)
	for {
		k, addr, value, err := m.r.RecvEvent(0)
		require.NoError(t, err, "libzmq monitor: waiting for %v; saw %v", kind, seen)
		if k == kind {
			return seen
		}
		seen = append(seen, lifecycleEvent{kind: k, value: value, addr: addr})
		require.True(t, time.Now().Before(deadline), "libzmq monitor: no %v within %v; saw %v", kind, waitLimit, seen)
	}
}

// lifecycleEvents returns every event mon delivers until it ends; its
// socket must be closing.
func lifecycleEvents(t *testing.T, mon *socket.Monitor) []socket.Event {
	t.Helper()
	var out []socket.Event
	timeout := time.After(waitLimit)
	for {
		select {
		case e, ok := <-mon.C:
			if !ok {
				return out
			}
			out = append(out, e)
		case <-timeout:
			require.FailNow(t, "zrouter monitor did not end", "events: %v", lifecycleKinds(out))
		}
	}
}

// lifecycleWaitEvent reads mon's events until one of kind arrives, and
// returns those before it.
func lifecycleWaitEvent(t *testing.T, mon *socket.Monitor, kind socket.EventKind) []socket.Event {
	t.Helper()
	var seen []socket.Event
	timeout := time.After(waitLimit)
	for {
		select {
		case e, ok := <-mon.C:
			require.True(t, ok, "zrouter monitor ended before %v; saw %v", kind, lifecycleKinds(seen))
			if e.Kind == kind {
				return seen
			}
			seen = append(seen, e)
		case <-timeout:
			require.FailNow(t, "no zrouter event "+kind.String(), "saw %v", lifecycleKinds(seen))
		}
	}
}

// lifecycleKinds names the kinds of evs.
func lifecycleKinds(evs []socket.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Kind.String()
	}
	return out
}

// lifecycleRecvNow is a libzmq receive with ZMQ_DONTWAIT, for polls.
func lifecycleRecvNow(s *zmq.Socket) ([]string, bool) {
	msg, err := s.RecvMessageBytes(zmq.DONTWAIT)
	if err != nil {
		return nil, false
	}
	return strs(msg), true
}

// TestOptionLinger: ZMQ_LINGER. libzmq's default linger is -1:
// zmq_close returns at once and the context's reaper keeps delivering what
// is queued, reconnecting as it must, until all of it is out; with linger
// 0 what the pipe holds is dropped at close; with a positive linger the
// socket gives up after that long. The test has a DEALER connect to a port
// where nothing listens, queue messages and close, and only then binds a
// ROUTER there:
//
//   - default: the ROUTER receives all of them, from libzmq's DEALER and
//     from zrouter's, whose Close returns nil once they are delivered (to a
//     libzmq ROUTER and to a zrouter one);
//   - linger 0: the ROUTER's first message is a marker from another peer,
//     sent after the DEALER is gone (libzmq: its monitor has sent
//     MONITOR_STOPPED, which its destructor does; zrouter: Close has
//     returned), and zrouter counts every message in DroppedClosed;
//   - linger 300ms: the same, once the close has finished on its own;
//   - zrouter's Shutdown(ctx) (libzmq has none; it is a linger given per
//     call): with no peer and a ctx that ends it returns ctx's error and
//     drops the rest; with a libzmq ROUTER up it delivers everything and
//     returns nil.
func TestOptionLinger(t *testing.T) {
	t.Parallel()
	const n = 20

	t.Run("default-delivers-after-close", func(t *testing.T) {
		t.Parallel()
		t.Run("libzmq", func(t *testing.T) {
			t.Parallel()
			zctx := lifecycleContext(t)
			ep := lifecycleEndpoint(t)
			d, err := zctx.NewSocket(zmq.DEALER)
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, d.Close()) })
			linger, err := d.GetLinger()
			require.NoError(t, err)
			require.Equal(t, time.Duration(-1), linger, "libzmq's default ZMQ_LINGER")
			require.NoError(t, d.SetIdentity("lingerer"))
			require.NoError(t, d.Connect(ep))
			for i := range n {
				require.NoError(t, lifecycleZmqTrySend(d, lifecycleMsg(i)))
			}
			require.NoError(t, d.Close(), "zmq_close returns at once")

			r := lifecycleZmqRouterAt(t, zctx, ep)
			for i := range n {
				require.Equal(t, []string{"lingerer", lifecycleMsg(i)}, strs(zmqRecv(t, r)))
			}
		})
		for _, recv := range []string{"libzmq-router", "zrouter-router"} {
			t.Run("zrouter/"+recv, func(t *testing.T) {
				t.Parallel()
				ep := lifecycleEndpoint(t)
				d := lifecycleDealer(t, socket.WithRoutingID([]byte("lingerer")))
				require.NoError(t, d.Connect(ep))
				for i := range n {
					dealerSend(t, d, lifecycleMsg(i))
				}
				// Close blocks until the messages are out, as zmq_ctx_term
				// would with libzmq.
				closed := lifecycleCloseAsync(d)

				var got func() []string
				if recv == "libzmq-router" {
					r := lifecycleZmqRouterAt(t, newContext(t), ep)
					got = func() []string { return strs(zmqRecv(t, r)) }
				} else {
					r := lifecycleRouterAt(t, ep)
					got = func() []string { return strs(recvFrames(t, r)) }
				}
				for i := range n {
					require.Equal(t, []string{"lingerer", lifecycleMsg(i)}, got())
				}
				require.NoError(t, lifecycleAwait(t, closed, "zrouter DEALER Close"))
				st := d.Stats()
				assert.Zero(t, st.DroppedClosed)
				assert.EqualValues(t, n, st.MsgsOut)
			})
		}
	})

	// dropped runs the linger-0 and bounded-linger scenarios.
	dropped := func(t *testing.T, linger time.Duration) {
		t.Run("libzmq", func(t *testing.T) {
			t.Parallel()
			zctx := newContext(t)
			ep := lifecycleEndpoint(t)
			d := newSocket(t, zctx, zmq.DEALER)
			require.NoError(t, d.SetLinger(linger))
			require.NoError(t, d.SetIdentity("dropper"))
			mon := lifecycleWatch(t, zctx, d)
			require.NoError(t, d.Connect(ep))
			for i := range n {
				require.NoError(t, lifecycleZmqTrySend(d, lifecycleMsg(i)))
			}
			require.NoError(t, d.Close())
			// Its destructor, after the linger, sends MONITOR_STOPPED:
			// from then on the socket is gone.
			mon.waitFor(t, zmq.EVENT_MONITOR_STOPPED)

			r := lifecycleZmqRouterAt(t, zctx, ep)
			lifecycleMarker(t, zctx, ep)
			assert.Equal(t, lifecycleMarkerMsg, strs(zmqRecv(t, r)), "the marker comes first: nothing of the closed DEALER")
		})
		t.Run("zrouter", func(t *testing.T) {
			t.Parallel()
			ep := lifecycleEndpoint(t)
			d := lifecycleDealer(t, socket.WithLinger(linger), socket.WithRoutingID([]byte("dropper")))
			require.NoError(t, d.Connect(ep))
			for i := range n {
				dealerSend(t, d, lifecycleMsg(i))
			}
			require.NoError(t, lifecycleAwait(t, lifecycleCloseAsync(d), "zrouter DEALER Close"))
			assert.EqualValues(t, n, d.Stats().DroppedClosed)

			r := lifecycleRouterAt(t, ep)
			lifecycleMarker(t, newContext(t), ep)
			assert.Equal(t, lifecycleMarkerMsg, strs(recvFrames(t, r)), "the marker comes first: nothing of the closed DEALER")
		})
	}
	t.Run("zero-drops", func(t *testing.T) {
		t.Parallel()
		dropped(t, 0)
	})
	t.Run("bounded-drops-after-linger", func(t *testing.T) {
		t.Parallel()
		dropped(t, 300*time.Millisecond)
	})

	t.Run("shutdown", func(t *testing.T) {
		t.Parallel()
		t.Run("context-ends", func(t *testing.T) {
			t.Parallel()
			ep := lifecycleEndpoint(t)
			// The default linger (wait for ever) does not matter:
			// Shutdown waits as its ctx says.
			d := lifecycleDealer(t, socket.WithRoutingID([]byte("shutter")))
			require.NoError(t, d.Connect(ep))
			for i := range n {
				dealerSend(t, d, lifecycleMsg(i))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			assert.ErrorIs(t, d.Shutdown(ctx), context.DeadlineExceeded)
			assert.EqualValues(t, n, d.Stats().DroppedClosed)

			r := lifecycleRouterAt(t, ep)
			lifecycleMarker(t, newContext(t), ep)
			assert.Equal(t, lifecycleMarkerMsg, strs(recvFrames(t, r)), "the marker comes first: nothing of the shut DEALER")
		})
		t.Run("peer-up", func(t *testing.T) {
			t.Parallel()
			const many = 500
			zctx := newContext(t)
			r, ep := dealerLibzmqRouter(t, zctx)
			d := lifecycleDealer(t, socket.WithRoutingID([]byte("shutter")), socket.WithLinger(0))
			require.NoError(t, d.Connect(ep))
			require.NoError(t, d.WaitPeers(testutil.Context(t, waitLimit), 1))
			for i := range many {
				dealerSend(t, d, lifecycleMsg(i))
			}
			// Linger 0 does not matter either: Shutdown waits.
			assert.NoError(t, d.Shutdown(testutil.Context(t, waitLimit)))
			for i := range many {
				require.Equal(t, []string{"shutter", lifecycleMsg(i)}, strs(zmqRecv(t, r)))
			}
			assert.Zero(t, d.Stats().DroppedClosed)
		})
	})
}

// TestOptionImmediate: ZMQ_IMMEDIATE. With it, libzmq makes a
// connect's pipe only after the handshake, so a DEALER connected to a dead
// endpoint A and a live ROUTER B sends everything to B; without it both
// pipes exist from zmq_connect and the round robin puts every other message
// into A's pipe (the first to A, which was connected first), where it waits.
// With only the dead endpoint and IMMEDIATE, a DONTWAIT send fails with
// EAGAIN. And when one of two ROUTERs goes, an IMMEDIATE DEALER drops that
// pipe and sends everything to the other. The test checks each on libzmq's
// DEALER and on zrouter's (peers: libzmq ROUTERs):
//
//   - IMMEDIATE: once B is up (libzmq: monitor HANDSHAKE_SUCCEEDED, after
//     which the next call attaches the pipe; zrouter: WaitPeers) 10 sends
//     all succeed at once and B receives all 10, in order;
//   - without: B receives the odd ones, and a ROUTER bound on A afterwards
//     the even ones;
//   - only the dead endpoint: EAGAIN / socket.ErrWouldBlock, before and
//     after the first attempt failed;
//   - failover: two warm-up messages go one to each ROUTER; one ROUTER
//     closes; once the DEALER has seen it (libzmq: DISCONNECTED then the
//     CONNECT_RETRIED armed after the pipe's termination was sent to the
//     socket; zrouter: Stats Peers and Pipes at 1), 10 sends all reach the
//     survivor, in order.
func TestOptionImmediate(t *testing.T) {
	t.Parallel()
	const n = 10

	for _, immediate := range []bool{true, false} {
		t.Run(fmt.Sprintf("live-and-dead/immediate=%v", immediate), func(t *testing.T) {
			t.Parallel()
			wantB := lifecycleShare("imm", 0, 1, n)
			var wantA [][]string
			if !immediate {
				wantA, wantB = lifecycleShare("imm", 0, 2, n), lifecycleShare("imm", 1, 2, n)
			}
			check := func(t *testing.T, zctx *zmq.Context, b *zmq.Socket, a string) {
				for _, want := range wantB {
					require.Equal(t, want, strs(zmqRecv(t, b)), "at the live ROUTER")
				}
				if wantA == nil {
					return
				}
				ra := lifecycleZmqRouterAt(t, zctx, a)
				for _, want := range wantA {
					require.Equal(t, want, strs(zmqRecv(t, ra)), "at the ROUTER bound later on the dead endpoint")
				}
			}
			t.Run("libzmq", func(t *testing.T) {
				t.Parallel()
				zctx := newContext(t)
				a := lifecycleEndpoint(t)
				b, bep := dealerLibzmqRouter(t, zctx)
				d := newSocket(t, zctx, zmq.DEALER)
				require.NoError(t, d.SetImmediate(immediate))
				require.NoError(t, d.SetIdentity("imm"))
				mon := lifecycleWatch(t, zctx, d)
				require.NoError(t, d.Connect(a))
				require.NoError(t, d.Connect(bep))
				mon.waitFor(t, zmq.EVENT_HANDSHAKE_SUCCEEDED)
				_, err := d.GetEvents() // processes the pipe's attach
				require.NoError(t, err)
				for i := range n {
					require.NoError(t, lifecycleZmqTrySend(d, lifecycleMsg(i)), "send %d", i)
				}
				check(t, zctx, b, a)
			})
			t.Run("zrouter", func(t *testing.T) {
				t.Parallel()
				zctx := newContext(t)
				a := lifecycleEndpoint(t)
				b, bep := dealerLibzmqRouter(t, zctx)
				d := dealerNew(t, socket.WithImmediate(immediate), socket.WithRoutingID([]byte("imm")))
				require.NoError(t, d.Connect(a))
				require.NoError(t, d.Connect(bep))
				require.NoError(t, d.WaitPeers(testutil.Context(t, waitLimit), 1))
				for i := range n {
					require.NoError(t, lifecycleTrySend(d.TrySend, lifecycleMsg(i)), "send %d", i)
				}
				check(t, zctx, b, a)
			})
		})
	}

	t.Run("only-dead-endpoint", func(t *testing.T) {
		t.Parallel()
		t.Run("libzmq", func(t *testing.T) {
			t.Parallel()
			zctx := newContext(t)
			d := newSocket(t, zctx, zmq.DEALER)
			require.NoError(t, d.SetImmediate(true))
			mon := lifecycleWatch(t, zctx, d)
			require.NoError(t, d.Connect(lifecycleEndpoint(t)))
			assert.True(t, isErrno(lifecycleZmqTrySend(d, "x"), lifecycleEAGAIN), "DONTWAIT send with no pipe")
			mon.waitFor(t, zmq.EVENT_CLOSED) // the first attempt failed
			assert.True(t, isErrno(lifecycleZmqTrySend(d, "x"), lifecycleEAGAIN), "DONTWAIT send after a failed attempt")
		})
		t.Run("zrouter", func(t *testing.T) {
			t.Parallel()
			d := dealerNew(t, socket.WithImmediate(true))
			mon := d.Monitor(64)
			require.NoError(t, d.Connect(lifecycleEndpoint(t)))
			assert.ErrorIs(t, lifecycleTrySend(d.TrySend, "x"), socket.ErrWouldBlock)
			lifecycleWaitEvent(t, mon, socket.EventClosed) // the first attempt failed
			assert.ErrorIs(t, lifecycleTrySend(d.TrySend, "x"), socket.ErrWouldBlock)
			assert.Zero(t, d.Stats().Pipes)
		})
	})

	t.Run("failover", func(t *testing.T) {
		t.Parallel()
		// warm sends one message to each ROUTER and checks that each got
		// one: both pipes are in the round robin.
		warm := func(t *testing.T, send func(string) error, r1, r2 *zmq.Socket) {
			require.NoError(t, send("warm-0"))
			require.NoError(t, send("warm-1"))
			body := func(r *zmq.Socket) string {
				m := strs(zmqRecv(t, r))
				require.Len(t, m, 2)
				return m[1]
			}
			got := []string{body(r1), body(r2)}
			slices.Sort(got)
			require.Equal(t, []string{"warm-0", "warm-1"}, got, "one warm-up message at each ROUTER")
		}
		t.Run("libzmq", func(t *testing.T) {
			t.Parallel()
			zctx := newContext(t)
			r1, ep1 := dealerLibzmqRouter(t, zctx)
			r2, ep2 := dealerLibzmqRouter(t, zctx)
			d := newSocket(t, zctx, zmq.DEALER)
			require.NoError(t, d.SetImmediate(true))
			require.NoError(t, d.SetIdentity("fo"))
			mon := lifecycleWatch(t, zctx, d)
			require.NoError(t, d.Connect(ep1))
			require.NoError(t, d.Connect(ep2))
			mon.waitFor(t, zmq.EVENT_HANDSHAKE_SUCCEEDED)
			mon.waitFor(t, zmq.EVENT_HANDSHAKE_SUCCEEDED)
			_, err := d.GetEvents()
			require.NoError(t, err)
			warm(t, func(s string) error { return lifecycleZmqTrySend(d, s) }, r1, r2)

			require.NoError(t, r2.Close())
			mon.waitFor(t, zmq.EVENT_DISCONNECTED)
			mon.waitFor(t, zmq.EVENT_CONNECT_RETRIED)
			_, err = d.GetEvents() // processes the pipe's termination
			require.NoError(t, err)
			for i := range n {
				require.NoError(t, lifecycleZmqTrySend(d, lifecycleMsg(i)), "send %d", i)
			}
			for _, want := range lifecycleShare("fo", 0, 1, n) {
				require.Equal(t, want, strs(zmqRecv(t, r1)))
			}
		})
		t.Run("zrouter", func(t *testing.T) {
			t.Parallel()
			zctx := newContext(t)
			r1, ep1 := dealerLibzmqRouter(t, zctx)
			r2, ep2 := dealerLibzmqRouter(t, zctx)
			d := dealerNew(t, socket.WithImmediate(true), socket.WithRoutingID([]byte("fo")))
			require.NoError(t, d.Connect(ep1))
			require.NoError(t, d.Connect(ep2))
			require.NoError(t, d.WaitPeers(testutil.Context(t, waitLimit), 2))
			warm(t, func(s string) error { return lifecycleTrySend(d.TrySend, s) }, r1, r2)

			require.NoError(t, r2.Close())
			// Peers drops when the connection ends; Pipes when its pipe
			// has left the round robin too.
			testutil.CheckFor(t, waitLimit, func() bool {
				st := d.Stats()
				return st.Peers == 1 && st.Pipes == 1
			}, "the DEALER sees the disconnect")
			for i := range n {
				require.NoError(t, lifecycleTrySend(d.TrySend, lifecycleMsg(i)), "send %d", i)
			}
			for _, want := range lifecycleShare("fo", 0, 1, n) {
				require.Equal(t, want, strs(zmqRecv(t, r1)))
			}
			assert.Zero(t, d.Stats().DroppedClosed)
		})
	})
}

// TestOptionReconnectIvl: ZMQ_RECONNECT_IVL -1, and 0, which libzmq treats
// the same: no retry timer is ever armed.
//
//   - An established connection that drops (the ROUTER closes) is never
//     made again: the only event is DISCONNECTED, the pipe goes (a DONTWAIT
//     send fails with EAGAIN once the socket has processed it) and so does
//     the endpoint (zmq_disconnect returns ENOENT). A new ROUTER on the same
//     port works (a marker peer's message is the first it gets) and the old
//     DEALER's monitor shows nothing between DISCONNECTED and the close's
//     MONITOR_STOPPED. zrouter: Stats Peers 0 and Pipes 0, TrySend
//     ErrWouldBlock, Disconnect ErrUnknownEndpoint, Connected stays 1, no
//     event between EventDisconnected and EventMonitorStopped.
//   - A first attempt that is refused is never retried, but the pipe and
//     the endpoint stay: DONTWAIT sends are taken up to SNDHWM (5), nothing
//     reaches a ROUTER bound there later (marker first; no event between the
//     attempt's CLOSED and MONITOR_STOPPED), and zmq_disconnect returns 0.
//     zrouter: TrySend nil 5 times then ErrWouldBlock, marker first,
//     Disconnect nil, the 5 counted in DroppedClosed, no event between
//     EventClosed and EventMonitorStopped.
func TestOptionReconnectIvl(t *testing.T) {
	t.Parallel()
	const hwm = 5
	for _, ivl := range []time.Duration{-1, 0} {
		t.Run(fmt.Sprintf("ivl=%d", ivl), func(t *testing.T) {
			t.Parallel()
			t.Run("dropped/libzmq", func(t *testing.T) {
				t.Parallel()
				zctx := newContext(t)
				r1, ep := dealerLibzmqRouter(t, zctx)
				d := newSocket(t, zctx, zmq.DEALER)
				require.NoError(t, d.SetReconnectIvl(ivl))
				require.NoError(t, d.SetIdentity("once"))
				mon := lifecycleWatch(t, zctx, d)
				require.NoError(t, d.Connect(ep))
				zmqSend(t, d, []byte("hello"))
				require.Equal(t, []string{"once", "hello"}, strs(zmqRecv(t, r1)))

				require.NoError(t, r1.Close())
				mon.waitFor(t, zmq.EVENT_DISCONNECTED)
				// The session asks the socket to drop the endpoint right
				// after DISCONNECTED; the socket does it on its next call.
				testutil.CheckFor(t, waitLimit, func() bool {
					_, _ = d.GetEvents()
					return isErrno(lifecycleZmqTrySend(d, "lost"), lifecycleEAGAIN)
				}, "DONTWAIT send fails with EAGAIN: the pipe is gone")

				r2 := lifecycleZmqRouterAt(t, zctx, ep)
				lifecycleMarker(t, zctx, ep)
				assert.Equal(t, lifecycleMarkerMsg, strs(zmqRecv(t, r2)))
				err := d.Disconnect(ep)
				assert.True(t, isErrno(err, zmq.Errno(syscall.ENOENT)), "zmq_disconnect: want ENOENT, got %v", err)
				require.NoError(t, d.Close())
				assert.Empty(t, mon.waitFor(t, zmq.EVENT_MONITOR_STOPPED), "events after DISCONNECTED: no reconnect attempt")
			})
			t.Run("dropped/zrouter", func(t *testing.T) {
				t.Parallel()
				zctx := newContext(t)
				r1, ep := dealerLibzmqRouter(t, zctx)
				d := dealerNew(t, socket.WithReconnectInterval(ivl), socket.WithRoutingID([]byte("once")))
				mon := d.Monitor(256)
				require.NoError(t, d.Connect(ep))
				require.NoError(t, d.WaitPeers(testutil.Context(t, waitLimit), 1))
				dealerSend(t, d, "hello")
				require.Equal(t, []string{"once", "hello"}, strs(zmqRecv(t, r1)))

				require.NoError(t, r1.Close())
				testutil.CheckFor(t, waitLimit, func() bool {
					st := d.Stats()
					return st.Peers == 0 && st.Pipes == 0
				}, "the pipe goes with the connection")
				assert.ErrorIs(t, lifecycleTrySend(d.TrySend, "lost"), socket.ErrWouldBlock)

				r2 := lifecycleZmqRouterAt(t, zctx, ep)
				lifecycleMarker(t, zctx, ep)
				assert.Equal(t, lifecycleMarkerMsg, strs(zmqRecv(t, r2)))
				st := d.Stats()
				assert.Zero(t, st.Peers)
				assert.Zero(t, st.Pipes)
				assert.EqualValues(t, 1, st.Connected, "never connected again")
				assert.ErrorIs(t, d.Disconnect(ep), socket.ErrUnknownEndpoint)
				require.NoError(t, d.Close())

				kinds := lifecycleKinds(lifecycleEvents(t, mon))
				i := slices.Index(kinds, socket.EventDisconnected.String())
				require.GreaterOrEqual(t, i, 0, "an EventDisconnected in %v", kinds)
				assert.Equal(t, []string{socket.EventMonitorStopped.String()}, kinds[i+1:], "events after the disconnect: no reconnect attempt")
				assert.Zero(t, mon.Dropped())
			})
			t.Run("refused/libzmq", func(t *testing.T) {
				t.Parallel()
				zctx := newContext(t)
				ep := lifecycleEndpoint(t)
				d := newSocket(t, zctx, zmq.DEALER)
				require.NoError(t, d.SetReconnectIvl(ivl))
				require.NoError(t, d.SetSndhwm(hwm))
				require.NoError(t, d.SetIdentity("once"))
				mon := lifecycleWatch(t, zctx, d)
				require.NoError(t, d.Connect(ep))
				mon.waitFor(t, zmq.EVENT_CLOSED) // the one attempt failed
				sent := 0
				var err error
				for ; sent < 10*hwm; sent++ {
					if err = lifecycleZmqTrySend(d, lifecycleMsg(sent)); err != nil {
						break
					}
				}
				assert.True(t, isErrno(err, lifecycleEAGAIN), "send past SNDHWM: %v", err)
				assert.Equal(t, hwm, sent, "sends taken by the dead pipe")

				r := lifecycleZmqRouterAt(t, zctx, ep)
				lifecycleMarker(t, zctx, ep)
				assert.Equal(t, lifecycleMarkerMsg, strs(zmqRecv(t, r)))
				assert.NoError(t, d.Disconnect(ep), "the endpoint stays")
				require.NoError(t, d.Close())
				assert.Empty(t, mon.waitFor(t, zmq.EVENT_MONITOR_STOPPED), "events after the failed attempt: no retry")
			})
			t.Run("refused/zrouter", func(t *testing.T) {
				t.Parallel()
				zctx := newContext(t)
				ep := lifecycleEndpoint(t)
				d := dealerNew(t, socket.WithReconnectInterval(ivl), socket.WithSendHWM(hwm), socket.WithRoutingID([]byte("once")))
				mon := d.Monitor(256)
				require.NoError(t, d.Connect(ep))
				lifecycleWaitEvent(t, mon, socket.EventClosed) // the one attempt failed
				sent := 0
				var err error
				for ; sent < 10*hwm; sent++ {
					if err = lifecycleTrySend(d.TrySend, lifecycleMsg(sent)); err != nil {
						break
					}
				}
				assert.ErrorIs(t, err, socket.ErrWouldBlock, "send past SNDHWM")
				assert.Equal(t, hwm, sent, "sends taken by the dead pipe")
				st := d.Stats()
				assert.Equal(t, 1, st.Pipes)
				assert.Zero(t, st.Peers)
				assert.Equal(t, hwm, st.Queued)

				r := lifecycleZmqRouterAt(t, zctx, ep)
				lifecycleMarker(t, zctx, ep)
				assert.Equal(t, lifecycleMarkerMsg, strs(zmqRecv(t, r)))
				assert.NoError(t, d.Disconnect(ep), "the endpoint stays")
				testutil.CheckFor(t, waitLimit, func() bool { return d.Stats().DroppedClosed == hwm }, "Disconnect drops what the pipe held")
				require.NoError(t, d.Close())
				assert.Equal(t, []string{socket.EventMonitorStopped.String()}, lifecycleKinds(lifecycleEvents(t, mon)), "events after the failed attempt: no retry")
				assert.EqualValues(t, 0, d.Stats().Connected)
			})
		})
	}
}

// TestOptionProbeRouter: ZMQ_PROBE_ROUTER. libzmq writes an
// empty message into each pipe it attaches: a ROUTER peer reads [id, ""],
// id being the prober's routing id, and a DEALER peer reads [""]. A
// connect's pipe (without IMMEDIATE) is attached once, at zmq_connect, and
// kept across reconnects, so the probe goes once per pipe: a second
// ROUTER that the DEALER reconnects to gets only data. With IMMEDIATE a
// pipe is made per connection, and so is the probe. ROUTER_MANDATORY on a
// DEALER is EINVAL. The test checks:
//
//   - DEALER (libzmq or zrouter, with a routing id or without) with probe
//     to a ROUTER (libzmq or zrouter): the first message is [id, ""], and
//     the DEALER's next message carries the same id (and the routing id,
//     when set);
//   - once per pipe: after its ROUTER is closed and another binds the same
//     port, the new ROUTER's first message is the DEALER's data; with
//     IMMEDIATE it is a new probe, then the data;
//   - with IMMEDIATE, a send that waits for the pipe when the connection
//     comes up still follows the probe (libzmq writes the probe in
//     xattach_pipe, inside that send), for 50 DEALERs in a row;
//   - a DEALER (libzmq or zrouter) connected to a ROUTER (libzmq or
//     zrouter) with probe receives [""] first;
//   - dealer.New(router.WithMandatory(true)) is refused with
//     socket.ErrBadOption, as libzmq's DEALER refuses ROUTER_MANDATORY
//     with EINVAL; PROBE_ROUTER is taken by both types in both libraries.
func TestOptionProbeRouter(t *testing.T) {
	t.Parallel()

	// probeDealer is a DEALER under test, libzmq's or zrouter's.
	type probeDealer struct {
		connect func(ep string)
		send    func(s string)
	}
	newProbeDealer := func(t *testing.T, zctx *zmq.Context, kind, id string, immediate bool) probeDealer {
		if kind == "libzmq" {
			d := newSocket(t, zctx, zmq.DEALER)
			require.NoError(t, d.SetProbeRouter(1))
			require.NoError(t, d.SetImmediate(immediate))
			if id != "" {
				require.NoError(t, d.SetIdentity(id))
			}
			return probeDealer{
				connect: func(ep string) { require.NoError(t, d.Connect(ep)) },
				send:    func(s string) { zmqSend(t, d, []byte(s)) },
			}
		}
		opts := []socket.Option{socket.WithProbe(true), socket.WithImmediate(immediate)}
		if id != "" {
			opts = append(opts, socket.WithRoutingID([]byte(id)))
		}
		d := dealerNew(t, opts...)
		return probeDealer{
			connect: func(ep string) { require.NoError(t, d.Connect(ep)) },
			send:    func(s string) { dealerSend(t, d, s) },
		}
	}

	for _, dk := range []string{"libzmq", "zrouter"} {
		for _, rk := range []string{"libzmq", "zrouter"} {
			for _, id := range []string{"", "prober"} {
				t.Run(fmt.Sprintf("first-message/%s-dealer-to-%s-router/id=%q", dk, rk, id), func(t *testing.T) {
					t.Parallel()
					zctx := newContext(t)
					var ep string
					var recv func() []string
					if rk == "libzmq" {
						var r *zmq.Socket
						r, ep = dealerLibzmqRouter(t, zctx)
						recv = func() []string { return strs(zmqRecv(t, r)) }
					} else {
						r := newRouter(t)
						ep = r.Addr()
						recv = func() []string { return strs(recvFrames(t, r)) }
					}
					d := newProbeDealer(t, zctx, dk, id, false)
					d.connect(ep)
					probe := recv()
					require.Len(t, probe, 2, "[id, probe]: %q", probe)
					assert.Empty(t, probe[1], "the probe is an empty frame")
					if id != "" {
						assert.Equal(t, id, probe[0])
					}
					d.send("hello")
					assert.Equal(t, []string{probe[0], "hello"}, recv(), "the DEALER's data carries the probe's id")
				})
			}
		}
	}

	for _, dk := range []string{"libzmq", "zrouter"} {
		for _, immediate := range []bool{false, true} {
			t.Run(fmt.Sprintf("once-per-pipe/%s-dealer/immediate=%v", dk, immediate), func(t *testing.T) {
				t.Parallel()
				zctx := newContext(t)
				r1, ep := dealerLibzmqRouter(t, zctx)
				var d probeDealer
				var waitDown func()
				if dk == "libzmq" {
					s := newSocket(t, zctx, zmq.DEALER)
					require.NoError(t, s.SetProbeRouter(1))
					require.NoError(t, s.SetImmediate(immediate))
					require.NoError(t, s.SetIdentity("prober"))
					mon := lifecycleWatch(t, zctx, s)
					d = probeDealer{
						connect: func(ep string) { require.NoError(t, s.Connect(ep)) },
						send:    func(m string) { zmqSend(t, s, []byte(m)) },
					}
					waitDown = func() {
						// CONNECT_RETRIED is armed after the session has
						// sent the socket the pipe's termination (with
						// IMMEDIATE), which GetEvents then processes.
						mon.waitFor(t, zmq.EVENT_DISCONNECTED)
						mon.waitFor(t, zmq.EVENT_CONNECT_RETRIED)
						_, err := s.GetEvents()
						require.NoError(t, err)
					}
				} else {
					zd := dealerNew(t, socket.WithProbe(true), socket.WithImmediate(immediate), socket.WithRoutingID([]byte("prober")))
					d = probeDealer{
						connect: func(ep string) { require.NoError(t, zd.Connect(ep)) },
						send:    func(m string) { dealerSend(t, zd, m) },
					}
					pipes := 1 // the connect's pipe stays, unless IMMEDIATE
					if immediate {
						pipes = 0
					}
					waitDown = func() {
						testutil.CheckFor(t, waitLimit, func() bool {
							st := zd.Stats()
							return st.Peers == 0 && st.Pipes == pipes
						}, "the DEALER sees the disconnect")
					}
				}
				d.connect(ep)
				// With IMMEDIATE the send waits for the pipe, and the
				// probe goes in first.
				d.send("one")
				assert.Equal(t, []string{"prober", ""}, strs(zmqRecv(t, r1)), "the probe")
				assert.Equal(t, []string{"prober", "one"}, strs(zmqRecv(t, r1)))

				require.NoError(t, r1.Close())
				waitDown()
				r2 := lifecycleZmqRouterAt(t, zctx, ep)
				d.send("after")
				if immediate {
					assert.Equal(t, []string{"prober", ""}, strs(zmqRecv(t, r2)), "a new pipe, a new probe")
				}
				assert.Equal(t, []string{"prober", "after"}, strs(zmqRecv(t, r2)))
			})
		}
	}

	// A DEALER with IMMEDIATE whose Send already waits for a pipe when
	// the connection comes up: libzmq writes the probe while it attaches
	// the pipe, inside that very send, so the probe still goes first. Many
	// DEALERs in a row, as this is where a hand-off could let the waiting
	// message overtake the probe.
	for _, dk := range []string{"libzmq", "zrouter"} {
		t.Run("probe-before-waiting-send/"+dk+"-dealers", func(t *testing.T) {
			t.Parallel()
			const dealers = 50
			zctx := newContext(t)
			r, ep := dealerLibzmqRouter(t, zctx)
			for i := range dealers {
				id := fmt.Sprintf("prober-%02d", i)
				if dk == "libzmq" {
					s := newSocket(t, zctx, zmq.DEALER)
					require.NoError(t, s.SetProbeRouter(1))
					require.NoError(t, s.SetImmediate(true))
					require.NoError(t, s.SetIdentity(id))
					require.NoError(t, s.Connect(ep))
					zmqSend(t, s, []byte("one")) // waits for the pipe
				} else {
					d := dealerNew(t, socket.WithProbe(true), socket.WithImmediate(true), socket.WithRoutingID([]byte(id)))
					require.NoError(t, d.Connect(ep))
					dealerSend(t, d, "one") // waits for the pipe
				}
			}
			first := make(map[string][]string)
			for range 2 * dealers {
				m := strs(zmqRecv(t, r))
				require.Len(t, m, 2)
				if _, ok := first[m[0]]; !ok {
					first[m[0]] = m
				}
			}
			for i := range dealers {
				id := fmt.Sprintf("prober-%02d", i)
				assert.Equal(t, []string{id, ""}, first[id], "the probe comes before the waiting message")
			}
		})
	}

	for _, rk := range []string{"libzmq", "zrouter"} {
		for _, dk := range []string{"libzmq", "zrouter"} {
			t.Run(fmt.Sprintf("dealer-gets-empty-frame/%s-router-to-%s-dealer", rk, dk), func(t *testing.T) {
				t.Parallel()
				zctx := newContext(t)
				var (
					ep        string
					pump      func() // the libzmq ROUTER attaches a bound pipe, and writes the probe, on its own thread's next call
					routerRcv func() []string
					routerSnd func(frames ...string)
				)
				if rk == "libzmq" {
					r := newSocket(t, zctx, zmq.ROUTER)
					require.NoError(t, r.SetProbeRouter(1))
					require.NoError(t, r.Bind("tcp://127.0.0.1:*"))
					var err error
					ep, err = r.GetLastEndpoint()
					require.NoError(t, err)
					pump = func() { _, _ = r.GetEvents() }
					routerRcv = func() []string { return strs(zmqRecv(t, r)) }
					routerSnd = func(frames ...string) { zmqSend(t, r, bs(frames...)...) }
				} else {
					r := newRouter(t, socket.WithProbe(true))
					ep = r.Addr()
					pump = func() {}
					routerRcv = func() []string { return strs(recvFrames(t, r)) }
					routerSnd = func(frames ...string) { sendFrames(t, r, bs(frames...)...) }
				}
				var (
					tryRecv    func() ([]string, bool)
					dealerRcv  func() []string
					dealerSnd  func(s string)
					connectErr error
				)
				if dk == "libzmq" {
					d := newSocket(t, zctx, zmq.DEALER)
					connectErr = d.Connect(ep)
					tryRecv = func() ([]string, bool) { return lifecycleRecvNow(d) }
					dealerRcv = func() []string { return strs(zmqRecv(t, d)) }
					dealerSnd = func(s string) { zmqSend(t, d, []byte(s)) }
				} else {
					d := dealerNew(t)
					connectErr = d.Connect(ep)
					tryRecv = func() ([]string, bool) {
						m, err := d.TryRecv()
						if err != nil {
							return nil, false
						}
						defer m.Release()
						return strs(copyFrames(m)), true
					}
					dealerRcv = func() []string { return dealerRecv(t, d) }
					dealerSnd = func(s string) { dealerSend(t, d, s) }
				}
				require.NoError(t, connectErr)
				var got []string
				testutil.CheckFor(t, waitLimit, func() bool {
					pump()
					var ok bool
					got, ok = tryRecv()
					return ok
				}, "the DEALER receives the probe")
				assert.Equal(t, []string{""}, got, "a single empty frame")

				// Nothing else came before the reply to the DEALER's
				// first message.
				dealerSnd("hi")
				m := routerRcv()
				require.Len(t, m, 2)
				require.Equal(t, "hi", m[1])
				routerSnd(m[0], "back")
				assert.Equal(t, []string{"back"}, dealerRcv())
			})
		}
	}

	t.Run("options", func(t *testing.T) {
		t.Parallel()
		zctx := newContext(t)
		ld := newSocket(t, zctx, zmq.DEALER)
		err := ld.SetRouterMandatory(1)
		assert.True(t, isErrno(err, zmq.Errno(syscall.EINVAL)), "libzmq DEALER ROUTER_MANDATORY: want EINVAL, got %v", err)
		assert.NoError(t, ld.SetProbeRouter(1), "libzmq DEALER PROBE_ROUTER")
		lr := newSocket(t, zctx, zmq.ROUTER)
		assert.NoError(t, lr.SetProbeRouter(1), "libzmq ROUTER PROBE_ROUTER")

		_, err = dealer.New(router.WithMandatory(true))
		assert.ErrorIs(t, err, socket.ErrBadOption, "zrouter DEALER with a ROUTER option")
		dealerNew(t, socket.WithProbe(true))
		newUnboundRouter(t, socket.WithProbe(true))
	})
}

// TestOptionRouterNotify: ZMQ_ROUTER_NOTIFY, a DRAFT option. The libzmq
// these tests link is a release build, as distributions ship it, without
// the draft API: setsockopt(97) is EINVAL on its ROUTER and DEALER alike,
// which is checked through a raw setsockopt (pebbe has no setter for it
// without its draft tag). libzmq's ROUTER with the option cannot run
// here, so zrouter's ROUTER with WithNotify is checked, against libzmq
// DEALER peers, for what libzmq's tests/test_router_notify.cpp asserts (and
// a draft build of 4.3.4 does):
//
//   - values 0 to 3 are taken, -1 and 4 refused (EINVAL), and a DEALER
//     refuses the option;
//   - NotifyConnect: [id, ""] before the DEALER's first message;
//   - NotifyDisconnect: no connect message; [id, ""] after the DEALER
//     closes (with linger -1, right after 20 sends), after all 20;
//   - both, the DEALER leaving by zmq_disconnect: [id, ""], [id, Hello],
//     then, once the DEALER's thread has processed the disconnect, [id, ""];
//   - neither: nothing, shown by a marker peer once the DEALER's pipe has
//     gone (Stats Pipes 0), and the same after a NotifyConnect DEALER leaves;
//   - a peer that fails the handshake gets no notification (marker);
//   - a frame over the maximum size in the middle of a multipart message
//     closes the connection: the partial message is dropped and only the
//     disconnect notification arrives (marker after it).
func TestOptionRouterNotify(t *testing.T) {
	t.Parallel()
	const routerNotify = zmqc.Option(97) // ZMQ_ROUTER_NOTIFY

	t.Run("libzmq-refuses", func(t *testing.T) {
		t.Parallel()
		zc, err := zmqc.NewContext()
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, zc.Term()) })
		for _, typ := range []zmqc.Type{zmqc.ROUTER, zmqc.DEALER} {
			s, err := zc.Socket(typ)
			require.NoError(t, err)
			for _, v := range []int{0, 1, 2, 3} {
				assert.Equal(t, zmqc.Errno(syscall.EINVAL), s.SetInt(routerNotify, v), "setsockopt(ZMQ_ROUTER_NOTIFY, %d) on socket type %d of a non-draft libzmq", v, typ)
			}
			require.NoError(t, s.Close())
		}
	})

	t.Run("values", func(t *testing.T) {
		t.Parallel()
		for _, v := range []router.Notify{0, router.NotifyConnect, router.NotifyDisconnect, router.NotifyConnect | router.NotifyDisconnect} {
			newUnboundRouter(t, router.WithNotify(v))
		}
		// test_sockopt_router_notify: -1 and 4 are EINVAL.
		for _, v := range []router.Notify{-1, 4} {
			r, err := router.New(router.WithNotify(v))
			if !assert.ErrorIs(t, err, socket.ErrBadOption, "WithNotify(%d)", v) {
				assert.NoError(t, r.Close())
			}
		}
		_, err := dealer.New(router.WithNotify(router.NotifyConnect))
		assert.ErrorIs(t, err, socket.ErrBadOption, "a DEALER refuses ROUTER_NOTIFY")
	})

	// leaveAndMark waits until the DEALER's pipe has gone from r, so that a
	// disconnect notification would already be queued, then has a marker
	// peer send, and returns what r receives next (two messages when r
	// notifies connects: the marker's own notification, then its message).
	leaveAndMark := func(t *testing.T, zctx *zmq.Context, r *router.Router, notifyConnect bool) [][]string {
		testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().Pipes == 0 }, "the DEALER's pipe leaves the ROUTER")
		lifecycleMarker(t, zctx, r.Addr())
		got := [][]string{strs(recvFrames(t, r))}
		if notifyConnect {
			got = append(got, strs(recvFrames(t, r)))
		}
		return got
	}
	markerConnect := []string{"marker", ""}

	t.Run("connect", func(t *testing.T) {
		t.Parallel()
		r := newRouter(t, router.WithNotify(router.NotifyConnect))
		zctx := newContext(t)
		d := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, d.SetIdentity("X"))
		require.NoError(t, d.Connect(r.Addr()))
		zmqSend(t, d, []byte("Hello"))
		assert.Equal(t, []string{"X", ""}, strs(recvFrames(t, r)), "connect notification first")
		assert.Equal(t, []string{"X", "Hello"}, strs(recvFrames(t, r)))
		require.NoError(t, d.Close())
		assert.Equal(t, [][]string{markerConnect, lifecycleMarkerMsg}, leaveAndMark(t, zctx, r, true), "no disconnect notification")
	})

	t.Run("disconnect", func(t *testing.T) {
		t.Parallel()
		const n = 20
		r := newRouter(t, router.WithNotify(router.NotifyDisconnect))
		zctx := lifecycleContext(t)
		d := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, d.SetLinger(-1))
		require.NoError(t, d.SetIdentity("X"))
		require.NoError(t, d.Connect(r.Addr()))
		for i := range n {
			zmqSend(t, d, []byte(lifecycleMsg(i)))
		}
		require.NoError(t, d.Close(), "the reaper delivers, then closes the connection")
		for i := range n {
			require.Equal(t, []string{"X", lifecycleMsg(i)}, strs(recvFrames(t, r)), "no connect notification; the messages in order")
		}
		assert.Equal(t, []string{"X", ""}, strs(recvFrames(t, r)), "disconnect notification after the last message")
		assert.Equal(t, [][]string{lifecycleMarkerMsg}, leaveAndMark(t, zctx, r, false), "one disconnect notification")
	})

	t.Run("both-zmq-disconnect", func(t *testing.T) {
		t.Parallel()
		r := newRouter(t, router.WithNotify(router.NotifyConnect|router.NotifyDisconnect))
		zctx := newContext(t)
		d := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, d.SetIdentity("X"))
		require.NoError(t, d.Connect(r.Addr()))
		assert.Equal(t, []string{"X", ""}, strs(recvFrames(t, r)), "connect notification")
		zmqSend(t, d, []byte("Hello"))
		assert.Equal(t, []string{"X", "Hello"}, strs(recvFrames(t, r)))
		require.NoError(t, d.Disconnect(r.Addr()))
		var got []string
		testutil.CheckFor(t, waitLimit, func() bool {
			_, _ = d.GetEvents() // the DEALER's thread finishes the disconnect
			m, err := r.TryRecv()
			if err != nil {
				return false
			}
			defer m.Release()
			got = strs(copyFrames(m))
			return true
		}, "the disconnect notification")
		assert.Equal(t, []string{"X", ""}, got, "disconnect notification")
	})

	t.Run("neither", func(t *testing.T) {
		t.Parallel()
		r := newRouter(t)
		zctx := newContext(t)
		d := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, d.SetIdentity("X"))
		require.NoError(t, d.Connect(r.Addr()))
		zmqSend(t, d, []byte("Hello"))
		assert.Equal(t, []string{"X", "Hello"}, strs(recvFrames(t, r)), "no connect notification")
		require.NoError(t, d.Close())
		assert.Equal(t, [][]string{lifecycleMarkerMsg}, leaveAndMark(t, zctx, r, false), "no disconnect notification")
	})

	t.Run("handshake-fails", func(t *testing.T) {
		t.Parallel()
		r := newRouter(t, router.WithNotify(router.NotifyConnect|router.NotifyDisconnect))
		c, err := net.Dial("tcp", tcpAddr(t, r.Addr()))
		require.NoError(t, err)
		_, err = c.Write([]byte("not-a-handshake"))
		require.NoError(t, err)
		require.NoError(t, c.Close())
		testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().HandshakeFailed == 1 }, "the handshake fails")
		assert.Equal(t, [][]string{markerConnect, lifecycleMarkerMsg}, leaveAndMark(t, newContext(t), r, true), "no notification for the failed peer")
	})

	t.Run("error-during-multipart", func(t *testing.T) {
		t.Parallel()
		r := newRouter(t, router.WithNotify(router.NotifyDisconnect), socket.WithMaxMsgSize(64))
		zctx := newContext(t)
		d := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, d.SetIdentity("X"))
		require.NoError(t, d.Connect(r.Addr()))
		zmqSend(t, d, []byte("Hello2"), []byte(strings.Repeat("x", 127)))
		assert.Equal(t, []string{"X", ""}, strs(recvFrames(t, r)), "only the disconnect notification: the partial message is dropped")
		// The DEALER reconnects, and sends nothing more.
		lifecycleMarker(t, zctx, r.Addr())
		assert.Equal(t, lifecycleMarkerMsg, strs(recvFrames(t, r)))
	})
}

// TestOptionConnectRoutingID: ZMQ_CONNECT_ROUTING_ID. Without
// IMMEDIATE, libzmq registers the connect's pipe under that id during
// zmq_connect, so a ROUTER with ROUTER_MANDATORY that connects to an
// endpoint where nothing listens can send to the id at once: no
// EHOSTUNREACH; the message waits and reaches the ROUTER that binds there
// later, which sees the sender's own routing id ("CLIENT"); its reply comes
// back under the local name ("peer"), not under the id the peer announced
// ("SRV"). zrouter must do the same. A second Connect with a connect
// routing id already in use is socket.ErrRoutingIDTaken in zrouter;
// libzmq aborts the process on it (zmq_assert in router.cpp), so that part
// is not run with libzmq.
//
// With IMMEDIATE there is no pipe before the handshake, so the send fails
// with EHOSTUNREACH (socket.ErrHostUnreachable). The pipe made after the
// handshake is attached by process_bind, which passes
// locally_initiated=false to router_t::identify_peer, so libzmq does not
// use the connect routing id for it at all: the peer is known by the id
// it announced ("SRV"), and "peer" stays unreachable.
func TestOptionConnectRoutingID(t *testing.T) {
	t.Parallel()
	t.Run("queued-before-bind/libzmq", func(t *testing.T) {
		t.Parallel()
		zctx := newContext(t)
		ep := lifecycleEndpoint(t)
		a := newSocket(t, zctx, zmq.ROUTER)
		require.NoError(t, a.SetRouterMandatory(1))
		require.NoError(t, a.SetIdentity("CLIENT"))
		require.NoError(t, a.SetConnectRid("peer"))
		require.NoError(t, a.Connect(ep))
		require.NoError(t, lifecycleZmqTrySend(a, "peer", "hello"), "mandatory send to the connect routing id before any connection")

		b := newSocket(t, zctx, zmq.ROUTER)
		require.NoError(t, b.SetIdentity("SRV"))
		testutil.CheckFor(t, waitLimit, func() bool { return b.Bind(ep) == nil }, "bind %s", ep)
		assert.Equal(t, []string{"CLIENT", "hello"}, strs(zmqRecv(t, b)))
		zmqSend(t, b, bs("CLIENT", "reply")...)
		assert.Equal(t, []string{"peer", "reply"}, strs(zmqRecv(t, a)), "the reply comes under the connect routing id")
	})
	t.Run("queued-before-bind/zrouter", func(t *testing.T) {
		t.Parallel()
		zctx := newContext(t)
		ep := lifecycleEndpoint(t)
		a := newUnboundRouter(t, router.WithMandatory(true), socket.WithRoutingID([]byte("CLIENT")))
		require.NoError(t, a.Connect(ep, router.ConnectRoutingID([]byte("peer"))))
		require.NoError(t, lifecycleTrySend(a.TrySend, "peer", "hello"), "mandatory send to the connect routing id before any connection")

		b := newSocket(t, zctx, zmq.ROUTER)
		require.NoError(t, b.SetIdentity("SRV"))
		testutil.CheckFor(t, waitLimit, func() bool { return b.Bind(ep) == nil }, "bind %s", ep)
		assert.Equal(t, []string{"CLIENT", "hello"}, strs(zmqRecv(t, b)))
		zmqSend(t, b, bs("CLIENT", "reply")...)
		assert.Equal(t, []string{"peer", "reply"}, strs(recvFrames(t, a)), "the reply comes under the connect routing id")

		// libzmq: Assertion failed: !has_out_pipe (routing_id), SIGABRT.
		err := a.Connect(lifecycleEndpoint(t), router.ConnectRoutingID([]byte("peer")))
		assert.ErrorIs(t, err, socket.ErrRoutingIDTaken, "a second Connect with the same connect routing id")
	})
	t.Run("immediate/libzmq", func(t *testing.T) {
		t.Parallel()
		zctx := newContext(t)
		ep := lifecycleEndpoint(t)
		a := newSocket(t, zctx, zmq.ROUTER)
		require.NoError(t, a.SetRouterMandatory(1))
		require.NoError(t, a.SetImmediate(true))
		require.NoError(t, a.SetIdentity("CLIENT"))
		require.NoError(t, a.SetConnectRid("peer"))
		require.NoError(t, a.Connect(ep))
		err := lifecycleZmqTrySend(a, "peer", "hello")
		assert.True(t, isErrno(err, zmq.EHOSTUNREACH), "no pipe before the handshake: want EHOSTUNREACH, got %v", err)

		b := newSocket(t, zctx, zmq.ROUTER)
		require.NoError(t, b.SetIdentity("SRV"))
		testutil.CheckFor(t, waitLimit, func() bool { return b.Bind(ep) == nil }, "bind %s", ep)
		testutil.CheckFor(t, waitLimit, func() bool {
			return lifecycleZmqTrySend(a, "SRV", "after-handshake") == nil
		}, "the connection is up, its pipe named by the peer's own routing id")
		assert.Equal(t, []string{"CLIENT", "after-handshake"}, strs(zmqRecv(t, b)))
		err = lifecycleZmqTrySend(a, "peer", "hello")
		assert.True(t, isErrno(err, zmq.EHOSTUNREACH), "the connect routing id is not used after the handshake: want EHOSTUNREACH, got %v", err)
	})
	t.Run("immediate/zrouter", func(t *testing.T) {
		t.Parallel()
		zctx := newContext(t)
		ep := lifecycleEndpoint(t)
		a := newUnboundRouter(t, router.WithMandatory(true), socket.WithImmediate(true), socket.WithRoutingID([]byte("CLIENT")))
		require.NoError(t, a.Connect(ep, router.ConnectRoutingID([]byte("peer"))))
		assert.ErrorIs(t, lifecycleTrySend(a.TrySend, "peer", "hello"), socket.ErrHostUnreachable, "no pipe before the handshake")
		err := a.SendFrames(testutil.Context(t, waitLimit), bs("peer", "hello")...)
		assert.ErrorIs(t, err, socket.ErrHostUnreachable, "Send does not wait for the pipe either")

		b := newSocket(t, zctx, zmq.ROUTER)
		require.NoError(t, b.SetIdentity("SRV"))
		testutil.CheckFor(t, waitLimit, func() bool { return b.Bind(ep) == nil }, "bind %s", ep)
		require.NoError(t, a.WaitPeers(testutil.Context(t, waitLimit), 1))
		// Deliberately unlike libzmq, above, which attaches the pipe of an
		// immediate connection as if the peer had connected and so names
		// it by the peer's announced id ("SRV"), leaving the connect
		// routing id unused: zrouter names it "peer", as the option asks.
		require.NoError(t, lifecycleTrySend(a.TrySend, "peer", "after-handshake"), "the connect routing id names the pipe")
		assert.Equal(t, []string{"CLIENT", "after-handshake"}, strs(zmqRecv(t, b)))
		var ue *socket.UnroutableError
		assert.ErrorAs(t, lifecycleTrySend(a.TrySend, "SRV", "hello"), &ue, "the peer's own id names nothing")
	})
}

// TestOptionRouterSendIDOnly: a ROUTER send of a routing id alone, with no
// frame after it. libzmq's router_t::xsend skips the routing when the
// first frame has no MORE flag: zmq_send returns the frame's size
// and nothing is sent, with or without ROUTER_MANDATORY, for a known id and
// for an unknown one (only [unknown id]+SNDMORE is EHOSTUNREACH with
// mandatory). The peer's next message is a marker sent afterwards. zrouter:
// Send of [id] returns nil, the marker is what the peer gets next, and each
// such send counts in Stats.DroppedEmpty (not in Unroutable).
func TestOptionRouterSendIDOnly(t *testing.T) {
	t.Parallel()
	for _, mandatory := range []bool{false, true} {
		t.Run(fmt.Sprintf("mandatory=%v/libzmq", mandatory), func(t *testing.T) {
			t.Parallel()
			zctx := newContext(t)
			r, ep := dealerLibzmqRouter(t, zctx)
			if mandatory {
				require.NoError(t, r.SetRouterMandatory(1))
			}
			d := newSocket(t, zctx, zmq.DEALER)
			require.NoError(t, d.SetIdentity("PEER"))
			require.NoError(t, d.Connect(ep))
			zmqSend(t, d, []byte("hi"))
			require.Equal(t, []string{"PEER", "hi"}, strs(zmqRecv(t, r)), "the ROUTER knows PEER")

			size, err := r.Send("PEER", 0)
			assert.NoError(t, err, "[PEER] alone")
			assert.Equal(t, 4, size)
			size, err = r.Send("NOBODY", 0)
			assert.NoError(t, err, "[NOBODY] alone")
			assert.Equal(t, 6, size)
			if mandatory {
				_, err = r.Send("NOBODY", zmq.SNDMORE)
				assert.True(t, isErrno(err, zmq.EHOSTUNREACH), "[NOBODY]+SNDMORE: want EHOSTUNREACH, got %v", err)
			}
			zmqSend(t, r, bs("PEER", "after")...)
			assert.Equal(t, []string{"after"}, strs(zmqRecv(t, d)), "the marker is the DEALER's next message")
		})
		t.Run(fmt.Sprintf("mandatory=%v/zrouter", mandatory), func(t *testing.T) {
			t.Parallel()
			zctx := newContext(t)
			r := newRouter(t, router.WithMandatory(mandatory))
			d := newSocket(t, zctx, zmq.DEALER)
			require.NoError(t, d.SetIdentity("PEER"))
			require.NoError(t, d.Connect(r.Addr()))
			zmqSend(t, d, []byte("hi"))
			require.Equal(t, []string{"PEER", "hi"}, strs(recvFrames(t, r)), "the ROUTER knows PEER")

			ctx := testutil.Context(t, waitLimit)
			assert.NoError(t, r.SendFrames(ctx, []byte("PEER")), "[PEER] alone")
			assert.NoError(t, r.SendFrames(ctx, []byte("NOBODY")), "[NOBODY] alone")
			assert.NoError(t, lifecycleTrySend(r.TrySend, "NOBODY"), "[NOBODY] alone, TrySend")
			if mandatory {
				err := r.SendFrames(ctx, bs("NOBODY", "x")...)
				assert.ErrorIs(t, err, socket.ErrHostUnreachable, "[NOBODY, x]")
			}
			st := r.Stats()
			assert.EqualValues(t, 3, st.DroppedEmpty)
			assert.Zero(t, st.Unroutable)
			sendFrames(t, r, bs("PEER", "after")...)
			assert.Equal(t, []string{"after"}, strs(zmqRecv(t, d)), "the marker is the DEALER's next message")
		})
	}
}
