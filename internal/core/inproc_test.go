package core_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
)

// inprocName returns an inproc endpoint unique to the test: the names are
// the process's, shared by every test.
func inprocName(t *testing.T, what string) string {
	return fmt.Sprintf("inproc://%s/%s", t.Name(), what)
}

func newRouter(t *testing.T, opts ...socket.Option) *router.Router {
	t.Helper()
	r, err := router.New(append([]socket.Option{socket.WithLinger(0)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, r.Close()) })
	return r
}

func newDealer(t *testing.T, opts ...socket.Option) *dealer.Dealer {
	t.Helper()
	d, err := dealer.New(append([]socket.Option{socket.WithLinger(0)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Close()) })
	return d
}

// sender is what both socket types send and receive with.
type sender interface {
	SendFrames(ctx context.Context, frames ...[]byte) error
	Recv(ctx context.Context) (*wire.Msg, error)
}

func send(t *testing.T, s sender, frames ...string) {
	t.Helper()
	fs := make([][]byte, len(frames))
	for i, f := range frames {
		fs[i] = []byte(f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.SendFrames(ctx, fs...))
}

func recv(t *testing.T, s sender) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := s.Recv(ctx)
	require.NoError(t, err)
	defer m.Release()
	out := make([]string, len(m.Frames))
	for i, f := range m.Frames {
		out[i] = string(f)
	}
	return out
}

func TestInprocRouterWithDealers(t *testing.T) {
	ep := inprocName(t, "r")
	r := newRouter(t)
	early := newDealer(t, socket.WithRoutingID([]byte("early")))
	require.NoError(t, early.Connect(ep), "connect before bind")
	send(t, early, "queued before the bind")
	require.NoError(t, r.Bind(ep))
	assert.Equal(t, ep, r.Addr())
	late := newDealer(t, socket.WithRoutingID([]byte("late")))
	require.NoError(t, late.Connect(ep))
	assert.Equal(t, []string{"early", "queued before the bind"}, recv(t, r))
	send(t, late, "a", "b")
	assert.Equal(t, []string{"late", "a", "b"}, recv(t, r))
	send(t, r, "late", "to late")
	send(t, r, "early", "to early")
	assert.Equal(t, []string{"to late"}, recv(t, late))
	assert.Equal(t, []string{"to early"}, recv(t, early))
}
