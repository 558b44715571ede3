package pull_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/pull"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

const waitFor = 10 * time.Second

func newPull(t *testing.T, opts ...socket.Option) *pull.Pull {
	t.Helper()
	p, err := pull.New(append([]socket.Option{socket.WithLinger(0)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	return p
}

// rawPush dials ep and completes the handshake as a PUSH.
func rawPush(t *testing.T, ep string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(ep, "tcp://"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = zmtp.Handshake(c, &zmtp.Config{SocketType: zmtp.PUSH, Timeout: waitFor, MaxSize: -1})
	require.NoError(t, err)
	return c
}

func TestType(t *testing.T) {
	assert.Equal(t, "PULL", newPull(t).Type())
}

func TestCannotSend(t *testing.T) {
	q := newPull(t)
	m := wire.New([]byte("x"))
	defer m.Release()
	require.ErrorIs(t, q.Send(context.Background(), m), errors.ErrUnsupported)
	require.ErrorIs(t, q.TrySend(m), errors.ErrUnsupported)
}

// TestFairQueue: two peers that each sent a burst are read in turns, and
// each one's messages keep their order.
func TestFairQueue(t *testing.T) {
	ctx := testutil.Context(t, waitFor)
	q := newPull(t)
	require.NoError(t, q.Bind("tcp://127.0.0.1:0"))
	var conns []net.Conn
	for range 2 {
		conns = append(conns, rawPush(t, q.Addr()))
	}
	for i, c := range conns {
		var buf []byte
		for j := range 3 {
			buf = zmtp.AppendMessage(buf, [][]byte{{'a' + byte(i)}, {'0' + byte(j)}})
		}
		_, err := c.Write(buf)
		require.NoError(t, err)
	}
	testutil.CheckFor(t, waitFor, func() bool { return q.Stats().MsgsIn == 6 }, "all in")
	var got []string
	for range 6 {
		m, err := q.Recv(ctx)
		require.NoError(t, err)
		got = append(got, string(m.Frames[0])+string(m.Frames[1]))
		m.Release()
	}
	first := got[0][0] // whichever peer came first
	for i, g := range got {
		want := first
		if i%2 == 1 {
			want = 'a' + 'b' - first
		}
		assert.Equal(t, want, g[0], "turn %d of %v", i, got)
		assert.Equal(t, byte('0'+i/2), g[1], "order of %v", got)
	}
}

// TestDisconnectDropsUnread: what Recv has not returned when Disconnect
// removes the pipe is dropped, as zmq_disconnect drops it.
func TestDisconnectDropsUnread(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	ep := "tcp://" + ln.Addr().String()
	q := newPull(t)
	require.NoError(t, q.Connect(ep))
	c, err := ln.Accept()
	require.NoError(t, err)
	defer c.Close()
	_, err = zmtp.Handshake(c, &zmtp.Config{SocketType: zmtp.PUSH, Timeout: waitFor, MaxSize: -1})
	require.NoError(t, err)
	_, err = c.Write(zmtp.AppendMessage(nil, [][]byte{[]byte("unread")}))
	require.NoError(t, err)
	testutil.CheckFor(t, waitFor, func() bool { return q.Stats().MsgsIn == 1 }, "in")
	require.NoError(t, q.Disconnect(ep))
	testutil.CheckFor(t, waitFor, func() bool { return q.Stats().Pipes == 0 }, "pipe gone")
	_, err = q.TryRecv()
	require.ErrorIs(t, err, socket.ErrWouldBlock)
}
