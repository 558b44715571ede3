package interop

import (
	"context"
	"testing"

	gozmq "github.com/go-zeromq/zmq4"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/socket"
)

// Tests of a bound DEALER against go-zeromq/zmq4 peers over TCP.

// TestGozmqDealerBindRouter: a go-zeromq ROUTER connects to a bound zrouter
// DEALER. A Send made before the pipe is up waits for it, and the reply
// comes back addressed to the DEALER's routing id.
func TestGozmqDealerBindRouter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	d := dealerNew(t, socket.WithRoutingID([]byte("d1")))
	require.NoError(t, d.Bind("tcp://127.0.0.1:0"))
	require.Contains(t, d.Addr(), "tcp://127.0.0.1:")

	zr := gozmq.NewRouter(ctx)
	defer zr.Close()
	require.NoError(t, zr.Dial(d.Addr()))

	// No pipe yet, or one that is coming up: Send waits for it.
	require.NoError(t, d.SendFrames(ctx, []byte{}, []byte("ping")))
	got, err := zr.Recv()
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("d1"), {}, []byte("ping")}, got.Frames)
	require.NoError(t, zr.Send(gozmq.NewMsgFrom([]byte("d1"), []byte{}, []byte("pong"))))
	require.Equal(t, []string{"", "pong"}, dealerRecv(t, d))
}

// TestGozmqDealerBindDealer: a go-zeromq DEALER connects to a bound zrouter
// DEALER, and a message goes each way with its frames intact.
func TestGozmqDealerBindDealer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	d := dealerNew(t)
	require.NoError(t, d.Bind("tcp://127.0.0.1:0"))

	zd := gozmq.NewDealer(ctx)
	defer zd.Close()
	require.NoError(t, zd.Dial(d.Addr()))

	require.NoError(t, zd.Send(gozmq.NewMsgFrom([]byte("a"), []byte{}, []byte("b"))))
	require.Equal(t, []string{"a", "", "b"}, dealerRecv(t, d))
	require.NoError(t, d.SendFrames(ctx, []byte("c")))
	got, err := zd.Recv()
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("c")}, got.Frames)
}
