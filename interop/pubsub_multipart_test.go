package interop

import (
	"context"
	"fmt"
	"testing"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/interop/internal/zmqc"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/xpub"
	"github.com/zrouter/zrouter/xsub"
)

// The XPUB and XSUB options libzmq 4.3 has only in its DRAFT API
// (ZMQ_XPUB_MANUAL_LAST_VALUE, ZMQ_ONLY_FIRST_SUBSCRIBE) and subscriptions
// sent in messages of several frames. libzmq's side is driven through
// zmqc, which sets options by number; each scenario asserts what libzmq
// does, then that zrouter does the same.

// mpXPub is an XPUB under test that receives whole messages.
type mpXPub interface {
	addr() string
	recv(t *testing.T) []string
	send(t *testing.T, frame string)
	subscribe(t *testing.T, topic string) // the sender of the last subscription received
}

type mpOpts struct{ onlyFirst, lastValue bool }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// libMPXPub is libzmq's XPUB.
type libMPXPub struct {
	s  *zmqc.Socket
	ep string
}

func newLibMPXPub(t *testing.T, o mpOpts) mpXPub {
	zctx, err := zmqc.NewContext()
	require.NoError(t, err)
	s, err := zctx.Socket(zmqc.XPUB)
	require.NoError(t, err)
	t.Cleanup(func() {
		assert.NoError(t, s.Close())
		assert.NoError(t, zctx.Term())
	})
	require.NoError(t, s.SetTimeouts(ioTimeout))
	require.NoError(t, s.SetInt(zmqc.OnlyFirstSubscribe, b2i(o.onlyFirst)))
	if o.lastValue {
		require.NoError(t, s.SetInt(zmqc.XPubManualLastValue, 1))
	}
	ep, err := s.Bind("tcp://127.0.0.1:*")
	require.NoError(t, err)
	return &libMPXPub{s: s, ep: ep}
}

func (x *libMPXPub) addr() string { return x.ep }
func (x *libMPXPub) recv(t *testing.T) []string {
	t.Helper()
	fs, err := x.s.Recv()
	require.NoError(t, err)
	return strs(fs)
}
func (x *libMPXPub) send(t *testing.T, frame string) {
	t.Helper()
	require.NoError(t, x.s.Send([]byte(frame)))
}
func (x *libMPXPub) subscribe(t *testing.T, topic string) {
	t.Helper()
	require.NoError(t, x.s.Subscribe([]byte(topic)))
}

// ourMPXPub is zrouter's.
type ourMPXPub struct {
	x    *xpub.XPub
	last *wire.Msg
}

func newOurMPXPub(t *testing.T, o mpOpts) mpXPub {
	opts := []socket.Option{noLinger, xpub.WithOnlyFirstSubscribe(o.onlyFirst)}
	if o.lastValue {
		opts = append(opts, xpub.WithManualLastValue(true))
	}
	x, err := xpub.New(opts...)
	require.NoError(t, err)
	ox := &ourMPXPub{x: x}
	t.Cleanup(func() {
		if ox.last != nil {
			ox.last.Release()
		}
		assert.NoError(t, x.Close())
	})
	require.NoError(t, x.Bind("tcp://127.0.0.1:0"))
	return ox
}

func (x *ourMPXPub) addr() string { return x.x.Addr() }
func (x *ourMPXPub) recv(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	m, err := x.x.Recv(ctx)
	require.NoError(t, err)
	if x.last != nil {
		x.last.Release()
	}
	x.last = m
	return strs(m.Frames)
}
func (x *ourMPXPub) send(t *testing.T, frame string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	require.NoError(t, x.x.SendFrames(ctx, []byte(frame)))
}
func (x *ourMPXPub) subscribe(t *testing.T, topic string) {
	t.Helper()
	require.NoError(t, x.x.Subscribe(x.last, []byte(topic)))
}

func bothMPXPubs[T any](t *testing.T, o mpOpts, scenario func(t *testing.T, x mpXPub) T) (lib, ours T) {
	t.Run("libzmq", func(t *testing.T) { lib = scenario(t, newLibMPXPub(t, o)) })
	t.Run("zrouter", func(t *testing.T) { ours = scenario(t, newOurMPXPub(t, o)) })
	return lib, ours
}

// multipartSubs are messages of several frames an XSUB sends: two
// subscriptions, data then a subscription, a subscription then data, a
// cancel of what it never had (its XSUB leaves that frame out) then a
// subscription, and data around a cancel.
var multipartSubs = [][]string{
	{"\x01A", "\x01B"}, {"data", "\x01X"}, {"\x01C", "data2"}, {"\x00Q", "\x01D"}, {"d3", "\x00A", "d4"},
}

// multipartTopics are sent down after them, MARK1 last: what reaches the
// subscriber says which subscriptions the XPUB took.
var multipartTopics = []string{"A1", "B1", "C1", "D1", "X1", "Q1", "Z1", "MARK1"}

type multipartTranscript struct {
	up   []string // what the XPUB's application received, a message per entry
	down []string // what the XSUB received
}

// xsubSide is an XSUB that sends and receives whole messages.
type xsubSide struct {
	send func(t *testing.T, frames ...string)
	recv func(t *testing.T) []string
}

func libXSubSide(t *testing.T, ep string) xsubSide {
	zctx := newContext(t)
	s := newSocket(t, zctx, zmq.XSUB)
	require.NoError(t, s.Connect(ep))
	return xsubSide{
		send: func(t *testing.T, frames ...string) { zmqSend(t, s, bs(frames...)...) },
		recv: func(t *testing.T) []string { return strs(zmqRecv(t, s)) },
	}
}

func ourXSubSide(t *testing.T, ep string, opts ...socket.Option) xsubSide {
	s, err := xsub.New(append([]socket.Option{noLinger}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	require.NoError(t, s.Connect(ep))
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	require.NoError(t, s.WaitPeers(ctx, 1))
	return xsubSide{
		send: func(t *testing.T, frames ...string) { require.NoError(t, s.SendFrames(ctx, bs(frames...)...)) },
		recv: func(t *testing.T) []string {
			m, err := s.Recv(ctx)
			require.NoError(t, err)
			defer m.Release()
			return strs(m.Frames)
		},
	}
}

// runMultipart sends multipartSubs from the XSUB, then a mark, and
// returns what the XPUB's application got up to the mark and what came
// down of multipartTopics.
func runMultipart(t *testing.T, x mpXPub, side xsubSide) multipartTranscript {
	var tr multipartTranscript
	for _, m := range multipartSubs {
		side.send(t, m...)
	}
	side.send(t, "\x01MARK")
	for {
		m := x.recv(t)
		tr.up = append(tr.up, fmt.Sprintf("%q", m))
		if len(m) == 1 && m[0] == "\x01MARK" {
			break
		}
		require.Less(t, len(tr.up), 50)
	}
	for _, topic := range multipartTopics {
		x.send(t, topic)
	}
	for {
		m := side.recv(t)
		tr.down = append(tr.down, m[0])
		if m[0] == "MARK1" {
			return tr
		}
	}
}

// An XPUB reads every frame of a subscriber's message that has a
// subscription's form as one, each notice a message of its own or the
// end of one; with ZMQ_ONLY_FIRST_SUBSCRIBE only when the first frame is
// one.
func TestXPubMultipartSubscriptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    mpOpts
		want multipartTranscript
	}{
		{"default", mpOpts{}, multipartTranscript{
			up: []string{`["\x01A"]`, `["\x01B"]`, `["data" "\x01X"]`, `["\x01C"]`, `["data2"]`, `["\x01D"]`,
				`["d3" "\x00A"]`, `["d4"]`, `["\x01MARK"]`},
			down: []string{"B1", "C1", "D1", "X1", "MARK1"}}},
		{"only first", mpOpts{onlyFirst: true}, multipartTranscript{
			up: []string{`["\x01A"]`, `["\x01B"]`, `["data" "\x01X"]`, `["\x01C"]`, `["data2"]`, `["\x01D"]`,
				`["d3" "\x00A" "d4"]`, `["\x01MARK"]`},
			down: []string{"A1", "B1", "C1", "D1", "MARK1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lib, ours := bothMPXPubs(t, tc.o, func(t *testing.T, x mpXPub) multipartTranscript {
				return runMultipart(t, x, libXSubSide(t, x.addr()))
			})
			assert.Equal(t, tc.want, lib, "libzmq")
			assert.Equal(t, lib, ours, "zrouter as libzmq")
		})
	}
}

// A zrouter XSUB sends subscriptions in messages of several frames as
// libzmq's XSUB does, to libzmq's XPUB and to zrouter's.
func TestXSubMultipartSubscriptions(t *testing.T) {
	want := multipartTranscript{
		up: []string{`["\x01A"]`, `["\x01B"]`, `["data" "\x01X"]`, `["\x01C"]`, `["data2"]`, `["\x01D"]`,
			`["d3" "\x00A"]`, `["d4"]`, `["\x01MARK"]`},
		down: []string{"B1", "C1", "D1", "X1", "MARK1"},
	}
	lib, ours := bothMPXPubs(t, mpOpts{}, func(t *testing.T, x mpXPub) multipartTranscript {
		return runMultipart(t, x, ourXSubSide(t, x.addr()))
	})
	assert.Equal(t, want, lib, "zrouter's XSUB to libzmq's XPUB, as libzmq's XSUB")
	assert.Equal(t, want, ours, "zrouter's XSUB to zrouter's XPUB")
}

// ZMQ_XPUB_MANUAL_LAST_VALUE: the first message after a subscription the
// application received goes only to its subscriber, if it matches what
// that subscriber is subscribed to (the cached last value), the next to
// everyone; a subscriber's departure leaves no one to single out.
func TestXPubManualLastValue(t *testing.T) {
	lib, ours := bothMPXPubs(t, mpOpts{lastValue: true}, func(t *testing.T, x mpXPub) [][]string {
		zctx := newContext(t)
		subs := make([]*zmq.Socket, 3)
		for i := range subs {
			subs[i] = newSocket(t, zctx, zmq.XSUB)
			require.NoError(t, subs[i].Connect(x.addr()))
		}
		until := func(s *zmq.Socket, last string) []string {
			var seen []string
			for len(seen) == 0 || seen[len(seen)-1] != last {
				seen = append(seen, strs(zmqRecv(t, s))[0])
			}
			return seen
		}
		var got [][]string
		zmqSend(t, subs[0], []byte("\x01t"))
		got = append(got, x.recv(t))
		x.subscribe(t, "t")
		x.send(t, "t-cached-0") // to subs[0] alone
		x.send(t, "t-all-1")    // to all subscribed
		zmqSend(t, subs[1], []byte("\x01t"))
		got = append(got, x.recv(t))
		x.subscribe(t, "t")
		x.send(t, "t-cached-1") // to subs[1] alone
		zmqSend(t, subs[2], []byte("\x01u"))
		got = append(got, x.recv(t))
		x.send(t, "t-lost") // subs[2] alone, which has no "t": no one
		x.send(t, "t-all-2")
		got = append(got, until(subs[0], "t-all-2"))
		require.NoError(t, subs[0].Close())
		got = append(got, x.recv(t)) // subs[0]'s cancel
		x.send(t, "t-all-3")         // no one singled out
		x.send(t, "t-end")
		return append(got, until(subs[1], "t-end")) // subs[2] has no "t"
	})
	want := [][]string{{"\x01t"}, {"\x01t"}, {"\x01u"},
		{"t-cached-0", "t-all-1", "t-all-2"}, {"\x00t"},
		{"t-cached-1", "t-all-2", "t-all-3", "t-end"}}
	assert.Equal(t, want, lib, "libzmq")
	assert.Equal(t, lib, ours, "zrouter as libzmq")
}
