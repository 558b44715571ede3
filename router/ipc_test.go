//go:build linux

package router

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/zmtp"
)

// TestIPCPeerAddress: an ipc peer's Peer-Address and Remote are what
// libzmq reports for one, the peer process's credentials.
func TestIPCPeerAddress(t *testing.T) {
	r := newRouterOn(t, "ipc")
	p := dialRaw(t, r.Addr(), zmtp.DEALER, "me")
	p.send("hi")
	m, err := r.Recv(testutil.Context(t, 5*time.Second))
	require.NoError(t, err)
	defer m.Release()
	want := fmt.Sprintf("localhost:%d:%d:%d", os.Getuid(), os.Getgid(), os.Getpid())
	got, ok := r.Property(m, "Peer-Address")
	require.True(t, ok)
	assert.Equal(t, want, got)
	peers := r.Peers()
	require.Len(t, peers, 1)
	assert.Equal(t, want, peers[0].Remote)
	assert.Equal(t, r.Addr(), peers[0].Endpoint)
}

// TestIPCFilterRefusesPeer: a peer the IPC filters refuse is closed before
// its handshake, reported as an accept failure and counted; one they let
// in is served.
func TestIPCFilterRefusesPeer(t *testing.T) {
	other := 1<<30 + 7
	r, err := New(noLinger, socket.WithIPCFilter(socket.IPCFilter{UIDs: []int{other}}),
		socket.WithIPCFilter(socket.IPCFilter{PIDs: []int{other}}))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, r.Close()) })
	mon := r.Monitor(16)
	require.NoError(t, r.Bind(testutil.Endpoint(t, "ipc")))
	p := dialRaw0(t, r.Addr())
	// Closed before a byte: the client's handshake fails.
	_, err = zmtp.Handshake(p, &zmtp.Config{SocketType: zmtp.DEALER, Timeout: 5 * time.Second, MaxSize: -1})
	assert.Error(t, err)
	for ev := range mon.C {
		require.NotEqual(t, socket.EventAccepted, ev.Kind, "a refused peer is not accepted")
		if ev.Kind == socket.EventAcceptFailed {
			assert.ErrorIs(t, ev.Err, socket.ErrPeerFiltered)
			assert.Equal(t, r.Addr(), ev.Endpoint)
			break
		}
	}
	testutil.CheckFor(t, 5*time.Second, func() bool { return r.Stats().RefusedFiltered == 1 })
	assert.Zero(t, r.Stats().Peers)

	// The current process, let in by pid.
	ok, err := New(noLinger, socket.WithIPCFilter(socket.IPCFilter{UIDs: []int{other}, PIDs: []int{os.Getpid()}}))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ok.Close()) })
	require.NoError(t, ok.Bind(testutil.Endpoint(t, "ipc")))
	q := dialRaw(t, ok.Addr(), zmtp.DEALER, "in")
	q.send("x")
	assert.Equal(t, []string{"in", "x"}, recvStrings(t, ok))
	assert.Zero(t, ok.Stats().RefusedFiltered)
}

// dialRaw0 connects to an ipc endpoint without a handshake.
func dialRaw0(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := dialUnix(strings.TrimPrefix(addr, "ipc://"))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestIPCUnbindRemovesFile: Unbind and Close remove the socket file the
// router made, so the path can be bound again.
func TestIPCUnbindRemovesFile(t *testing.T) {
	ep := testutil.Endpoint(t, "ipc")
	path := strings.TrimPrefix(ep, "ipc://")
	r, err := New(noLinger)
	require.NoError(t, err)
	require.NoError(t, r.Bind(ep))
	assert.Equal(t, ep, r.Addr())
	_, err = os.Lstat(path)
	require.NoError(t, err)
	require.NoError(t, r.Unbind(ep))
	_, err = os.Lstat(path)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	require.NoError(t, r.Bind(ep))
	// A second socket cannot take the path while the first holds it.
	r2, err := New(noLinger)
	require.NoError(t, err)
	err = r2.Bind(ep)
	assert.Error(t, err)
	assert.False(t, errors.Is(err, socket.ErrBadEndpoint), "in use, not malformed: %v", err)
	require.NoError(t, r2.Close())
	require.NoError(t, r.Close())
	_, err = os.Lstat(path)
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

// TestIPCWildcardUnbind: ipc://* binds a fresh path, which Addr reports and
// Unbind takes.
func TestIPCWildcardUnbind(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	r := newRouterOn(t, "tcp")
	require.NoError(t, r.Bind("ipc://*"))
	addr := r.Addr()
	require.True(t, strings.HasPrefix(addr, "ipc://"+os.Getenv("TMPDIR")), addr)
	assert.ErrorIs(t, r.Unbind("ipc://*"), socket.ErrUnknownEndpoint, "a wildcard names no one binding")
	p := dialRaw(t, addr, zmtp.DEALER, "w")
	p.send("x")
	assert.Equal(t, []string{"w", "x"}, recvStrings(t, r))
	require.NoError(t, r.Unbind(addr))
	_, err := os.Lstat(strings.TrimPrefix(addr, "ipc://"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

// rawConn is an ipc connection with nothing on it yet.
type rawConn = net.UnixConn

func dialUnix(path string) (*rawConn, error) {
	return net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
}
