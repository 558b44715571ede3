package device_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/zrouter/zrouter/internal/testutil"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/device"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
)

const waitFor = 10 * time.Second

// testCtx returns a context that ends with the test or after waitFor.
func testCtx(t *testing.T) context.Context { return testutil.Context(t, waitFor) }

// noLinger comes first in the options of the tests' sockets: they drop
// what is queued at Close.
var noLinger = socket.WithLinger(0)

// newRouter binds a Router on a free loopback port, closed when the test
// ends.
func newRouter(t *testing.T, opts ...socket.Option) *router.Router {
	t.Helper()
	r, err := router.New(append([]socket.Option{noLinger}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, r.Close()) })
	require.NoError(t, r.Bind("tcp://127.0.0.1:0"))
	return r
}

// boundDealer binds a Dealer on a free loopback port, closed when the test
// ends.
func boundDealer(t *testing.T, opts ...socket.Option) *dealer.Dealer {
	t.Helper()
	d, err := dealer.New(append([]socket.Option{noLinger}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, d.Close()) })
	require.NoError(t, d.Bind("tcp://127.0.0.1:0"))
	return d
}

// newDealer returns a Dealer connected to endpoint, closed when the test
// ends.
func newDealer(t *testing.T, endpoint string, opts ...socket.Option) *dealer.Dealer {
	t.Helper()
	d, err := dealer.New(append([]socket.Option{noLinger}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, d.Close()) })
	require.NoError(t, d.Connect(endpoint))
	return d
}

// recvFrames receives one message on s and returns copies of its frames.
func recvFrames(t *testing.T, ctx context.Context, s device.Socket) [][]byte {
	t.Helper()
	m, err := s.Recv(ctx)
	require.NoError(t, err)
	defer m.Release()
	out := make([][]byte, len(m.Frames))
	for i, f := range m.Frames {
		out[i] = bytes.Clone(f)
	}
	return out
}

// frames builds a [][]byte from strings.
func frames(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// sendFrames sends a message of frames on s.
func sendFrames(t *testing.T, ctx context.Context, s device.Socket, ss ...string) {
	t.Helper()
	m := wire.New(frames(ss...)...)
	if err := s.Send(ctx, m); err != nil {
		m.Release()
		require.NoError(t, err)
	}
}

// runner is a device's Run in the background.
type runner struct {
	done chan struct{}
	err  error
}

// start runs run in a goroutine; the returned runner's wait gives its
// error. When the test ends, stop is called and run waited for.
func start(t *testing.T, run func(context.Context) error, stop func()) *runner {
	t.Helper()
	r := &runner{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = run(context.Background())
	}()
	t.Cleanup(func() {
		stop()
		select {
		case <-r.done:
		case <-time.After(waitFor):
			t.Error("device did not stop")
		}
	})
	return r
}

// wait waits for Run to return and gives its error.
func (r *runner) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(waitFor):
		t.Fatal("device did not stop")
		return nil
	}
}

// runProxy runs p until the test ends, when it is terminated.
func runProxy(t *testing.T, p *device.Proxy) *runner {
	t.Helper()
	return start(t, p.Run, p.Terminate)
}

// echoWorker answers every request on d with its envelope and "NAME:BODY",
// until ctx ends or d closes, as a REP worker behind a DEALER would.
func echoWorker(ctx context.Context, d *dealer.Dealer, name string) {
	for {
		m, err := d.Recv(ctx)
		if err != nil {
			return
		}
		last := len(m.Frames) - 1
		out := wire.Get()
		for _, f := range m.Frames[:last] {
			out.AppendFrame(f)
		}
		out.AppendString(name + ":" + string(m.Frames[last]))
		m.Release()
		if d.Send(ctx, out) != nil {
			out.Release()
			return
		}
	}
}

// startWorker runs echoWorker on a new dealer connected to endpoint until
// the test ends.
func startWorker(t *testing.T, endpoint, name string) *dealer.Dealer {
	t.Helper()
	d := newDealer(t, endpoint)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { echoWorker(ctx, d, name) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return d
}
