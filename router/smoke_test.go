package router

import (
	"context"
	"testing"
	"time"

	zmq4 "github.com/go-zeromq/zmq4"
	"github.com/stretchr/testify/require"
)

func TestSmokeEcho(t *testing.T) {
	r, err := New()
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, r.Bind("tcp://127.0.0.1:0"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		for {
			m, err := r.Recv(ctx)
			if err != nil {
				return
			}
			if r.Send(ctx, m) != nil {
				m.Release()
			}
		}
	}()
	d := zmq4.NewDealer(ctx)
	defer d.Close()
	require.NoError(t, d.Dial(r.Addr()))
	for i := 0; i < 100; i++ {
		require.NoError(t, d.Send(zmq4.NewMsgFrom([]byte(""), []byte("hello"))))
		got, err := d.Recv()
		require.NoError(t, err)
		require.Equal(t, [][]byte{{}, []byte("hello")}, got.Frames)
	}
}
