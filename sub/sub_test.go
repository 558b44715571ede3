package sub_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/pub"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/sub"
	"github.com/zrouter/zrouter/wire"
)

// A Sub cannot send; it receives only what it subscribed to, and with
// no subscription nothing, whatever the publisher sends.
func TestSubFilters(t *testing.T) {
	ctx := testutil.Context(t, 10*time.Second)
	s, err := sub.New()
	require.NoError(t, err)
	defer s.Close()
	m := wire.New([]byte("x"))
	assert.ErrorIs(t, s.TrySend(m), errors.ErrUnsupported)
	m.Release()
	require.NoError(t, s.Bind("tcp://127.0.0.1:0"))
	p, err := pub.New(socket.WithLinger(0))
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.Connect(s.Addr()))
	require.NoError(t, s.WaitPeers(ctx, 1))
	s.Subscribe([]byte("yes"))
	testutil.CheckFor(t, 10*time.Second, func() bool {
		n := 0
		p.Subscribers(func([]byte, int) { n++ })
		return n == 1
	})
	for _, f := range []string{"no", "", "ye", "yes", "yesyes"} {
		require.NoError(t, p.SendFrames(ctx, []byte(f)))
	}
	for _, want := range []string{"yes", "yesyes"} {
		m, err := s.Recv(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, string(m.Frames[0]))
		m.Release()
	}
	_, err = s.TryRecv()
	assert.ErrorIs(t, err, socket.ErrWouldBlock, "the three before yes were filtered out")
}
