package interop

import (
	"bytes"
	"context"
	"net"
	"testing"

	gozmq "github.com/go-zeromq/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/zmtp"
)

// Tests of zmtp.Handshake and the zmtp framing against go-zeromq/zmq4
// sockets over TCP, in both directions.

// TestGozmqHandshakeDealerToRouter has a go-zeromq DEALER connect to a
// plain TCP listener on which zmtp.Handshake runs as ROUTER, then exchanges
// a message each way.
func TestGozmqHandshakeDealerToRouter(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = ln.Close() }()

	type accepted struct {
		conn net.Conn
		s    *zmtp.Session
		err  error
	}
	acc := make(chan accepted, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			acc <- accepted{err: err}
			return
		}
		s, err := zmtp.Handshake(c, &zmtp.Config{SocketType: zmtp.ROUTER, Timeout: waitLimit, MaxSize: 1 << 20})
		acc <- accepted{c, s, err}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dealer := gozmq.NewDealer(ctx, gozmq.WithID(gozmq.SocketIdentity("dealer-1")), gozmq.WithTimeout(waitLimit))
	defer func() { _ = dealer.Close() }()
	require.NoError(t, dealer.Dial("tcp://"+ln.Addr().String()))

	a := <-acc
	require.NoError(t, a.err)
	defer func() { _ = a.conn.Close() }()
	assert.Equal(t, zmtp.DEALER, a.s.SocketType)
	assert.Equal(t, "dealer-1", string(a.s.Identity))
	assert.Equal(t, byte(3), a.s.Greeting.Major)
	assert.Equal(t, "NULL", a.s.Greeting.Mechanism)

	// DEALER to ROUTER.
	big := bytes.Repeat([]byte{'x'}, 20<<10)
	require.NoError(t, dealer.Send(gozmq.NewMsgFrom([]byte{}, []byte("hello"), big)))
	frames := readMessage(t, a.conn, a.s.Reader)
	require.Len(t, frames, 3)
	assert.Empty(t, frames[0])
	assert.Equal(t, "hello", string(frames[1]))
	assert.Equal(t, big, frames[2])

	// ROUTER to DEALER: the frames go on the wire without the routing id.
	var out []byte
	out = a.s.Codec.AppendFrame(out, zmtp.FlagMore, []byte{})
	out = a.s.Codec.AppendFrame(out, 0, []byte("world"))
	_, err = a.conn.Write(out)
	require.NoError(t, err)
	reply, err := dealer.Recv()
	require.NoError(t, err)
	assert.Equal(t, [][]byte{{}, []byte("world")}, reply.Frames)
}

// TestGozmqHandshakeRouterFromDealer has a go-zeromq ROUTER listen, and
// dials it with zmtp.Handshake as a DEALER with Identity "abc".
func TestGozmqHandshakeRouterFromDealer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	router := gozmq.NewRouter(ctx, gozmq.WithTimeout(waitLimit))
	defer func() { _ = router.Close() }()
	require.NoError(t, router.Listen("tcp://127.0.0.1:0"))

	conn, err := net.Dial("tcp", router.Addr().String())
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	s, err := zmtp.Handshake(conn, &zmtp.Config{SocketType: zmtp.DEALER, Identity: []byte("abc"), Timeout: waitLimit, MaxSize: -1})
	require.NoError(t, err)
	assert.Equal(t, zmtp.ROUTER, s.SocketType)
	assert.Equal(t, byte(3), s.Greeting.Major)

	// DEALER to ROUTER: the ROUTER prefixes our Identity.
	_, err = conn.Write(zmtp.AppendMessage(nil, [][]byte{{}, []byte("ping")}))
	require.NoError(t, err)
	got, err := router.Recv()
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("abc"), {}, []byte("ping")}, got.Frames)

	// ROUTER to DEALER, routed by that Identity.
	require.NoError(t, router.Send(gozmq.NewMsgFrom([]byte("abc"), []byte{}, []byte("pong"))))
	assert.Equal(t, [][]byte{{}, []byte("pong")}, readMessage(t, conn, s.Reader))
}
