package interop

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/pair"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/zmtp"
)

// PAIR against libzmq 4.3.4: both directions with either side bound,
// test_pair_tcp's cases, and what a second peer sees, measured on libzmq
// first.

func pairNew(t *testing.T, opts ...socket.Option) *pair.Pair {
	t.Helper()
	p, err := pair.New(append([]socket.Option{socket.WithLinger(0)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	return p
}

func pairRecv(t *testing.T, ctx context.Context, p *pair.Pair) []string {
	t.Helper()
	m, err := p.Recv(ctx)
	require.NoError(t, err)
	defer m.Release()
	return strs(copyFrames(m))
}

// pairBounceContent is the 32-byte frame of libzmq's bounce.
var pairBounceContent = bytes.Repeat([]byte("12345678"), 4)

// TestPairWithLibzmq: a zrouter PAIR and a libzmq PAIR, either bound (and
// the connecting side by address or by name, as test_pair_tcp does),
// bounce libzmq's two-frame message both ways, then stream 1000 messages
// each way at once, in order.
func TestPairWithLibzmq(t *testing.T) {
	t.Parallel()
	for _, zBinds := range []bool{true, false} {
		for _, host := range []string{"127.0.0.1", "localhost"} {
			t.Run(fmt.Sprintf("zrouter-binds=%v/%s", zBinds, host), func(t *testing.T) {
				t.Parallel()
				ctx := testutil.Context(t, waitLimit)
				zctx := newContext(t)
				zp := pairNew(t)
				lp := newSocket(t, zctx, zmq.PAIR)
				byName := func(ep string) string {
					return "tcp://" + host + ep[strings.LastIndex(ep, ":"):]
				}
				if zBinds {
					require.NoError(t, zp.Bind("tcp://127.0.0.1:0"))
					require.NoError(t, lp.Connect(byName(zp.Addr())))
				} else {
					require.NoError(t, lp.Bind("tcp://127.0.0.1:*"))
					require.NoError(t, zp.Connect(byName(eventsLibzmqEndpoint(t, lp))))
				}
				want := []string{string(pairBounceContent), string(pairBounceContent)}
				zmqSend(t, lp, pairBounceContent, pairBounceContent)
				require.Equal(t, want, pairRecv(t, ctx, zp))
				require.NoError(t, zp.SendFrames(ctx, pairBounceContent, pairBounceContent))
				require.Equal(t, want, strs(zmqRecv(t, lp)))

				const n = 1000
				errc := make(chan error, 1)
				go func() {
					for i := range n {
						if err := zp.SendFrames(ctx, []byte("z"), []byte(strconv.Itoa(i))); err != nil {
							errc <- err
							return
						}
					}
					errc <- nil
				}()
				for i := range n {
					zmqSend(t, lp, []byte("l"), []byte(strconv.Itoa(i)))
				}
				for i := range n {
					require.Equal(t, []string{"z", strconv.Itoa(i)}, strs(zmqRecv(t, lp)))
				}
				for i := range n {
					require.Equal(t, []string{"l", strconv.Itoa(i)}, pairRecv(t, ctx, zp))
				}
				require.NoError(t, <-errc)
			})
		}
	}
}

// pairRawPeer dials ep and completes a handshake as a PAIR.
func pairRawPeer(t *testing.T, ep string) (net.Conn, *zmtp.Session) {
	t.Helper()
	c, err := net.Dial("tcp", tcpAddr(t, ep))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	sess, err := zmtp.Handshake(c, &zmtp.Config{SocketType: zmtp.PAIR, Timeout: ioTimeout, MaxSize: -1})
	require.NoError(t, err, "the second peer's handshake")
	return c, sess
}

// pairReadFirst reads the first message the raw peer gets.
func pairReadFirst(t *testing.T, c net.Conn, sess *zmtp.Session) []string {
	t.Helper()
	return strs(readMessage(t, c, sess.Reader))
}

// TestPairSecondPeer: a bound PAIR with a peer, and a second one (a raw
// ZMTP PAIR) connecting. Measured on libzmq: the second's handshake
// succeeds, and libzmq then neither reads it nor writes to it; everything
// goes to the first. When the first goes, libzmq still leaves the second
// alone: Send has no pipe (EAGAIN), its message is never received, and a
// third connection is the new peer. zrouter does the same while the first
// lasts; then, deliberately, the second becomes the peer: its message
// arrives and what is sent goes to it.
func TestPairSecondPeer(t *testing.T) {
	t.Parallel()
	t.Run("libzmq", func(t *testing.T) {
		t.Parallel()
		zctx := newContext(t)
		b := newSocket(t, zctx, zmq.PAIR)
		mon := eventsWatchZmq(t, zctx, b)
		require.NoError(t, b.Bind("tcp://127.0.0.1:*"))
		ep := eventsLibzmqEndpoint(t, b)
		first := newSocket(t, zctx, zmq.PAIR)
		require.NoError(t, first.Connect(ep))
		zmqSend(t, first, bs("hello")...)
		require.Equal(t, []string{"hello"}, strs(zmqRecv(t, b)))

		c, _ := pairRawPeer(t, ep)
		eventsWaitCount(t, mon, "", eventsHandshake, 2, nil)
		_, err := c.Write(zmtp.AppendMessage(nil, bs("from second")))
		require.NoError(t, err)
		for i := range 10 {
			zmqSend(t, b, []byte(strconv.Itoa(i)))
			require.Equal(t, []string{strconv.Itoa(i)}, strs(zmqRecv(t, first)))
		}

		require.NoError(t, first.Close())
		eventsWaitCount(t, mon, "", eventsDisconnect, 1, nil)
		// The event comes from the I/O thread; the socket learns that the
		// pipe is gone from a command that a send may leave unprocessed
		// for libzmq's command delay (up to a few ms), and until then the
		// message goes into the dying pipe. No pipe takes its place.
		testutil.CheckFor(t, waitLimit, func() bool {
			_, err := b.SendMessage("x", zmq.DONTWAIT)
			return isErrno(err, zmq.Errno(syscall.EAGAIN))
		}, "no pipe once the first has gone")
		_, err = b.RecvMessage(zmq.DONTWAIT)
		require.True(t, isErrno(err, zmq.Errno(syscall.EAGAIN)), "the second's message is not read: %v", err)

		// A third connection gets the pipe, and its message comes first.
		c3, sess3 := pairRawPeer(t, ep)
		_, err = c3.Write(zmtp.AppendMessage(nil, bs("from third")))
		require.NoError(t, err)
		require.Equal(t, []string{"from third"}, strs(zmqRecv(t, b)))
		zmqSend(t, b, bs("to third")...)
		require.Equal(t, []string{"to third"}, pairReadFirst(t, c3, sess3))
	})

	t.Run("zrouter", func(t *testing.T) {
		t.Parallel()
		ctx := testutil.Context(t, waitLimit)
		zctx := newContext(t)
		b := pairNew(t)
		require.NoError(t, b.Bind("tcp://127.0.0.1:0"))
		first := newSocket(t, zctx, zmq.PAIR)
		require.NoError(t, first.Connect(b.Addr()))
		zmqSend(t, first, bs("hello")...)
		require.Equal(t, []string{"hello"}, pairRecv(t, ctx, b))

		c, sess := pairRawPeer(t, b.Addr())
		testutil.CheckFor(t, waitLimit, func() bool { return b.Stats().Peers == 2 }, "second up")
		_, err := c.Write(zmtp.AppendMessage(nil, bs("from second")))
		require.NoError(t, err)
		for i := range 10 {
			require.NoError(t, b.SendFrames(ctx, []byte(strconv.Itoa(i))))
			require.Equal(t, []string{strconv.Itoa(i)}, strs(zmqRecv(t, first)))
		}
		_, err = b.TryRecv()
		require.ErrorIs(t, err, socket.ErrWouldBlock)

		// Deliberately unlike libzmq: the waiting connection takes over.
		require.NoError(t, first.Close())
		require.Equal(t, []string{"from second"}, pairRecv(t, ctx, b))
		require.NoError(t, b.SendFrames(ctx, []byte("to second")))
		require.Equal(t, []string{"to second"}, pairReadFirst(t, c, sess), "nothing came before")
	})
}

// TestPairSecondPeerIsZrouter: a zrouter PAIR connecting as the second peer
// of a bound libzmq PAIR sees what libzmq gives it: a connection that is up,
// and silence. Its messages wait on its side, and it receives nothing
// while what libzmq sends goes to the first peer.
func TestPairSecondPeerIsZrouter(t *testing.T) {
	t.Parallel()
	ctx := testutil.Context(t, waitLimit)
	zctx := newContext(t)
	b := newSocket(t, zctx, zmq.PAIR)
	mon := eventsWatchZmq(t, zctx, b)
	require.NoError(t, b.Bind("tcp://127.0.0.1:*"))
	ep := eventsLibzmqEndpoint(t, b)
	first := newSocket(t, zctx, zmq.PAIR)
	require.NoError(t, first.Connect(ep))
	zmqSend(t, first, bs("hello")...)
	require.Equal(t, []string{"hello"}, strs(zmqRecv(t, b)))

	second := pairNew(t)
	zmon := eventsWatch(t, second)
	require.NoError(t, second.Connect(ep))
	eventsWaitCount(t, zmon, "", eventsHandshake, 1, nil)
	eventsWaitCount(t, mon, "", eventsHandshake, 2, nil)
	require.NoError(t, second.SendFrames(ctx, []byte("from second")))
	for i := range 10 {
		zmqSend(t, b, []byte(strconv.Itoa(i)))
		require.Equal(t, []string{strconv.Itoa(i)}, strs(zmqRecv(t, first)))
	}
	_, err := second.TryRecv()
	require.ErrorIs(t, err, socket.ErrWouldBlock)
	zmqSend(t, first, bs("from first")...)
	require.Equal(t, []string{"from first"}, strs(zmqRecv(t, b)))
	assert.Equal(t, 1, second.Stats().Peers, "the connection stays up")
}

// TestPairSecondPeerHeld: what a second peer of a zrouter PAIR sends, far
// more than the receive high-water mark and the socket buffers, is held on
// its side while the first peer lasts, and then all of
// it arrives, in order, once the first has gone.
func TestPairSecondPeerHeld(t *testing.T) {
	t.Parallel()
	ctx := testutil.Context(t, waitLimit)
	zctx := newContext(t)
	b := pairNew(t, socket.WithRecvHWM(10))
	require.NoError(t, b.Bind("tcp://127.0.0.1:0"))
	first := newSocket(t, zctx, zmq.PAIR)
	require.NoError(t, first.Connect(b.Addr()))
	zmqSend(t, first, bs("hello")...)
	require.Equal(t, []string{"hello"}, pairRecv(t, ctx, b))

	c, _ := pairRawPeer(t, b.Addr())
	const n = 2000
	chunk := make([]byte, 16<<10)
	errc := make(chan error, 1)
	go func() {
		var buf []byte
		for i := range n {
			buf = zmtp.AppendMessage(buf[:0], [][]byte{[]byte(strconv.Itoa(i)), chunk})
			if _, err := c.Write(buf); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	zmqSend(t, first, bs("from first")...)
	require.Equal(t, []string{"from first"}, pairRecv(t, ctx, b))
	require.NoError(t, first.Close())
	for i := range n {
		got := pairRecv(t, ctx, b)
		require.Len(t, got, 2)
		require.Equal(t, strconv.Itoa(i), got[0])
	}
	require.NoError(t, <-errc)
}
