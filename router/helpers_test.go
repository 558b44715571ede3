package router

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// rawPeer is a hand-driven ZMTP peer over TCP or ipc: the tests use it to
// control exactly what reaches the router and when.
type rawPeer struct {
	t    *testing.T
	conn net.Conn
	s    *zmtp.Session
}

func dialRaw(t *testing.T, addr string, typ zmtp.SocketType, id string) *rawPeer {
	t.Helper()
	network, ep := "tcp", strings.TrimPrefix(addr, "tcp://")
	if path, ok := strings.CutPrefix(addr, "ipc://"); ok {
		network, ep = "unix", path
	}
	c, err := net.Dial(network, ep)
	require.NoError(t, err)
	cfg := &zmtp.Config{SocketType: typ, Timeout: 5 * time.Second, MaxSize: -1}
	if id != "" {
		cfg.Identity = []byte(id)
	}
	s, err := zmtp.Handshake(c, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return &rawPeer{t: t, conn: c, s: s}
}

func (p *rawPeer) send(frames ...string) {
	p.t.Helper()
	fs := make([][]byte, len(frames))
	for i, f := range frames {
		fs[i] = []byte(f)
	}
	_, err := p.conn.Write(zmtp.AppendMessage(nil, fs))
	require.NoError(p.t, err)
}

// recv reads one message, skipping commands.
func (p *rawPeer) recv() []string {
	p.t.Helper()
	require.NoError(p.t, p.conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	m := wire.Get()
	defer m.Release()
	for {
		h, err := p.s.Reader.ReadHeader()
		require.NoError(p.t, err)
		if h.IsCommand() {
			_, err = p.s.Reader.ReadCommand(h)
			require.NoError(p.t, err)
			continue
		}
		require.NoError(p.t, p.s.Reader.ReadFrameInto(m, h))
		if !h.More() {
			break
		}
	}
	out := make([]string, len(m.Frames))
	for i, f := range m.Frames {
		out[i] = string(f)
	}
	return out
}

// noLinger comes first in the options of the tests' routers: they drop what
// is queued at Close, as a test that does not test linger wants, unless a
// later option says otherwise.
var noLinger = socket.WithLinger(0)

func newRouter(t *testing.T, opts ...socket.Option) *Router {
	t.Helper()
	return newRouterOn(t, "tcp", opts...)
}

// newRouterOn is newRouter bound to an endpoint of transport.
func newRouterOn(t *testing.T, transport string, opts ...socket.Option) *Router {
	t.Helper()
	r, err := New(append([]socket.Option{noLinger}, opts...)...)
	require.NoError(t, err)
	require.NoError(t, r.Bind(testutil.Endpoint(t, transport)))
	t.Cleanup(func() { require.NoError(t, r.Close()) })
	return r
}

func recvStrings(t *testing.T, r *Router) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := r.Recv(ctx)
	require.NoError(t, err)
	defer m.Release()
	out := make([]string, len(m.Frames))
	for i, f := range m.Frames {
		out[i] = string(f)
	}
	return out
}

func sendStrings(t *testing.T, r *Router, frames ...string) error {
	t.Helper()
	fs := make([][]byte, len(frames))
	for i, f := range frames {
		fs[i] = []byte(f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return r.SendFrames(ctx, fs...)
}

func waitPeers(t *testing.T, r *Router, n int) {
	t.Helper()
	testutil.CheckFor(t, 5*time.Second, func() bool { return r.Stats().Peers == n })
}
