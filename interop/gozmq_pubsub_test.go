package interop

import (
	"context"
	"testing"

	gozmq "github.com/go-zeromq/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/pub"
	"github.com/zrouter/zrouter/sub"
	"github.com/zrouter/zrouter/wire"
)

// Tests of PUB and SUB against go-zeromq/zmq4's over TCP.

// TestGozmqSubZrouterPub: a go-zeromq SUB's subscription reaches a bound
// zrouter PUB, whatever form it sends it in, and the SUB gets what matches.
func TestGozmqSubZrouterPub(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	p, err := pub.New(noLinger)
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.Bind("tcp://127.0.0.1:0"))
	zs := gozmq.NewSub(ctx)
	defer zs.Close()
	require.NoError(t, zs.Dial(p.Addr()))
	require.NoError(t, zs.SetOption(gozmq.OptionSubscribe, "g"))
	testutil.CheckFor(t, waitLimit, func() bool { return pubCount(p.Subscribers, "g") == 1 }, "go-zeromq's subscription")
	require.NoError(t, p.SendFrames(ctx, []byte("x")))
	require.NoError(t, p.SendFrames(ctx, []byte("g1"), []byte("two")))
	got, err := zs.Recv()
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("g1"), []byte("two")}, got.Frames)
}

// TestZrouterSubGozmqPub: a zrouter SUB connects to a go-zeromq PUB, which
// filters by what the SUB sends it.
func TestZrouterSubGozmqPub(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	zp := gozmq.NewPub(ctx)
	defer zp.Close()
	ep := freeEndpoint(t)
	require.NoError(t, zp.Listen(ep))
	s, err := sub.New()
	require.NoError(t, err)
	defer s.Close()
	s.Subscribe([]byte("g"))
	require.NoError(t, s.Connect(ep))
	var m *wire.Msg
	testutil.CheckFor(t, waitLimit, func() bool {
		require.NoError(t, zp.Send(gozmq.NewMsgString("x")))
		require.NoError(t, zp.Send(gozmq.NewMsgString("g1")))
		m, err = s.TryRecv()
		return err == nil
	}, "a message from go-zeromq's PUB")
	assert.Equal(t, "g1", string(m.Frames[0]))
	m.Release()
}
