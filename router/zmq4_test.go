package router

import (
	"context"
	"fmt"
	"testing"
	"time"

	zmq4 "github.com/go-zeromq/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/socket"
)

// Tests against go-zeromq/zmq4, the pure-Go ZeroMQ peers, over TCP.

// echoLoop sends every message back to its sender until r closes.
func echoLoop(t *testing.T, r *Router) {
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

func zmq4Frames(frames ...string) zmq4.Msg {
	fs := make([][]byte, len(frames))
	for i, f := range frames {
		fs[i] = []byte(f)
	}
	return zmq4.NewMsgFrom(fs...)
}

func zmq4Strings(m zmq4.Msg) []string {
	out := make([]string, len(m.Frames))
	for i, f := range m.Frames {
		out[i] = string(f)
	}
	return out
}

func TestZmq4DealerEcho(t *testing.T) {
	r, err := New()
	require.NoError(t, err)
	require.NoError(t, r.Bind("tcp://127.0.0.1:0"))
	echoLoop(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := zmq4.NewDealer(ctx, zmq4.WithID(zmq4.SocketIdentity("zmq4-dealer")))
	defer d.Close()
	require.NoError(t, d.Dial(r.Addr()))
	for i := range 50 {
		want := []string{"", fmt.Sprint("msg-", i), ""}
		require.NoError(t, d.Send(zmq4Frames(want...)))
		got, err := d.Recv()
		require.NoError(t, err)
		assert.Equal(t, want, zmq4Strings(got))
	}
	peers := r.Peers()
	require.Len(t, peers, 1)
	assert.Equal(t, []byte("zmq4-dealer"), peers[0].ID, "the READY identity is the routing id")
	assert.Equal(t, "DEALER", peers[0].SocketType)
}

func TestZmq4ReqEcho(t *testing.T) {
	r, err := New()
	require.NoError(t, err)
	require.NoError(t, r.Bind("tcp://127.0.0.1:0"))
	echoLoop(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := zmq4.NewReq(ctx)
	defer q.Close()
	require.NoError(t, q.Dial(r.Addr()))
	for i := range 20 {
		want := fmt.Sprint("request-", i)
		require.NoError(t, q.Send(zmq4Frames(want)))
		got, err := q.Recv()
		require.NoError(t, err)
		// The REQ socket strips the empty delimiter we sent back: the
		// reply is exactly the request.
		assert.Equal(t, []string{want}, zmq4Strings(got))
	}
}

func TestZmq4RouterToRouter(t *testing.T) {
	r, err := New(socket.WithRoutingID([]byte("zr")))
	require.NoError(t, err)
	require.NoError(t, r.Bind("tcp://127.0.0.1:0"))
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	z := zmq4.NewRouter(ctx, zmq4.WithID(zmq4.SocketIdentity("gz")))
	defer z.Close()
	require.NoError(t, z.Dial(r.Addr()))
	waitPeers(t, r, 1)

	// zrouter to zmq4: addressed by the identity zmq4 announced.
	require.NoError(t, sendStrings(t, r, "gz", "hello", "zmq4"))
	got, err := z.Recv()
	require.NoError(t, err)
	assert.Equal(t, []string{"zr", "hello", "zmq4"}, zmq4Strings(got), "zmq4 sees our routing id")

	// zmq4 to zrouter: addressed by the routing id we announced.
	require.NoError(t, z.Send(zmq4Frames("zr", "hello", "zrouter")))
	assert.Equal(t, []string{"gz", "hello", "zrouter"}, recvStrings(t, r))
}

func TestZmq4DealersLoadBalanced(t *testing.T) {
	r, err := New(WithMode(LoadBalancer))
	require.NoError(t, err)
	require.NoError(t, r.Bind("tcp://127.0.0.1:0"))
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const workers, n = 3, 300
	ds := make([]zmq4.Socket, workers)
	for i := range ds {
		ds[i] = zmq4.NewDealer(ctx, zmq4.WithID(zmq4.SocketIdentity(fmt.Sprint("w", i))))
		defer ds[i].Close()
		require.NoError(t, ds[i].Dial(r.Addr()))
	}
	waitPeers(t, r, workers)
	for i := range n {
		require.NoError(t, sendStrings(t, r, fmt.Sprint(i)))
	}
	for i, d := range ds {
		for range n / workers {
			m, err := d.Recv()
			require.NoError(t, err, "worker %d", i)
			require.Len(t, m.Frames, 1)
		}
	}
}
