package interop

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"testing"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/pub"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/xpub"
)

// An XPUB under test: libzmq's, or zrouter's with the same options. Each
// scenario runs on both, and asserts both what libzmq does and that
// zrouter does the same.
type testXPub interface {
	addr() string
	recv(t *testing.T) string // one single-frame message
	send(t *testing.T, frames ...string)
	// subscribe, for XPUB_MANUAL, subscribes the subscriber of the last
	// message received to topic.
	subscribe(t *testing.T, topic string)
}

type xpubOpts struct {
	verbose, verboser, manual, nodrop, invert bool
	welcome                                   string
	sndhwm                                    int
}

type libXPub struct{ s *zmq.Socket }

func newLibXPub(t *testing.T, zctx *zmq.Context, typ zmq.Type, o xpubOpts) testXPub {
	s := newSocket(t, zctx, typ)
	if o.verbose {
		require.NoError(t, s.SetXpubVerbose(1))
	}
	if o.verboser {
		require.NoError(t, s.SetXpubVerboser(1))
	}
	if o.manual {
		require.NoError(t, s.SetXpubManual(1))
	}
	if o.nodrop {
		require.NoError(t, s.SetXpubNodrop(true))
	}
	if o.invert {
		require.NoError(t, s.SetInvertMatching(1))
	}
	if o.welcome != "" {
		require.NoError(t, s.SetXpubWelcomeMsg(o.welcome))
	}
	if o.sndhwm > 0 {
		require.NoError(t, s.SetSndhwm(o.sndhwm))
	}
	require.NoError(t, s.Bind("tcp://127.0.0.1:*"))
	return &libXPub{s: s}
}

func (x *libXPub) addr() string { ep, _ := x.s.GetLastEndpoint(); return ep }
func (x *libXPub) recv(t *testing.T) string {
	t.Helper()
	return strs(zmqRecv(t, x.s))[0]
}
func (x *libXPub) send(t *testing.T, frames ...string) { t.Helper(); zmqSend(t, x.s, bs(frames...)...) }
func (x *libXPub) subscribe(t *testing.T, topic string) {
	require.NoError(t, x.s.SetSubscribe(topic))
}

type ourXPub struct {
	x    *xpub.XPub
	p    *pub.Pub
	last *wire.Msg
}

func newOurXPub(t *testing.T, typ zmq.Type, o xpubOpts) testXPub {
	opts := []socket.Option{noLinger}
	if o.verbose {
		opts = append(opts, xpub.WithVerbose(true))
	}
	if o.verboser {
		opts = append(opts, xpub.WithVerboser(true))
	}
	if o.manual {
		opts = append(opts, xpub.WithManual(true))
	}
	if o.nodrop {
		opts = append(opts, pub.WithNoDrop(true))
	}
	if o.invert {
		opts = append(opts, socket.WithInvertMatching(true))
	}
	if o.welcome != "" {
		opts = append(opts, xpub.WithWelcome([]byte(o.welcome)))
	}
	if o.sndhwm > 0 {
		opts = append(opts, socket.WithSendHWM(o.sndhwm))
	}
	ox := &ourXPub{}
	if typ == zmq.PUB {
		p, err := pub.New(opts...)
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Close() })
		require.NoError(t, p.Bind("tcp://127.0.0.1:0"))
		ox.p = p
		return ox
	}
	x, err := xpub.New(opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		if ox.last != nil {
			ox.last.Release()
		}
		_ = x.Close()
	})
	require.NoError(t, x.Bind("tcp://127.0.0.1:0"))
	ox.x = x
	return ox
}

func (x *ourXPub) sock() *socket.Socket {
	if x.p != nil {
		return &x.p.Socket
	}
	return &x.x.Socket
}
func (x *ourXPub) addr() string { return x.sock().Addr() }
func (x *ourXPub) recv(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	m, err := x.x.Recv(ctx)
	require.NoError(t, err)
	if x.last != nil {
		x.last.Release()
	}
	x.last = m
	require.Len(t, m.Frames, 1)
	return string(m.Frames[0])
}
func (x *ourXPub) send(t *testing.T, frames ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	require.NoError(t, x.sock().SendFrames(ctx, bs(frames...)...))
}
func (x *ourXPub) subscribe(t *testing.T, topic string) {
	require.NoError(t, x.x.Subscribe(x.last, []byte(topic)))
}

// bothXPubs runs scenario on libzmq's socket of typ (XPUB or PUB) and on
// zrouter's, with the same options, and returns what each gave.
func bothXPubs[T any](t *testing.T, typ zmq.Type, o xpubOpts, scenario func(t *testing.T, zctx *zmq.Context, x testXPub) T) (lib, ours T) {
	t.Run("libzmq", func(t *testing.T) {
		zctx := newContext(t)
		lib = scenario(t, zctx, newLibXPub(t, zctx, typ, o))
	})
	t.Run("zrouter", func(t *testing.T) {
		zctx := newContext(t)
		ours = scenario(t, zctx, newOurXPub(t, typ, o))
	})
	return lib, ours
}

// untilMark returns what x receives up to and including mark.
func untilMark(t *testing.T, x testXPub, mark string) []string {
	t.Helper()
	var got []string
	for {
		m := x.recv(t)
		got = append(got, m)
		if m == "\x01"+mark {
			return got
		}
		require.Less(t, len(got), 100, "no mark %q", mark)
	}
}

// The subscription messages an XPUB passes on, default, VERBOSE and
// VERBOSER, against libzmq's: two XSUB subscribers, a repeated
// subscription, a cancel of a prefix another still has, the last cancel,
// and a subscriber's departure. Each step ends with a fresh subscription
// of the same subscriber, a mark, which comes after whatever the step
// made.
func TestXPubVerbosity(t *testing.T) {
	type transcript struct {
		steps []string
		gone  []string
	}
	scenario := func(t *testing.T, zctx *zmq.Context, x testXPub) transcript {
		a := newSocket(t, zctx, zmq.XSUB)
		b := newSocket(t, zctx, zmq.XSUB)
		require.NoError(t, a.Connect(x.addr()))
		require.NoError(t, b.Connect(x.addr()))
		var tr transcript
		k := 0
		step := func(s *zmq.Socket, msgs ...string) {
			for _, m := range msgs {
				zmqSend(t, s, []byte(m))
			}
			k++
			mark := "mark-" + strconv.Itoa(k)
			zmqSend(t, s, []byte("\x01"+mark))
			tr.steps = append(tr.steps, untilMark(t, x, mark)...)
		}
		step(a, "\x01t")
		step(a, "\x01t")          // again, from the same subscriber
		step(b, "\x01t")          // a second subscriber
		step(b, "\x00t")          // a still has it
		step(a, "\x00t", "\x00t") // XSUB counts: the second goes out
		require.NoError(t, b.Close())
		for range 2 { // b's marks, 2 and 4
			tr.gone = append(tr.gone, x.recv(t))
		}
		sort.Strings(tr.gone)
		return tr
	}
	for _, tc := range []struct {
		name string
		o    xpubOpts
		want transcript
	}{
		{"default", xpubOpts{}, transcript{
			steps: []string{"\x01t", "\x01mark-1", "\x01mark-2", "\x01mark-3", "\x01mark-4", "\x00t", "\x01mark-5"},
			gone:  []string{"\x00mark-3", "\x00mark-4"}}},
		{"verbose", xpubOpts{verbose: true}, transcript{
			steps: []string{"\x01t", "\x01mark-1", "\x01t", "\x01mark-2", "\x01t", "\x01mark-3", "\x01mark-4", "\x00t", "\x01mark-5"},
			gone:  []string{"\x00mark-3", "\x00mark-4"}}},
		{"verboser", xpubOpts{verboser: true}, transcript{
			steps: []string{"\x01t", "\x01mark-1", "\x01t", "\x01mark-2", "\x01t", "\x01mark-3", "\x00t", "\x01mark-4", "\x00t", "\x01mark-5"},
			gone:  []string{"\x00mark-3", "\x00mark-4"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lib, ours := bothXPubs(t, zmq.XPUB, tc.o, scenario)
			assert.Equal(t, tc.want, lib, "libzmq")
			assert.Equal(t, lib, ours, "zrouter as libzmq")
		})
	}
}

// XPUB_WELCOME_MSG: a SUB that subscribes to the welcome gets it first,
// the slow joiner's cure.
func TestXPubWelcome(t *testing.T) {
	lib, ours := bothXPubs(t, zmq.XPUB, xpubOpts{welcome: "W"}, func(t *testing.T, zctx *zmq.Context, x testXPub) []string {
		s := newSocket(t, zctx, zmq.SUB)
		require.NoError(t, s.SetSubscribe("W"))
		require.NoError(t, s.Connect(x.addr()))
		got := []string{x.recv(t)} // the subscription
		got = append(got, strs(zmqRecv(t, s))[0])
		x.send(t, "W then")
		return append(got, strs(zmqRecv(t, s))[0])
	})
	assert.Equal(t, []string{"\x01W", "W", "W then"}, lib)
	assert.Equal(t, lib, ours)
}

// XPUB_MANUAL: the application decides what a subscription subscribes
// to; the subscriber's departure cancels what it asked for.
func TestXPubManual(t *testing.T) {
	lib, ours := bothXPubs(t, zmq.XPUB, xpubOpts{manual: true}, func(t *testing.T, zctx *zmq.Context, x testXPub) []string {
		s := newSocket(t, zctx, zmq.XSUB)
		require.NoError(t, s.Connect(x.addr()))
		zmqSend(t, s, []byte("\x01a"))
		got := []string{x.recv(t)}
		x.subscribe(t, "b") // b, not a
		x.send(t, "a1")
		x.send(t, "b1")
		got = append(got, strs(zmqRecv(t, s))[0])
		zmqSend(t, s, []byte("\x01a")) // passed on again, every time
		got = append(got, x.recv(t))
		require.NoError(t, s.Close())
		return append(got, x.recv(t))
	})
	assert.Equal(t, []string{"\x01a", "b1", "\x01a", "\x00a"}, lib)
	assert.Equal(t, lib, ours)
}

// INVERT_MATCHING on a PUB and its SUB: the SUB gets what does not match
// its subscription.
func TestPubInvertMatching(t *testing.T) {
	lib, ours := bothXPubs(t, zmq.PUB, xpubOpts{invert: true}, func(t *testing.T, zctx *zmq.Context, x testXPub) []string {
		s := newSocket(t, zctx, zmq.SUB)
		require.NoError(t, s.SetInvertMatching(1))
		require.NoError(t, s.SetSubscribe("a"))
		require.NoError(t, s.Connect(x.addr()))
		// A libzmq PUB says nothing of subscriptions: publish a until
		// it stops arriving, then b.
		require.NoError(t, s.SetRcvtimeo(0))
		var got string
		testutil.CheckFor(t, waitLimit, func() bool {
			x.send(t, "a-probe")
			x.send(t, "b-probe")
			m, err := s.RecvMessageBytes(0)
			if err == nil {
				got = string(m[0])
			}
			return got == "b-probe"
		})
		require.NoError(t, s.SetRcvtimeo(ioTimeout))
		x.send(t, "a1")
		x.send(t, "b1")
		for {
			m := strs(zmqRecv(t, s))[0]
			if m != "b-probe" && m != "a-probe" {
				return []string{m}
			}
		}
	})
	assert.Equal(t, []string{"b1"}, lib)
	assert.Equal(t, lib, ours)
}

// XPUB_NODROP: with a subscriber that does not read, a non-blocking send
// fails (EAGAIN) once its queue and the connection are full, instead of
// dropping; everything that was sent arrives once the subscriber reads.
func TestXPubNoDrop(t *testing.T) {
	lib, ours := bothXPubs(t, zmq.XPUB, xpubOpts{nodrop: true, sndhwm: 10}, func(t *testing.T, zctx *zmq.Context, x testXPub) bool {
		s := newSocket(t, zctx, zmq.SUB)
		require.NoError(t, s.SetRcvhwm(10))
		require.NoError(t, s.SetSubscribe(""))
		require.NoError(t, s.Connect(x.addr()))
		assert.Equal(t, "\x01", x.recv(t))
		payload := string(make([]byte, 4096))
		sent := 0
		trySend := func() bool {
			switch xx := x.(type) {
			case *libXPub:
				_, err := xx.s.Send(fmt.Sprint(sent)+payload, zmq.DONTWAIT)
				if err != nil {
					require.True(t, isErrno(err, zmq.Errno(11)), "EAGAIN, got %v", err)
					return false
				}
			case *ourXPub:
				m := wire.New([]byte(fmt.Sprint(sent) + payload))
				if err := xx.x.TrySend(m); err != nil {
					m.Release()
					require.ErrorIs(t, err, socket.ErrWouldBlock)
					return false
				}
			}
			sent++
			return true
		}
		blocked := false
		for range 100_000 {
			if !trySend() {
				blocked = true
				break
			}
		}
		require.True(t, blocked, "a send must fail before 100,000")
		for i := range sent {
			m := strs(zmqRecv(t, s))[0]
			require.Equal(t, fmt.Sprint(i)+payload, m, "message %d of %d", i, sent)
		}
		return blocked
	})
	assert.True(t, lib)
	assert.Equal(t, lib, ours)
}
