package xpub_test

// Ports of libzmq 4.3's tests/test_hwm_pubsub.cpp, with zrouter's XPUB,
// PUB and SUB, over tcp and inproc. libzmq's msleep(SETTLE_TIME) waits
// become waits on the counters.

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/pub"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/sub"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/xpub"
)

func hwmPair(t *testing.T, ep string, hwm int, opts ...socket.Option) (*xpub.XPub, *sub.Sub) {
	t.Helper()
	x, err := xpub.New(append([]socket.Option{socket.WithLinger(0), socket.WithSendHWM(hwm)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = x.Close() })
	require.NoError(t, x.Bind(ep))
	s, err := sub.New()
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.Connect(x.Addr()))
	s.Subscribe(nil)
	ctx := testutil.Context(t, waitFor)
	assert.Equal(t, "\x01", recvString(t, ctx, x), "the subscriber's subscription")
	return x, s
}

func drain(s *sub.Sub) (n int, end bool) {
	for {
		m, err := s.TryRecv()
		if err != nil {
			return n, false
		}
		f := string(m.Frames[0])
		m.Release()
		if f == "end" {
			return n, true
		}
		n++
	}
}

// test_defaults: as many messages as the high-water mark all go, and
// all arrive.
func TestHWMPubsubDefaults(t *testing.T) {
	for _, ep := range []string{"tcp://127.0.0.1:0", "inproc://hwm-defaults"} {
		for _, hwm := range []int{1000, 100} {
			t.Run(ep[:3], func(t *testing.T) {
				x, s := hwmPair(t, ep, hwm)
				sent := 0
				for sent < hwm {
					m := wire.New([]byte("test message"))
					if x.TrySend(m) != nil {
						m.Release()
						break
					}
					sent++
				}
				assert.Equal(t, hwm, sent)
				testutil.CheckFor(t, waitFor, func() bool { return int(s.Stats().MsgsIn) == hwm })
				n, _ := drain(s)
				assert.Equal(t, hwm, n)
				assert.Zero(t, x.Stats().DroppedHWM)
			})
		}
	}
}

// test_blocking: with XPUB_NODROP, a TrySend at the mark fails with
// ErrWouldBlock instead of dropping; draining the subscriber lets it go
// on, and every message sent arrives.
func TestHWMPubsubBlocking(t *testing.T) {
	for _, ep := range []string{"tcp://127.0.0.1:0", "inproc://hwm-blocking"} {
		t.Run(ep[:3], func(t *testing.T) {
			const hwm, count = 2000, 6000
			ctx := testutil.Context(t, waitFor)
			x, s := hwmPair(t, ep, hwm, pub.WithNoDrop(true))
			sent, recvd, blocked := 0, 0, 0
			// Frames big enough to fill the connection's buffers over
			// tcp: libzmq blocks at its pipes' marks, zrouter's writer
			// drains its queue into the connection.
			payload := make([]byte, 4096)
			for sent < count {
				m := wire.New(payload)
				err := x.TrySend(m)
				if err == nil {
					sent++
					continue
				}
				m.Release()
				require.ErrorIs(t, err, socket.ErrWouldBlock)
				blocked++
				// As libzmq's test, which receives with a timeout: take
				// at least one, then what is there.
				mm, err := s.Recv(ctx)
				require.NoError(t, err)
				mm.Release()
				n, _ := drain(s)
				recvd += 1 + n
			}
			assert.Positive(t, blocked)
			// As libzmq's test: drain, so that "end" finds room.
			n, _ := drain(s)
			recvd += n
			require.NoError(t, x.SendFrames(ctx, []byte("end")))
			for {
				n, end := drain(s)
				recvd += n
				if end {
					break
				}
				mm, err := s.Recv(ctx)
				require.NoError(t, err)
				if string(mm.Frames[0]) == "end" {
					mm.Release()
					break
				}
				mm.Release()
				recvd++
			}
			assert.Equal(t, sent, recvd)
			assert.Zero(t, x.Stats().DroppedHWM)
		})
	}
}

// test_reset_hwm: the mark applies to what is queued, not to what went
// before: 9999 sent and received, then 1100 more, under a mark of 11024.
func TestHWMPubsubReset(t *testing.T) {
	const hwm = 11024
	p, err := pub.New(socket.WithLinger(0), socket.WithSendHWM(hwm))
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.Bind("tcp://127.0.0.1:0"))
	s, err := sub.New(socket.WithRecvHWM(hwm))
	require.NoError(t, err)
	defer s.Close()
	s.Subscribe(nil)
	require.NoError(t, s.Connect(p.Addr()))
	testutil.CheckFor(t, waitFor, func() bool {
		n := 0
		p.Subscribers(func([]byte, int) { n++ })
		return n == 1
	})
	total := 0
	for _, count := range []int{9999, 1100} {
		for range count {
			m := wire.New(nil)
			require.NoError(t, p.TrySend(m))
		}
		total += count
		testutil.CheckFor(t, waitFor, func() bool { return int(s.Stats().MsgsIn) == total })
		n, _ := drain(s)
		assert.Equal(t, count, n)
	}
	assert.Zero(t, p.Stats().DroppedHWM)
	_, err = s.TryRecv()
	assert.True(t, errors.Is(err, socket.ErrWouldBlock))
}
