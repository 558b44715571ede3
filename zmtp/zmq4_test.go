package zmtp

import (
	"bytes"
	"context"
	"net"
	"testing"

	"github.com/go-zeromq/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/wire"
)

// readMessage reads one whole message from rd into a new wire.Msg, skipping
// commands (a peer may send PING at any time).
func readMessage(t *testing.T, rd *Reader) *wire.Msg {
	t.Helper()
	m := wire.Get()
	for {
		h, err := rd.ReadHeader()
		require.NoError(t, err)
		if h.IsCommand() {
			require.NoError(t, rd.SkipBody(h))
			continue
		}
		require.NoError(t, rd.ReadFrameInto(m, h))
		if !h.More() {
			return m
		}
	}
}

// TestZmq4DealerToRouterHandshake has a go-zeromq/zmq4 DEALER connect to a
// plain TCP listener on which zmtp.Handshake runs as ROUTER, then exchanges
// a message each way.
func TestZmq4DealerToRouterHandshake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = ln.Close() }()

	type accepted struct {
		conn net.Conn
		s    *Session
		err  error
	}
	acc := make(chan accepted, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			acc <- accepted{err: err}
			return
		}
		s, err := Handshake(c, &Config{SocketType: ROUTER, Timeout: hsTimeout, MaxSize: 1 << 20})
		acc <- accepted{c, s, err}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dealer := zmq4.NewDealer(ctx, zmq4.WithID(zmq4.SocketIdentity("dealer-1")), zmq4.WithTimeout(hsTimeout))
	defer func() { _ = dealer.Close() }()
	require.NoError(t, dealer.Dial("tcp://"+ln.Addr().String()))

	a := <-acc
	require.NoError(t, a.err)
	defer func() { _ = a.conn.Close() }()
	assert.Equal(t, DEALER, a.s.SocketType)
	assert.Equal(t, "dealer-1", string(a.s.Identity))
	assert.Equal(t, byte(3), a.s.Greeting.Major)
	assert.Equal(t, "NULL", a.s.Greeting.Mechanism)

	// DEALER to ROUTER.
	big := bytes.Repeat([]byte{'x'}, 20<<10)
	require.NoError(t, dealer.Send(zmq4.NewMsgFrom([]byte{}, []byte("hello"), big)))
	m := readMessage(t, a.s.Reader)
	defer m.Release()
	require.Equal(t, 3, m.Len())
	assert.Empty(t, m.Frames[0])
	assert.Equal(t, "hello", string(m.Frames[1]))
	assert.Equal(t, big, m.Frames[2])

	// ROUTER to DEALER: the frames go on the wire without the routing id.
	var out []byte
	out = a.s.Codec.AppendFrame(out, FlagMore, []byte{})
	out = a.s.Codec.AppendFrame(out, 0, []byte("world"))
	_, err = a.conn.Write(out)
	require.NoError(t, err)
	reply, err := dealer.Recv()
	require.NoError(t, err)
	assert.Equal(t, [][]byte{{}, []byte("world")}, reply.Frames)
}

// TestZmq4RouterFromDealerHandshake has a go-zeromq/zmq4 ROUTER listen, and
// dials it with zmtp.Handshake as a DEALER with Identity "abc".
func TestZmq4RouterFromDealerHandshake(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	router := zmq4.NewRouter(ctx, zmq4.WithTimeout(hsTimeout))
	defer func() { _ = router.Close() }()
	require.NoError(t, router.Listen("tcp://127.0.0.1:0"))

	conn, err := net.Dial("tcp", router.Addr().String())
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	s, err := Handshake(conn, &Config{SocketType: DEALER, Identity: []byte("abc"), Timeout: hsTimeout, MaxSize: -1})
	require.NoError(t, err)
	assert.Equal(t, ROUTER, s.SocketType)
	assert.Equal(t, byte(3), s.Greeting.Major)

	// DEALER to ROUTER: the ROUTER prefixes our Identity.
	_, err = conn.Write(AppendMessage(nil, [][]byte{{}, []byte("ping")}))
	require.NoError(t, err)
	got, err := router.Recv()
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("abc"), {}, []byte("ping")}, got.Frames)

	// ROUTER to DEALER, routed by that Identity.
	require.NoError(t, router.Send(zmq4.NewMsgFrom([]byte("abc"), []byte{}, []byte("pong"))))
	m := readMessage(t, s.Reader)
	defer m.Release()
	assert.Equal(t, [][]byte{{}, []byte("pong")}, m.Frames)
}
