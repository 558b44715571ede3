package device_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/device"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
)

// runLB starts a LoadBalancer on loopback with the given queue and stops
// it when the test ends.
func runLB(t *testing.T, queue int) (*device.LoadBalancer, *router.Router, *router.Router) {
	t.Helper()
	front, back := newRouter(t), newRouter(t, router.WithMandatory(true))
	l, err := device.NewLoadBalancer(front, back, device.WithQueue(queue))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	start(t, func(context.Context) error { return l.Run(ctx) }, cancel)
	return l, front, back
}

// readyWorker sends READY on d, with or without the delimiter, then
// answers every request with its envelope and "NAME:BODY".
func readyWorker(ctx context.Context, d *dealer.Dealer, name string, delim bool) {
	var err error
	if delim {
		err = d.SendFrames(ctx, nil, []byte(device.Ready))
	} else {
		err = d.SendFrames(ctx, []byte(device.Ready))
	}
	if err == nil {
		echoWorker(ctx, d, name)
	}
}

func startReadyWorker(t *testing.T, endpoint, name string, delim bool) *dealer.Dealer {
	t.Helper()
	d := newDealer(t, endpoint)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { readyWorker(ctx, d, name, delim) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return d
}

// TestLoadBalancerReady: workers that speak the ready protocol, with and
// without the delimiter, serve every client, and requests go to the
// worker that has waited longest.
func TestLoadBalancerReady(t *testing.T) {
	for _, delim := range []bool{true, false} {
		t.Run(fmt.Sprint("delim=", delim), func(t *testing.T) {
			l, front, back := runLB(t, 10)
			ctx := testCtx(t)
			startReadyWorker(t, back.Addr(), "w1", delim)
			testutil.CheckFor(t, waitFor, func() bool { return l.Stats().ReadyWorkers == 1 }, "w1 ready")
			startReadyWorker(t, back.Addr(), "w2", delim)
			testutil.CheckFor(t, waitFor, func() bool { return l.Stats().ReadyWorkers == 2 }, "w2 ready")

			clients := []*dealer.Dealer{newDealer(t, front.Addr()), newDealer(t, front.Addr())}
			// One request at a time: the worker that answered goes to
			// the back of the line, so the workers take turns.
			want := []string{"w1", "w2"}
			for i := range 6 {
				c := clients[i%2]
				req := fmt.Sprint("r", i)
				sendFrames(t, ctx, c, "", req)
				assert.Equal(t, frames("", want[i%2]+":"+req), recvFrames(t, ctx, c))
				testutil.CheckFor(t, waitFor, func() bool { return l.Stats().ReadyWorkers == 2 }, "both ready again")
			}
			st := l.Stats()
			assert.Equal(t, device.LoadBalancerStats{ReadyWorkers: 2, Dispatched: 6, Replied: 6}, st)
		})
	}
}

// TestLoadBalancerRawWorker drives the backend by hand, as a REQ worker's
// wire looks from a DEALER: the exact frames of the protocol.
func TestLoadBalancerRawWorker(t *testing.T) {
	l, front, back := runLB(t, 10)
	ctx := testCtx(t)
	w := newDealer(t, back.Addr())
	sendFrames(t, ctx, w, "", device.Ready)
	testutil.CheckFor(t, waitFor, func() bool { return l.Stats().ReadyWorkers == 1 }, "worker ready")

	c := newDealer(t, front.Addr(), socket.WithRoutingID([]byte("client-1")))
	sendFrames(t, ctx, c, "", "hello")
	assert.Equal(t, frames("", "client-1", "", "hello"), recvFrames(t, ctx, w))
	sendFrames(t, ctx, w, "", "client-1", "", "world")
	assert.Equal(t, frames("", "world"), recvFrames(t, ctx, c))

	// A message that names a client but carries nothing for it is no
	// reply; the worker is ready again all the same.
	sendFrames(t, ctx, c, "", "again")
	assert.Equal(t, frames("", "client-1", "", "again"), recvFrames(t, ctx, w))
	sendFrames(t, ctx, w, "", "client-1")
	sendFrames(t, ctx, c, "", "third")
	assert.Equal(t, frames("", "client-1", "", "third"), recvFrames(t, ctx, w))
	sendFrames(t, ctx, w, "", "client-1", "", "done")
	assert.Equal(t, frames("", "done"), recvFrames(t, ctx, c))
	// A reply counts once the frontend has taken it, which may be just
	// after the client has it.
	testutil.CheckFor(t, waitFor, func() bool { return l.Stats().Replied == 2 }, "two replies counted")
}

// TestLoadBalancerQueue: requests wait for a worker up to the queue,
// beyond which they are dropped and counted; the waiting ones are served
// in order once a worker is ready, and a worker that has gone is skipped.
func TestLoadBalancerQueue(t *testing.T) {
	l, front, back := runLB(t, 2)
	ctx := testCtx(t)

	gone, err := dealer.New()
	require.NoError(t, err)
	require.NoError(t, gone.Connect(back.Addr()))
	require.NoError(t, gone.SendFrames(ctx, nil, []byte(device.Ready)))
	testutil.CheckFor(t, waitFor, func() bool { return l.Stats().ReadyWorkers == 1 }, "gone worker ready")
	require.NoError(t, gone.Close())
	testutil.CheckFor(t, waitFor, func() bool { return back.Stats().Peers == 0 }, "gone worker disconnected")

	c := newDealer(t, front.Addr())
	for i := range 4 {
		sendFrames(t, ctx, c, "", fmt.Sprint("r", i))
	}
	testutil.CheckFor(t, waitFor, func() bool {
		st := l.Stats()
		return st.Queued == 2 && st.QueueDropped == 2
	}, "two queued, two dropped")
	assert.Zero(t, l.Stats().ReadyWorkers, "the gone worker's entry was used up")

	startReadyWorker(t, back.Addr(), "w1", true)
	assert.Equal(t, frames("", "w1:r0"), recvFrames(t, ctx, c))
	assert.Equal(t, frames("", "w1:r1"), recvFrames(t, ctx, c))
	testutil.CheckFor(t, waitFor, func() bool { return l.Stats().Queued == 0 }, "queue empty")
}

// TestLoadBalancerPrune: ready entries of workers that came and went are
// pruned once they pile up.
func TestLoadBalancerPrune(t *testing.T) {
	defer device.SetMinPrune(8)()
	l, _, back := runLB(t, 10)
	ctx := testCtx(t)
	const dead, live = 6, 4
	var gone []*dealer.Dealer
	for i := range dead {
		w := newDealer(t, back.Addr())
		sendFrames(t, ctx, w, "", device.Ready)
		testutil.CheckFor(t, waitFor, func() bool { return l.Stats().ReadyWorkers == i+1 }, "entry queued")
		gone = append(gone, w)
	}
	for _, w := range gone {
		require.NoError(t, w.Close())
	}
	testutil.CheckFor(t, waitFor, func() bool { return back.Stats().Peers == 0 }, "workers gone")
	// The second new worker takes the list to 8, where the gone workers'
	// entries are pruned: fewer than 6 can only be the new workers'.
	for i := range live {
		w := newDealer(t, back.Addr())
		sendFrames(t, ctx, w, "", device.Ready)
		if i == 1 {
			testutil.CheckFor(t, waitFor, func() bool { return l.Stats().ReadyWorkers == 2 }, "dead entries pruned")
		}
	}
	testutil.CheckFor(t, waitFor, func() bool { return l.Stats().ReadyWorkers == live }, "live workers ready")
}

// TestLoadBalancerRepeatedReady: a worker that sends READY again and again
// waits in the ready list once, and the repeats are counted; it once put an
// entry in the list for every READY, without bound.
func TestLoadBalancerRepeatedReady(t *testing.T) {
	l, front, back := runLB(t, 10)
	ctx := testCtx(t)
	const n = 1000
	w := newDealer(t, back.Addr())
	for range n {
		sendFrames(t, ctx, w, "", device.Ready)
	}
	testutil.CheckFor(t, waitFor, func() bool { return l.Stats().ReadyRepeated == n-1 }, "repeats counted")
	assert.Equal(t, 1, l.Stats().ReadyWorkers)

	// Still one worker, and it is given a request.
	c := newDealer(t, front.Addr())
	sendFrames(t, ctx, c, "", "req")
	got := recvFrames(t, ctx, w)
	require.Len(t, got, 4)
	assert.Equal(t, frames("", "", "req"), [][]byte{got[0], got[2], got[3]})
	testutil.CheckFor(t, waitFor, func() bool { return l.Stats().ReadyWorkers == 0 }, "worker busy")
}

// TestLoadBalancerEnd: Run returns ctx's error when ctx ends and
// net.ErrClosed when a socket closes, dropping what it held; it runs once.
func TestLoadBalancerEnd(t *testing.T) {
	t.Run("context", func(t *testing.T) {
		front, back := newRouter(t), newRouter(t, router.WithMandatory(true))
		l, err := device.NewLoadBalancer(front, back)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		r := start(t, func(context.Context) error { return l.Run(ctx) }, cancel)
		c := newDealer(t, front.Addr())
		sendFrames(t, testCtx(t), c, "", "waits")
		testutil.CheckFor(t, waitFor, func() bool { return l.Stats().Queued == 1 }, "queued")
		cancel()
		assert.ErrorIs(t, r.wait(t), context.Canceled)
		assert.Zero(t, l.Stats().Queued, "the queue is dropped")
		assert.ErrorIs(t, l.Run(context.Background()), device.ErrRunning)
	})
	t.Run("socket closed", func(t *testing.T) {
		front, back := newRouter(t), newRouter(t, router.WithMandatory(true))
		l, err := device.NewLoadBalancer(front, back)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		r := start(t, func(context.Context) error { return l.Run(ctx) }, cancel)
		require.NoError(t, back.Close())
		assert.ErrorIs(t, r.wait(t), net.ErrClosed)
	})
}

func TestNewLoadBalancer(t *testing.T) {
	front, mand := newRouter(t), newRouter(t, router.WithMandatory(true))
	plain := newRouter(t)
	lbMode := newRouter(t, router.WithMode(router.LoadBalancer), router.WithMandatory(true))
	tests := []struct {
		name        string
		front, back *router.Router
		opts        []device.Option
		wantErr     error
	}{
		{"ok", front, mand, nil, nil},
		{"backend not mandatory", front, plain, nil, device.ErrBadSocket},
		{"backend load balancing", front, lbMode, nil, device.ErrBadSocket},
		{"frontend load balancing", lbMode, mand, nil, device.ErrBadSocket},
		{"one socket", mand, mand, nil, device.ErrBadSocket},
		{"nil", nil, mand, nil, device.ErrBadSocket},
		{"negative queue", front, mand, []device.Option{device.WithQueue(-1)}, device.ErrBadOption},
		{"proxy option", front, mand, []device.Option{device.WithCapture(plain)}, device.ErrBadOption},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := device.NewLoadBalancer(tc.front, tc.back, tc.opts...)
			if tc.wantErr == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tc.wantErr)
			}
		})
	}
}
