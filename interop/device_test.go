package interop

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/device"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/router"
)

// deviceProxy is a device.Proxy between a zrouter ROUTER frontend and a
// zrouter DEALER backend, both bound on loopback.
type deviceProxy struct {
	p     *device.Proxy
	front *router.Router
	back  *dealer.Dealer
	done  chan error // yields Run's error
}

// runDeviceProxy runs a deviceProxy with the given options until the test
// ends.
func runDeviceProxy(t *testing.T, opts ...device.Option) *deviceProxy {
	t.Helper()
	x := &deviceProxy{front: newRouter(t), done: make(chan error, 1)}
	var err error
	x.back, err = dealer.New(noLinger)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, x.back.Close()) })
	require.NoError(t, x.back.Bind("tcp://127.0.0.1:0"))
	x.p, err = device.NewProxy(x.front, x.back, opts...)
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() { x.done <- x.p.Run(context.Background()) })
	t.Cleanup(func() { x.p.Terminate(); wg.Wait() })
	return x
}

// TestDeviceProxyReqRep: libzmq REQ clients and libzmq REP workers through
// device.Proxy(ROUTER, DEALER): every client gets the answer to its own
// request, the work is spread over both workers, and the proxy's counters
// are exact, bytes over every frame as libzmq's proxy counts them.
func TestDeviceProxyReqRep(t *testing.T) {
	x := runDeviceProxy(t)
	zctx := newContext(t)
	workers := []*zmqWorker{
		startWorker(t, zctx, zmq.REP, x.back.Addr(), "w1"),
		startWorker(t, zctx, zmq.REP, x.back.Addr(), "w2"),
	}
	testutil.CheckFor(t, waitLimit, func() bool { return x.back.Stats().Peers == 2 }, "both workers connected")
	clients := brokerClients(t, zctx, x.front.Addr(), 4)
	const rounds = 10
	known := func(w string) bool { return w == "w1" || w == "w2" }
	brokerRounds(t, clients, rounds, known)
	for _, w := range workers {
		assert.Positive(t, w.handled.Load(), "worker %s got work", w.name)
	}

	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	require.NoError(t, x.p.Pause(ctx))
	const n = 4 * rounds
	// [id, "", "cI-R"] in, [id, "", "wN:cI-R"] back; zrouter makes 5-byte
	// ids, as libzmq does.
	req, rep := uint64(5+len("c0-0")), uint64(5+len("w1:c0-0"))
	assert.Equal(t, device.ProxyStats{
		Frontend: device.SideStats{MsgsIn: n, BytesIn: n * req, MsgsOut: n, BytesOut: n * rep},
		Backend:  device.SideStats{MsgsIn: n, BytesIn: n * rep, MsgsOut: n, BytesOut: n * req},
	}, x.p.Stats())
	x.p.Resume()
	brokerRounds(t, clients, 1, known)
}

// steerable is a proxy with a control socket, libzmq's or zrouter's: the
// endpoints to connect to, and a channel that yields the proxy's result.
type steerable struct {
	front, back, control string
	done                 <-chan error
}

// libzmqSteerable runs libzmq's zmq_proxy_steerable(ROUTER, DEALER, NULL,
// DEALER) on sockets bound on loopback. The test must end it with
// TERMINATE; a cleanup sends one should the test fail first.
func libzmqSteerable(t *testing.T, zctx *zmq.Context) steerable {
	t.Helper()
	bind := func(typ zmq.Type) (*zmq.Socket, string) {
		s := newSocket(t, zctx, typ)
		require.NoError(t, s.Bind("tcp://127.0.0.1:*"))
		ep, err := s.GetLastEndpoint()
		require.NoError(t, err)
		return s, ep
	}
	front, fe := bind(zmq.ROUTER)
	back, be := bind(zmq.DEALER)
	ctl, ce := bind(zmq.DEALER)
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		done <- zmq.ProxySteerable(front, back, nil, ctl)
	}()
	t.Cleanup(func() {
		select {
		case <-finished:
			return
		default:
		}
		s := newSocketNoCleanup(t, zctx, zmq.DEALER)
		defer s.Close()
		if s.Connect(ce) == nil {
			_, _ = s.Send("TERMINATE", 0)
		}
		<-finished
	})
	return steerable{fe, be, ce, done}
}

// newSocketNoCleanup is newSocket for a socket the caller closes.
func newSocketNoCleanup(t *testing.T, zctx *zmq.Context, typ zmq.Type) *zmq.Socket {
	t.Helper()
	s, err := zctx.NewSocket(typ)
	require.NoError(t, err)
	require.NoError(t, s.SetLinger(0))
	require.NoError(t, s.SetSndtimeo(ioTimeout))
	return s
}

// zrouterSteerable runs device.Proxy(ROUTER, DEALER) with a zrouter DEALER
// as its control socket.
func zrouterSteerable(t *testing.T) steerable {
	t.Helper()
	ctl, err := dealer.New(noLinger)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, ctl.Close()) })
	require.NoError(t, ctl.Bind("tcp://127.0.0.1:0"))
	x := runDeviceProxy(t, device.WithControl(ctl))
	return steerable{x.front.Addr(), x.back.Addr(), ctl.Addr(), x.done}
}

// statistics sends STATISTICS on ctl and returns the 8 counters of the
// reply, checking its shape: 8 frames of 8 bytes.
func statistics(t *testing.T, ctl *zmq.Socket) [8]uint64 {
	t.Helper()
	zmqSend(t, ctl, []byte("STATISTICS"))
	reply := zmqRecv(t, ctl)
	require.Len(t, reply, 8, "STATISTICS reply frames")
	var out [8]uint64
	for i, f := range reply {
		require.Len(t, f, 8, "frame %d", i)
		out[i] = binary.LittleEndian.Uint64(f)
	}
	return out
}

// TestDeviceProxySteerable drives libzmq's zmq_proxy_steerable and
// device.Proxy's control socket from a libzmq DEALER with the same script
// and the same REQ client and REP worker, and checks that both answer
// STATISTICS with the same 8 counters, pause, resume and terminate alike.
func TestDeviceProxySteerable(t *testing.T) {
	kinds := []struct {
		name string
		run  func(t *testing.T, zctx *zmq.Context) steerable
	}{
		{"libzmq", libzmqSteerable},
		{"zrouter", func(t *testing.T, _ *zmq.Context) steerable { return zrouterSteerable(t) }},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			zctx := newContext(t)
			px := k.run(t, zctx)
			startWorker(t, zctx, zmq.REP, px.back, "w")
			client := newSocket(t, zctx, zmq.REQ)
			require.NoError(t, client.SetIdentity("client"))
			require.NoError(t, client.Connect(px.front))
			ctl := newSocket(t, zctx, zmq.DEALER)
			require.NoError(t, ctl.Connect(px.control))

			// [client, "", one] goes to the worker, [client, "", w:one]
			// comes back: 9 and 11 bytes.
			zmqSend(t, client, []byte("one"))
			assert.Equal(t, []string{"w:one"}, strs(zmqRecv(t, client)))
			one := [8]uint64{1, 9, 1, 11, 1, 11, 1, 9}
			// zrouter counts a message once its Send has returned,
			// which may be just after the client has the reply.
			var got [8]uint64
			testutil.CheckFor(t, waitLimit, func() bool { got = statistics(t, ctl); return got == one }, "counters after one round trip")
			assert.Equal(t, one, got)

			// The answer to a STATISTICS after PAUSE says the pause has
			// been seen; a request sent then waits for RESUME.
			zmqSend(t, ctl, []byte("PAUSE"))
			assert.Equal(t, one, statistics(t, ctl))
			zmqSend(t, client, []byte("two"))
			assert.Equal(t, one, statistics(t, ctl), "nothing moves while paused")
			zmqSend(t, ctl, []byte("RESUME"))
			assert.Equal(t, []string{"w:two"}, strs(zmqRecv(t, client)))
			two := [8]uint64{2, 18, 2, 22, 2, 22, 2, 18}
			testutil.CheckFor(t, waitLimit, func() bool { got = statistics(t, ctl); return got == two }, "counters after two round trips")

			zmqSend(t, ctl, []byte("TERMINATE"))
			select {
			case err := <-px.done:
				assert.NoError(t, err, "the proxy's result after TERMINATE")
			case <-time.After(waitLimit):
				t.Fatal("the proxy did not end after TERMINATE")
			}
		})
	}
}
