package pair_test

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/pair"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

const waitFor = 10 * time.Second

func newPair(t *testing.T, opts ...socket.Option) *pair.Pair {
	t.Helper()
	p, err := pair.New(append([]socket.Option{socket.WithLinger(0)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	return p
}

func recvStrings(t *testing.T, ctx context.Context, p *pair.Pair) []string {
	t.Helper()
	m, err := p.Recv(ctx)
	require.NoError(t, err)
	defer m.Release()
	out := make([]string, len(m.Frames))
	for i, f := range m.Frames {
		out[i] = string(f)
	}
	return out
}

// bounce sends a two-frame message of 32-byte frames from client to
// server and back, as libzmq's tests do.
func bounce(t *testing.T, ctx context.Context, server, client *pair.Pair) {
	t.Helper()
	content := bytes.Repeat([]byte("12345678"), 4)
	want := []string{string(content), string(content)}
	require.NoError(t, client.SendFrames(ctx, content, content))
	require.Equal(t, want, recvStrings(t, ctx, server))
	require.NoError(t, server.SendFrames(ctx, content, content))
	require.Equal(t, want, recvStrings(t, ctx, client))
}

func TestType(t *testing.T) {
	assert.Equal(t, "PAIR", newPair(t).Type())
}

// TestPairTCP ports test_pair_tcp: a bound PAIR and a connected one bounce
// a message, connecting by address and by name.
func TestPairTCP(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			ctx := testutil.Context(t, waitFor)
			sb := newPair(t)
			require.NoError(t, sb.Bind("tcp://127.0.0.1:0"))
			port := sb.Addr()[strings.LastIndex(sb.Addr(), ":"):]
			sc := newPair(t)
			require.NoError(t, sc.Connect("tcp://"+host+port))
			bounce(t, ctx, sb, sc)
		})
	}
}

// TestPairBounce: a bound PAIR and a connected one bounce a message over
// every transport.
func TestPairBounce(t *testing.T) {
	testutil.ForEachSocketTransport(t, func(t *testing.T, transport string) {
		ctx := testutil.Context(t, waitFor)
		sb := newPair(t)
		require.NoError(t, sb.Bind(testutil.Endpoint(t, transport)))
		sc := newPair(t)
		require.NoError(t, sc.Connect(sb.Addr()))
		bounce(t, ctx, sb, sc)
	})
}

// TestSendWaitsForPeer: a bound PAIR with no peer has no pipe, so Send
// waits and TrySend reports ErrWouldBlock; the message goes once a peer is
// there.
func TestSendWaitsForPeer(t *testing.T) {
	ctx := testutil.Context(t, waitFor)
	sb := newPair(t)
	require.NoError(t, sb.Bind("tcp://127.0.0.1:0"))
	m := wire.New([]byte("x"))
	require.ErrorIs(t, sb.TrySend(m), socket.ErrWouldBlock)
	errc := make(chan error, 1)
	go func() { errc <- sb.Send(ctx, m) }()
	sc := newPair(t)
	require.NoError(t, sc.Connect(sb.Addr()))
	require.NoError(t, <-errc)
	require.Equal(t, []string{"x"}, recvStrings(t, ctx, sc))
}

// TestSendWaitsWhenFull: the peer's queue at its high-water mark makes Send
// wait, not drop.
func TestSendWaitsWhenFull(t *testing.T) {
	ctx := testutil.Context(t, waitFor)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ep := "tcp://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	sc := newPair(t, socket.WithSendHWM(2), socket.WithReconnectInterval(10*time.Millisecond))
	require.NoError(t, sc.Connect(ep))
	require.NoError(t, sc.SendFrames(ctx, []byte("0")))
	require.NoError(t, sc.SendFrames(ctx, []byte("1")))
	m := wire.New([]byte("2"))
	require.ErrorIs(t, sc.TrySend(m), socket.ErrWouldBlock)
	short, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, sc.Send(short, m), context.Canceled)
	errc := make(chan error, 1)
	go func() { errc <- sc.Send(ctx, m) }()

	sb := newPair(t)
	require.NoError(t, sb.Bind(ep))
	for i := range 3 {
		require.Equal(t, []string{strconv.Itoa(i)}, recvStrings(t, ctx, sb))
	}
	require.NoError(t, <-errc)
	assert.Zero(t, sc.Stats().Dropped())
}

// rawPair dials ep and completes the handshake as a PAIR.
func rawPair(t *testing.T, ep string) (net.Conn, *zmtp.Session) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(ep, "tcp://"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	sess, err := zmtp.Handshake(c, &zmtp.Config{SocketType: zmtp.PAIR, Timeout: waitFor, MaxSize: -1})
	require.NoError(t, err)
	return c, sess
}

// TestSecondPeerWaits: a second connection to a bound PAIR completes its
// handshake, as with libzmq, and is then neither read nor written while the
// first lasts; when the first goes, it becomes the peer, and what it sent
// meanwhile arrives.
func TestSecondPeerWaits(t *testing.T) {
	ctx := testutil.Context(t, waitFor)
	sb := newPair(t)
	require.NoError(t, sb.Bind("tcp://127.0.0.1:0"))
	first, err := pair.New(socket.WithLinger(0))
	require.NoError(t, err)
	defer first.Close()
	require.NoError(t, first.Connect(sb.Addr()))
	bounce(t, ctx, sb, first)

	c, sess := rawPair(t, sb.Addr())
	testutil.CheckFor(t, waitFor, func() bool { return sb.Stats().Peers == 2 }, "second up")
	_, err = c.Write(zmtp.AppendMessage(nil, [][]byte{[]byte("from second")}))
	require.NoError(t, err)

	// Everything goes to the first peer.
	for i := range 10 {
		require.NoError(t, sb.SendFrames(ctx, []byte(strconv.Itoa(i))))
		require.Equal(t, []string{strconv.Itoa(i)}, recvStrings(t, ctx, first))
	}
	require.NoError(t, first.SendFrames(ctx, []byte("from first")))
	require.Equal(t, []string{"from first"}, recvStrings(t, ctx, sb))
	_, err = sb.TryRecv()
	require.ErrorIs(t, err, socket.ErrWouldBlock)

	require.NoError(t, first.Close())
	require.Equal(t, []string{"from second"}, recvStrings(t, ctx, sb))
	require.NoError(t, sb.SendFrames(ctx, []byte("to second")))
	require.NoError(t, c.SetReadDeadline(time.Now().Add(waitFor)))
	m := wire.Get()
	defer m.Release()
	for {
		f, err := sess.Reader.ReadFrame(m)
		require.NoError(t, err)
		if f.Command == nil && !f.More {
			break
		}
	}
	require.Equal(t, [][]byte{[]byte("to second")}, m.Frames, "nothing came before")
}

// TestConnectTwice: of two Connects, the first one's pipe is the peer's;
// the second waits until Disconnect removes the first.
func TestConnectTwice(t *testing.T) {
	ctx := testutil.Context(t, waitFor)
	a := newPair(t)
	require.NoError(t, a.Bind("tcp://127.0.0.1:0"))
	b := newPair(t)
	require.NoError(t, b.Bind("tcp://127.0.0.1:0"))
	sc := newPair(t)
	require.NoError(t, sc.Connect(a.Addr()))
	require.NoError(t, sc.Connect(b.Addr()))
	require.NoError(t, sc.WaitPeers(ctx, 2))
	for i := range 5 {
		require.NoError(t, sc.SendFrames(ctx, []byte(strconv.Itoa(i))))
		require.Equal(t, []string{strconv.Itoa(i)}, recvStrings(t, ctx, a))
	}
	require.NoError(t, b.SendFrames(ctx, []byte("held")))
	require.NoError(t, sc.Disconnect(a.Addr()))
	require.Equal(t, []string{"held"}, recvStrings(t, ctx, sc))
	require.NoError(t, sc.SendFrames(ctx, []byte("to b")))
	require.Equal(t, []string{"to b"}, recvStrings(t, ctx, b))
}

// TestReconnectKeepsPipe: a Connect's pipe outlives its connection, and
// what is sent while it is down goes out on the next.
func TestReconnectKeepsPipe(t *testing.T) {
	ctx := testutil.Context(t, waitFor)
	sb, err := pair.New(socket.WithLinger(0))
	require.NoError(t, err)
	require.NoError(t, sb.Bind("tcp://127.0.0.1:0"))
	ep := sb.Addr()
	sc := newPair(t, socket.WithReconnectInterval(10*time.Millisecond))
	require.NoError(t, sc.Connect(ep))
	bounce(t, ctx, sb, sc)
	require.NoError(t, sb.Close())
	testutil.CheckFor(t, waitFor, func() bool { return sc.Stats().Peers == 0 }, "down")
	require.NoError(t, sc.SendFrames(ctx, []byte("while down")))
	sb2 := newPair(t)
	require.NoError(t, sb2.Bind(ep))
	require.Equal(t, []string{"while down"}, recvStrings(t, ctx, sb2))
	bounce(t, ctx, sb2, sc)
}

// TestIncompatiblePeerRefused: a DEALER may not talk to a PAIR. Both sides
// of this handshake check, so whichever reads the other's READY first
// refuses with an ERROR: the PAIR reports the socket type, or the
// DEALER's ERROR.
func TestIncompatiblePeerRefused(t *testing.T) {
	sb := newPair(t)
	mon := sb.Monitor(16)
	require.NoError(t, sb.Bind("tcp://127.0.0.1:0"))
	c, err := net.Dial("tcp", strings.TrimPrefix(sb.Addr(), "tcp://"))
	require.NoError(t, err)
	defer c.Close()
	_, err = zmtp.Handshake(c, &zmtp.Config{SocketType: zmtp.DEALER, Timeout: waitFor, MaxSize: -1})
	require.Error(t, err)
	for ev := range mon.C {
		if ev.Kind == socket.EventHandshakeFailed {
			if ev.Failure != socket.HandshakeSocketType {
				var pe *zmtp.PeerError
				assert.ErrorAs(t, ev.Err, &pe, "%v", ev)
			}
			break
		}
	}
	assert.Zero(t, sb.Stats().Connected)
}
