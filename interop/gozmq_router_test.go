package interop

import (
	"context"
	"fmt"
	"testing"
	"time"

	gozmq "github.com/go-zeromq/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
)

// Tests of the ROUTER against go-zeromq/zmq4, the pure-Go ZeroMQ, over TCP.
// They live here rather than in package router so that the library's
// go.mod does not require go-zeromq/zmq4 (and through it goczmq).

// gozmqEcho sends every message r receives back to its sender until r
// closes; r is closed, and the loop waited for, when the test ends.
func gozmqEcho(t *testing.T, r *router.Router) {
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
	t.Cleanup(func() {
		require.NoError(t, r.Close())
		<-done
	})
}

// gozmqMsg returns a go-zeromq message of frames.
func gozmqMsg(frames ...string) gozmq.Msg {
	return gozmq.NewMsgFrom(bs(frames...)...)
}

// gozmqSendRouter sends frames, the first of them the routing id, through r.
func gozmqSendRouter(t *testing.T, r *router.Router, frames ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	return r.SendFrames(ctx, bs(frames...)...)
}

// gozmqWaitPeers waits until r has n peers.
func gozmqWaitPeers(t *testing.T, r *router.Router, n int) {
	t.Helper()
	testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().Peers == n }, "%d peers", n)
}

// TestGozmqRouterDealerEcho: a go-zeromq DEALER with a set identity has 50
// messages echoed, and the ROUTER knows it by that identity and its type.
func TestGozmqRouterDealerEcho(t *testing.T) {
	r, err := router.New()
	require.NoError(t, err)
	require.NoError(t, r.Bind("tcp://127.0.0.1:0"))
	gozmqEcho(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := gozmq.NewDealer(ctx, gozmq.WithID(gozmq.SocketIdentity("zmq4-dealer")))
	defer d.Close()
	require.NoError(t, d.Dial(r.Addr()))
	for i := range 50 {
		want := []string{"", fmt.Sprint("msg-", i), ""}
		require.NoError(t, d.Send(gozmqMsg(want...)))
		got, err := d.Recv()
		require.NoError(t, err)
		assert.Equal(t, want, strs(got.Frames))
	}
	peers := r.Peers()
	require.Len(t, peers, 1)
	assert.Equal(t, []byte("zmq4-dealer"), peers[0].ID, "the READY identity is the routing id")
	assert.Equal(t, "DEALER", peers[0].SocketType)
}

// TestGozmqRouterReqEcho: a go-zeromq REQ has 20 requests echoed.
func TestGozmqRouterReqEcho(t *testing.T) {
	r, err := router.New()
	require.NoError(t, err)
	require.NoError(t, r.Bind("tcp://127.0.0.1:0"))
	gozmqEcho(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := gozmq.NewReq(ctx)
	defer q.Close()
	require.NoError(t, q.Dial(r.Addr()))
	for i := range 20 {
		want := fmt.Sprint("request-", i)
		require.NoError(t, q.Send(gozmqMsg(want)))
		got, err := q.Recv()
		require.NoError(t, err)
		// The REQ socket strips the empty delimiter we sent back: the
		// reply is exactly the request.
		assert.Equal(t, []string{want}, strs(got.Frames))
	}
}

// TestGozmqRouterToRouter: a go-zeromq ROUTER connects to a zrouter ROUTER,
// and each addresses the other by the routing id it announced.
func TestGozmqRouterToRouter(t *testing.T) {
	r, err := router.New(socket.WithRoutingID([]byte("zr")))
	require.NoError(t, err)
	require.NoError(t, r.Bind("tcp://127.0.0.1:0"))
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	z := gozmq.NewRouter(ctx, gozmq.WithID(gozmq.SocketIdentity("gz")))
	defer z.Close()
	require.NoError(t, z.Dial(r.Addr()))
	gozmqWaitPeers(t, r, 1)

	// zrouter to zmq4: addressed by the identity zmq4 announced.
	require.NoError(t, gozmqSendRouter(t, r, "gz", "hello", "zmq4"))
	got, err := z.Recv()
	require.NoError(t, err)
	assert.Equal(t, []string{"zr", "hello", "zmq4"}, strs(got.Frames), "zmq4 sees our routing id")

	// zmq4 to zrouter: addressed by the routing id we announced.
	require.NoError(t, z.Send(gozmqMsg("zr", "hello", "zrouter")))
	assert.Equal(t, []string{"gz", "hello", "zrouter"}, strs(recvFrames(t, r)))
}

// TestGozmqRouterDealersLoadBalanced: a LoadBalancer-mode ROUTER shares 300
// messages evenly among three go-zeromq DEALERs.
func TestGozmqRouterDealersLoadBalanced(t *testing.T) {
	r, err := router.New(router.WithMode(router.LoadBalancer))
	require.NoError(t, err)
	require.NoError(t, r.Bind("tcp://127.0.0.1:0"))
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const workers, n = 3, 300
	ds := make([]gozmq.Socket, workers)
	for i := range ds {
		ds[i] = gozmq.NewDealer(ctx, gozmq.WithID(gozmq.SocketIdentity(fmt.Sprint("w", i))))
		defer ds[i].Close()
		require.NoError(t, ds[i].Dial(r.Addr()))
	}
	gozmqWaitPeers(t, r, workers)
	for i := range n {
		require.NoError(t, gozmqSendRouter(t, r, fmt.Sprint(i)))
	}
	for i, d := range ds {
		for range n / workers {
			m, err := d.Recv()
			require.NoError(t, err, "worker %d", i)
			require.Len(t, m.Frames, 1)
		}
	}
}
