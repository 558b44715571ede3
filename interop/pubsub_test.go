package interop

import (
	"io"
	"net"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/pub"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/sub"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/xpub"
	"github.com/zrouter/zrouter/xsub"
	"github.com/zrouter/zrouter/zmtp"
)

// pubCount returns the number of subscribers a publisher has for prefix.
func pubCount(walk func(func([]byte, int)), prefix string) int {
	n := 0
	walk(func(p []byte, k int) {
		if string(p) == prefix {
			n = k
		}
	})
	return n
}

func newZmq(t *testing.T, typ zmq.Type) *zmq.Socket {
	t.Helper()
	s, err := zmq.NewSocket(typ)
	require.NoError(t, err)
	require.NoError(t, s.SetLinger(0))
	require.NoError(t, s.SetRcvtimeo(ioTimeout))
	require.NoError(t, s.SetSndtimeo(ioTimeout))
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// libzmq 4.3 sends a subscription to a ZMTP 3.1 peer as a SUBSCRIBE
// command, and to a ZMTP 3.0 peer as a message, 0x01 and the topic: what
// zrouter's SUB does too, and both of which its PUB takes.
func TestLibzmqSubscriptionWireForms(t *testing.T) {
	for _, minor := range []byte{0, 1} {
		t.Run([]string{"zmtp3.0", "zmtp3.1"}[minor], func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer ln.Close()
			s := newZmq(t, zmq.SUB)
			require.NoError(t, s.SetSubscribe("topic"))
			require.NoError(t, s.Connect("tcp://"+ln.Addr().String()))
			c, err := ln.Accept()
			require.NoError(t, err)
			defer c.Close()
			require.NoError(t, c.SetDeadline(time.Now().Add(ioTimeout)))
			out := zmtp.Greeting{Major: 3, Minor: minor, Mechanism: "NULL"}.Append(nil)
			out = zmtp.AppendCommand(out, &zmtp.Ready{Metadata: zmtp.Metadata{{Name: zmtp.PropSocketType, Value: []byte("PUB")}}})
			_, err = c.Write(out)
			require.NoError(t, err)
			greeting := make([]byte, zmtp.GreetingSize)
			_, err = io.ReadFull(c, greeting)
			require.NoError(t, err)
			rd := zmtp.NewReader(c, -1)
			h, err := rd.ReadHeader()
			require.NoError(t, err)
			require.True(t, h.IsCommand())
			_, err = rd.ReadCommand(h) // READY
			require.NoError(t, err)
			h, err = rd.ReadHeader()
			require.NoError(t, err)
			if minor == 1 {
				require.True(t, h.IsCommand(), "a command to a 3.1 peer")
				body, err := rd.ReadCommand(h)
				require.NoError(t, err)
				assert.Equal(t, (&zmtp.Subscribe{Topic: []byte("topic")}).Append(nil), body)
				return
			}
			require.False(t, h.IsCommand(), "a message to a 3.0 peer")
			m := wire.Get()
			defer m.Release()
			require.NoError(t, rd.ReadFrameInto(m, h))
			assert.Equal(t, [][]byte{[]byte("\x01topic")}, m.Frames)
		})
	}
}

// A libzmq SUB gets from a zrouter PUB what it subscribed to, and its
// subscriptions and cancels reach the PUB.
func TestLibzmqSubZrouterPub(t *testing.T) {
	ctx := testutil.Context(t, waitLimit)
	p, err := pub.New(noLinger)
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.Bind("tcp://127.0.0.1:0"))
	s := newZmq(t, zmq.SUB)
	require.NoError(t, s.SetSubscribe("a"))
	require.NoError(t, s.SetSubscribe("c"))
	require.NoError(t, s.Connect(p.Addr()))
	testutil.CheckFor(t, waitLimit, func() bool { return pubCount(p.Subscribers, "a") == 1 && pubCount(p.Subscribers, "c") == 1 })
	for _, m := range []string{"a1", "b1", "a2", "c1"} {
		require.NoError(t, p.SendFrames(ctx, []byte(m)))
	}
	for _, want := range []string{"a1", "a2", "c1"} {
		assert.Equal(t, []string{want}, strs(zmqRecv(t, s)))
	}
	require.NoError(t, s.SetUnsubscribe("a"))
	testutil.CheckFor(t, waitLimit, func() bool { return pubCount(p.Subscribers, "a") == 0 })
	require.NoError(t, p.SendFrames(ctx, []byte("a3")))
	require.NoError(t, p.SendFrames(ctx, []byte("c2")))
	assert.Equal(t, []string{"c2"}, strs(zmqRecv(t, s)))
	// Multipart, and a large frame, shared among two subscribers.
	s2 := newZmq(t, zmq.SUB)
	require.NoError(t, s2.SetSubscribe(""))
	require.NoError(t, s2.Connect(p.Addr()))
	testutil.CheckFor(t, waitLimit, func() bool { return pubCount(p.Subscribers, "") == 1 })
	big := make([]byte, 3*wire.LargeFrame)
	require.NoError(t, p.SendFrames(ctx, []byte("c-multi"), big))
	for _, z := range []*zmq.Socket{s, s2} {
		got := zmqRecv(t, z)
		require.Len(t, got, 2)
		assert.Equal(t, "c-multi", string(got[0]))
		assert.Equal(t, big, got[1])
	}
}

// A zrouter SUB subscribes to a libzmq XPUB, which sees the subscription
// and the cancel exactly, and gets what it publishes.
func TestZrouterSubLibzmqXPub(t *testing.T) {
	ctx := testutil.Context(t, waitLimit)
	x := newZmq(t, zmq.XPUB)
	require.NoError(t, x.Bind("tcp://127.0.0.1:*"))
	ep, err := x.GetLastEndpoint()
	require.NoError(t, err)
	s, err := sub.New()
	require.NoError(t, err)
	defer s.Close()
	s.Subscribe([]byte("news"))
	require.NoError(t, s.Connect(ep))
	assert.Equal(t, []string{"\x01news"}, strs(zmqRecv(t, x)))
	zmqSend(t, x, []byte("weather"))
	zmqSend(t, x, []byte("news 1"))
	m, err := s.Recv(ctx)
	require.NoError(t, err)
	assert.Equal(t, "news 1", string(m.Frames[0]))
	m.Release()
	s.Unsubscribe([]byte("news"))
	assert.Equal(t, []string{"\x00news"}, strs(zmqRecv(t, x)))
}

// A zrouter SUB gets what a libzmq PUB publishes once its subscription is
// in (libzmq's PUB says nothing of it: publish until one arrives).
func TestZrouterSubLibzmqPub(t *testing.T) {
	ctx := testutil.Context(t, waitLimit)
	zp := newZmq(t, zmq.PUB)
	require.NoError(t, zp.Bind("tcp://127.0.0.1:*"))
	ep, err := zp.GetLastEndpoint()
	require.NoError(t, err)
	s, err := sub.New()
	require.NoError(t, err)
	defer s.Close()
	s.Subscribe([]byte("k"))
	require.NoError(t, s.Connect(ep))
	var got *wire.Msg
	testutil.CheckFor(t, waitLimit, func() bool {
		zmqSend(t, zp, []byte("other"))
		zmqSend(t, zp, []byte("k1"))
		got, err = s.TryRecv()
		return err == nil
	})
	assert.Equal(t, "k1", string(got.Frames[0]))
	got.Release()
	zmqSend(t, zp, []byte("other"))
	zmqSend(t, zp, []byte("k2"))
	for {
		m, err := s.Recv(ctx)
		require.NoError(t, err)
		f := string(m.Frames[0])
		m.Release()
		if f == "k2" {
			break
		}
		require.Equal(t, "k1", f, "nothing but k passes the filter")
	}
}

// A libzmq XSUB's subscriptions, in message form, reach a zrouter XPUB's
// application; its disconnection brings the cancels; a zrouter XSUB's
// reach a libzmq XPUB.
func TestXPubXSubBothWays(t *testing.T) {
	ctx := testutil.Context(t, waitLimit)
	x, err := xpub.New(noLinger)
	require.NoError(t, err)
	defer x.Close()
	require.NoError(t, x.Bind("tcp://127.0.0.1:0"))
	zs := newZmq(t, zmq.XSUB)
	require.NoError(t, zs.Connect(x.Addr()))
	zmqSend(t, zs, []byte("\x01alpha"))
	zmqSend(t, zs, []byte("\x01beta"))
	for _, want := range []string{"\x01alpha", "\x01beta"} {
		m, err := x.Recv(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, string(m.Frames[0]))
		m.Release()
	}
	require.NoError(t, x.SendFrames(ctx, []byte("alpha 1")))
	assert.Equal(t, []string{"alpha 1"}, strs(zmqRecv(t, zs)))
	require.NoError(t, zs.Close())
	got := map[string]bool{}
	for range 2 {
		m, err := x.Recv(ctx)
		require.NoError(t, err)
		got[string(m.Frames[0])] = true
		m.Release()
	}
	assert.Equal(t, map[string]bool{"\x00alpha": true, "\x00beta": true}, got, "cancels for a subscriber gone")

	zx := newZmq(t, zmq.XPUB)
	require.NoError(t, zx.Bind("tcp://127.0.0.1:*"))
	ep, err := zx.GetLastEndpoint()
	require.NoError(t, err)
	xs, err := xsub.New(socket.WithLinger(0))
	require.NoError(t, err)
	defer xs.Close()
	require.NoError(t, xs.Connect(ep))
	require.NoError(t, xs.SendFrames(ctx, []byte("\x01gamma")))
	assert.Equal(t, []string{"\x01gamma"}, strs(zmqRecv(t, zx)))
	zmqSend(t, zx, []byte("gamma 1"))
	m, err := xs.Recv(ctx)
	require.NoError(t, err)
	assert.Equal(t, "gamma 1", string(m.Frames[0]))
	m.Release()
	require.NoError(t, xs.SendFrames(ctx, []byte("\x00gamma")))
	assert.Equal(t, []string{"\x00gamma"}, strs(zmqRecv(t, zx)))
}

// libzmq's zmq_proxy(XSUB, XPUB) forwards between a zrouter PUB and a
// zrouter SUB, subscriptions upstream and messages down.
func TestLibzmqProxyZrouterPeers(t *testing.T) {
	ctx := testutil.Context(t, waitLimit)
	front := newZmq(t, zmq.XSUB)
	require.NoError(t, front.Bind("tcp://127.0.0.1:*"))
	fep, _ := front.GetLastEndpoint()
	back := newZmq(t, zmq.XPUB)
	require.NoError(t, back.Bind("tcp://127.0.0.1:*"))
	bep, _ := back.GetLastEndpoint()
	ctl := newZmq(t, zmq.PAIR)
	require.NoError(t, ctl.Bind("inproc://pubsub-proxy-ctl"))
	ctlPeer := newZmq(t, zmq.PAIR)
	require.NoError(t, ctlPeer.Connect("inproc://pubsub-proxy-ctl"))
	done := make(chan error, 1)
	go func() { done <- zmq.ProxySteerable(front, back, nil, ctl) }()
	defer func() {
		_, _ = ctlPeer.Send("TERMINATE", 0)
		<-done
	}()

	p, err := pub.New(noLinger)
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.Connect(fep))
	s, err := sub.New()
	require.NoError(t, err)
	defer s.Close()
	s.Subscribe([]byte("z"))
	require.NoError(t, s.Connect(bep))
	testutil.CheckFor(t, waitLimit, func() bool { return pubCount(p.Subscribers, "z") == 1 }, "the subscription through the proxy")
	require.NoError(t, p.SendFrames(ctx, []byte("y")))
	require.NoError(t, p.SendFrames(ctx, []byte("z1")))
	m, err := s.Recv(ctx)
	require.NoError(t, err)
	assert.Equal(t, "z1", string(m.Frames[0]))
	m.Release()
}

// A zrouter SUB sends its subscriptions as libzmq does: SUBSCRIBE and
// CANCEL commands to a ZMTP 3.1 peer, messages to a 3.0 one.
func TestZrouterSubscriptionWireForms(t *testing.T) {
	for _, minor := range []byte{0, 1} {
		t.Run([]string{"zmtp3.0", "zmtp3.1"}[minor], func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer ln.Close()
			s, err := sub.New()
			require.NoError(t, err)
			defer s.Close()
			s.Subscribe([]byte("topic"))
			require.NoError(t, s.Connect("tcp://"+ln.Addr().String()))
			c, err := ln.Accept()
			require.NoError(t, err)
			defer c.Close()
			require.NoError(t, c.SetDeadline(time.Now().Add(ioTimeout)))
			out := zmtp.Greeting{Major: 3, Minor: minor, Mechanism: "NULL"}.Append(nil)
			out = zmtp.AppendCommand(out, &zmtp.Ready{Metadata: zmtp.Metadata{{Name: zmtp.PropSocketType, Value: []byte("PUB")}}})
			_, err = c.Write(out)
			require.NoError(t, err)
			greeting := make([]byte, zmtp.GreetingSize)
			_, err = io.ReadFull(c, greeting)
			require.NoError(t, err)
			rd := zmtp.NewReader(c, -1)
			h, err := rd.ReadHeader()
			require.NoError(t, err)
			require.True(t, h.IsCommand())
			_, err = rd.ReadCommand(h) // READY
			require.NoError(t, err)
			next := func() (cmd bool, body []byte) {
				h, err := rd.ReadHeader()
				require.NoError(t, err)
				if h.IsCommand() {
					b, err := rd.ReadCommand(h)
					require.NoError(t, err)
					return true, append([]byte(nil), b...)
				}
				m := wire.Get()
				defer m.Release()
				require.NoError(t, rd.ReadFrameInto(m, h))
				return false, append([]byte(nil), m.Frames[0]...)
			}
			cmd, body := next()
			if minor == 1 {
				assert.True(t, cmd)
				assert.Equal(t, (&zmtp.Subscribe{Topic: []byte("topic")}).Append(nil), body)
			} else {
				assert.False(t, cmd)
				assert.Equal(t, []byte("\x01topic"), body)
			}
			s.Unsubscribe([]byte("topic"))
			cmd, body = next()
			if minor == 1 {
				assert.True(t, cmd)
				assert.Equal(t, (&zmtp.Cancel{Topic: []byte("topic")}).Append(nil), body)
			} else {
				assert.False(t, cmd)
				assert.Equal(t, []byte("\x00topic"), body)
			}
		})
	}
}

// A port of libzmq's test_sub_forward: an intermediate device of zrouter's
// XPUB and XSUB, driven by hand, between a libzmq PUB and a libzmq SUB: the
// subscription goes up, an empty message comes down. libzmq's wait for the
// subscription to reach the publisher becomes publishing until it arrives.
func TestSubForward(t *testing.T) {
	ctx := testutil.Context(t, waitLimit)
	x, err := xpub.New(noLinger)
	require.NoError(t, err)
	defer x.Close()
	require.NoError(t, x.Bind("tcp://127.0.0.1:0"))
	xs, err := xsub.New()
	require.NoError(t, err)
	defer xs.Close()
	require.NoError(t, xs.Bind("tcp://127.0.0.1:0"))
	zctx := newContext(t)
	p := newSocket(t, zctx, zmq.PUB)
	require.NoError(t, p.Connect(xs.Addr()))
	s := newSocket(t, zctx, zmq.SUB)
	require.NoError(t, s.Connect(x.Addr()))
	require.NoError(t, s.SetSubscribe(""))

	m, err := x.Recv(ctx)
	require.NoError(t, err)
	assert.Equal(t, "\x01", string(m.Frames[0]))
	require.NoError(t, xs.Send(ctx, m)) // upstream, as it came
	require.NoError(t, xs.WaitPeers(ctx, 1))
	var down *wire.Msg
	testutil.CheckFor(t, waitLimit, func() bool {
		zmqSend(t, p, []byte{})
		down, err = xs.TryRecv()
		return err == nil
	}, "the empty message at the device")
	assert.Equal(t, [][]byte{{}}, down.Frames)
	require.NoError(t, x.Send(ctx, down))
	assert.Equal(t, []string{""}, strs(zmqRecv(t, s)))
}
