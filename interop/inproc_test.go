package interop

import (
	"fmt"
	"testing"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLibzmqInproc pins down what libzmq 4.3 does over inproc where the
// RFCs say nothing, and zrouter's inproc mirrors (internal/core's inproc
// tests): every case here is libzmq against itself.
func TestLibzmqInproc(t *testing.T) {
	t.Run("socket types are not checked", func(t *testing.T) {
		// Over tcp a PUB and a REP fail their handshake; over inproc
		// libzmq makes the pipe without looking.
		zctx := newContext(t)
		rep := newSocket(t, zctx, zmq.REP)
		require.NoError(t, rep.Bind("inproc://types"))
		pub := newSocket(t, zctx, zmq.PUB)
		require.NoError(t, pub.Connect("inproc://types"))
		pair := newSocket(t, zctx, zmq.PAIR)
		require.NoError(t, pair.Connect("inproc://types"), "a second peer of another type too")
	})
	t.Run("routing ids cross, both ways", func(t *testing.T) {
		zctx := newContext(t)
		r := newSocket(t, zctx, zmq.ROUTER)
		require.NoError(t, r.SetIdentity("B"))
		d := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, d.SetIdentity("early"))
		require.NoError(t, d.Connect("inproc://ids"), "connect before bind")
		_, err := d.Send("queued", 0)
		require.NoError(t, err)
		require.NoError(t, r.Bind("inproc://ids"))
		got, err := r.RecvMessage(0)
		require.NoError(t, err)
		assert.Equal(t, []string{"early", "queued"}, got)

		c := newSocket(t, zctx, zmq.ROUTER)
		require.NoError(t, c.SetRouterMandatory(1))
		require.NoError(t, c.Connect("inproc://ids"))
		_, err = c.SendMessage("B", "by the binder's id")
		require.NoError(t, err, "a connecting ROUTER knows the binder by its routing id at once")
		got, err = r.RecvMessage(0)
		require.NoError(t, err)
		require.Len(t, got, 2)
		assert.Equal(t, "by the binder's id", got[1])
	})
	t.Run("the high-water marks add up", func(t *testing.T) {
		for _, tc := range []struct{ snd, rcv, want int }{{3, 5, 8}, {10, 1, 11}} {
			zctx := newContext(t)
			r := newSocket(t, zctx, zmq.ROUTER)
			require.NoError(t, r.SetRcvhwm(tc.rcv))
			require.NoError(t, r.Bind("inproc://hwm"))
			d := newSocket(t, zctx, zmq.DEALER)
			require.NoError(t, d.SetSndhwm(tc.snd))
			require.NoError(t, d.Connect("inproc://hwm"))
			n := 0
			for ; n < 100; n++ {
				if _, err := d.Send(fmt.Sprint(n), zmq.DONTWAIT); err != nil {
					assert.Equal(t, zmq.Errno(11), zmq.AsErrno(err), "EAGAIN")
					break
				}
			}
			assert.Equal(t, tc.want, n, "SNDHWM %d + RCVHWM %d", tc.snd, tc.rcv)
		}
	})
	t.Run("unbind keeps the connections", func(t *testing.T) {
		// zrouter's Unbind closes them, over inproc as over tcp.
		zctx := newContext(t)
		r := newSocket(t, zctx, zmq.ROUTER)
		require.NoError(t, r.Bind("inproc://unbind"))
		d := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, d.Connect("inproc://unbind"))
		require.NoError(t, r.Unbind("inproc://unbind"))
		_, err := d.Send("after", 0)
		require.NoError(t, err)
		got, err := r.RecvMessage(0)
		require.NoError(t, err)
		require.Len(t, got, 2)
		assert.Equal(t, "after", got[1])
	})
	t.Run("no monitor events", func(t *testing.T) {
		// An inproc connection has no session: libzmq reports nothing of
		// it. The first event after it is the LISTENING of a tcp bind
		// made after the exchange.
		zctx := newContext(t)
		r := newSocket(t, zctx, zmq.ROUTER)
		mon := otrZmqMonitor(t, zctx, r, "inproc-events")
		require.NoError(t, r.Bind("inproc://events"))
		d := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, d.Connect("inproc://events"))
		_, err := d.Send("x", 0)
		require.NoError(t, err)
		_, err = r.RecvMessage(0)
		require.NoError(t, err)
		require.NoError(t, d.Close())
		require.NoError(t, r.Bind("tcp://127.0.0.1:*"))
		ev, _, _, err := mon.RecvEvent(0)
		require.NoError(t, err)
		assert.Equal(t, zmq.EVENT_LISTENING, ev)
	})
}
