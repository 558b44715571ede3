package core

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/zmtp"
)

// upCounter is a socket type's routing that admits every pipe and counts
// the connections it admitted.
type upCounter struct{ ups atomic.Int64 }

func (*upCounter) AddPipe(*Pipe) error             { return nil }
func (u *upCounter) Up(*Pipe, *zmtp.Session) error { u.ups.Add(1); return nil }
func (*upCounter) Down(*Pipe)                      {}
func (*upCounter) RemovePipe(*Pipe)                {}
func (*upCounter) Close()                          {}

func newCounted(t *testing.T, typ zmtp.SocketType) (*Socket, *upCounter) {
	t.Helper()
	s, err := New(Spec{Type: typ}, []socket.Option{socket.WithLinger(0),
		socket.WithReconnectInterval(time.Millisecond)}, new(socket.Socket))
	require.NoError(t, err)
	u := new(upCounter)
	s.SetRouting(u, 0)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s, u
}

// A connect loop whose inproc connection ends after Disconnect has
// returned, but before Disconnect's teardown has stopped the loop, makes
// no new connection: one would come up beside the next Connect's under
// the same routing id, and a ROUTER with handover would give the id to it.
// The loop's next attempt is made here by hand, at the point where the
// race put it.
func TestInprocNoConnectionAfterDisconnect(t *testing.T) {
	ep := "inproc://" + t.Name()
	bound, ups := newCounted(t, zmtp.ROUTER)
	require.NoError(t, bound.Bind(ep))
	c, _ := newCounted(t, zmtp.DEALER)
	require.NoError(t, c.Connect(ep, nil))
	testutil.CheckFor(t, 10*time.Second, func() bool { return ups.ups.Load() == 1 })

	c.mu.Lock()
	cn := c.conns[0]
	c.mu.Unlock()
	require.NoError(t, c.Disconnect(ep))
	conn, _, err := c.dialInproc(cn)
	require.ErrorIs(t, err, errQuitting)
	require.Nil(t, conn)
	require.EqualValues(t, 1, ups.ups.Load(), "a connection came up after Disconnect")
}
