//go:build linux

package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/socket"
)

// listenIPC binds endpoint with o and closes the listener at the end of
// the test.
func listenIPC(t *testing.T, endpoint string, o Options) (net.Listener, Endpoint) {
	t.Helper()
	e, err := Parse(endpoint, true)
	require.NoError(t, err)
	ln, err := Listen(context.Background(), e, o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	return ln, Bound(e, ln)
}

// roundTrip dials to, accepts on ln, and checks that bytes cross both
// ways. It returns the two ends' remote addresses (dialled, accepted).
func roundTrip(t *testing.T, ln net.Listener, to Endpoint) (string, string) {
	t.Helper()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	to, err := Parse(to.String(), false)
	require.NoError(t, err)
	c, err := Dial(context.Background(), to, Options{})
	require.NoError(t, err)
	defer c.Close()
	s, ok := <-accepted
	require.True(t, ok, "accept failed")
	defer s.Close()
	_, err = c.Write([]byte("ping"))
	require.NoError(t, err)
	buf := make([]byte, 4)
	_, err = io.ReadFull(s, buf)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(buf))
	_, err = s.Write([]byte("pong"))
	require.NoError(t, err)
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	assert.Equal(t, "pong", string(buf))
	return c.RemoteAddr().String(), s.RemoteAddr().String()
}

func TestIPCDialAndListen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	ln, bound := listenIPC(t, "ipc://"+path, Options{})
	assert.Equal(t, "ipc://"+path, bound.String())
	fi, err := os.Lstat(path)
	require.NoError(t, err)
	assert.Equal(t, fs.ModeSocket, fi.Mode().Type())
	dialled, accepted := roundTrip(t, ln, bound)
	// libzmq's Peer-Address of an ipc peer, on both ends: both ends are
	// this process.
	want := fmt.Sprintf("localhost:%d:%d:%d", os.Getuid(), os.Getgid(), os.Getpid())
	assert.Equal(t, want, dialled)
	assert.Equal(t, want, accepted)
}

func TestIPCRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	ln, bound := listenIPC(t, "ipc://rel.sock", Options{})
	assert.Equal(t, "ipc://rel.sock", bound.String())
	roundTrip(t, ln, bound)
	require.NoError(t, ln.Close())
	_, err := os.Lstat(filepath.Join(dir, "rel.sock"))
	assert.ErrorIs(t, err, fs.ErrNotExist, "Close removes the file it made")
}

// staleSocket leaves at path the socket file of a listener that is gone,
// as a process that crashed leaves it.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	require.NoError(t, err)
	ln.SetUnlinkOnClose(false)
	require.NoError(t, ln.Close())
	_, err = os.Lstat(path)
	require.NoError(t, err, "the stale file stays")
}

func TestIPCStaleFileIsReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	staleSocket(t, path)
	ln, bound := listenIPC(t, "ipc://"+path, Options{})
	roundTrip(t, ln, bound)
}

func TestIPCLivePathIsNotStolen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	live, err := net.Listen("unix", path)
	require.NoError(t, err)
	defer live.Close()
	e, err := Parse("ipc://"+path, true)
	require.NoError(t, err)
	_, err = Listen(context.Background(), e, Options{})
	require.ErrorIs(t, err, syscall.EADDRINUSE)
	assert.Contains(t, err.Error(), "live listener")
	// The live listener still has its path: a client reaches it.
	got := make(chan error, 1)
	go func() {
		c, err := live.Accept()
		if err == nil {
			c.Close()
		}
		got <- err
	}()
	// Our own probe came first; then the client's.
	require.NoError(t, <-got)
	c, err := net.Dial("unix", path)
	require.NoError(t, err)
	c.Close()
}

func TestIPCNotASocketIsKept(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(path, []byte("data"), 0o600))
	for _, p := range []string{path, dir} {
		e, err := Parse("ipc://"+p, true)
		require.NoError(t, err)
		_, err = Listen(context.Background(), e, Options{})
		require.ErrorIs(t, err, syscall.EADDRINUSE, p)
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "data", string(b))
}

func TestIPCCloseRemovesOnlyItsOwnFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	ln, _ := listenIPC(t, "ipc://"+path, Options{})
	require.NoError(t, ln.Close())
	_, err := os.Lstat(path)
	assert.ErrorIs(t, err, fs.ErrNotExist)

	// Another listener took the path while ours was up (as libzmq's bind,
	// which unlinks whatever is there): closing ours leaves its file.
	ln, _ = listenIPC(t, "ipc://"+path, Options{})
	require.NoError(t, os.Remove(path))
	other, err := net.Listen("unix", path)
	require.NoError(t, err)
	defer other.Close()
	require.NoError(t, ln.Close())
	fi, err := os.Lstat(path)
	require.NoError(t, err, "the other listener's file stays")
	assert.Equal(t, fs.ModeSocket, fi.Mode().Type())
}

func TestIPCWildcard(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ln, bound := listenIPC(t, "ipc://*", Options{})
	dir, file := filepath.Split(bound.Host)
	assert.Equal(t, "socket", file, "libzmq's name")
	assert.Equal(t, tmp, filepath.Dir(filepath.Clean(dir)))
	assert.True(t, strings.HasPrefix(filepath.Base(dir), "tmp"), dir)
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), "a directory only its owner enters")
	roundTrip(t, ln, bound)
	// Another "*" gets another path.
	_, again := listenIPC(t, "ipc://*", Options{})
	assert.NotEqual(t, bound, again)
	require.NoError(t, ln.Close())
	_, err = os.Stat(dir)
	assert.ErrorIs(t, err, fs.ErrNotExist, "Close removes the directory")
}

func TestIPCWildcardTooLong(t *testing.T) {
	// A temporary directory whose socket path does not fit sun_path.
	tmp := t.TempDir()
	long := filepath.Join(tmp, strings.Repeat("d", 100))
	require.NoError(t, os.Mkdir(long, 0o700))
	t.Setenv("TMPDIR", long)
	e, err := Parse("ipc://*", true)
	require.NoError(t, err)
	_, err = Listen(context.Background(), e, Options{})
	require.ErrorIs(t, err, syscall.ENAMETOOLONG)
	entries, err := os.ReadDir(long)
	require.NoError(t, err)
	assert.Empty(t, entries, "the directory made for it is removed")
}

func TestIPCPathTooLong(t *testing.T) {
	_, err := Parse("ipc:///"+strings.Repeat("a", 200), true)
	require.ErrorIs(t, err, socket.ErrBadEndpoint)
	require.ErrorIs(t, err, syscall.ENAMETOOLONG)
	assert.Contains(t, err.Error(), "at most 107")
}

func TestIPCAbstract(t *testing.T) {
	name := fmt.Sprintf("ipc://@zrouter-test-%d-%x", os.Getpid(), rand.Uint64())
	ln, bound := listenIPC(t, name, Options{IPCPerm: 0o600})
	assert.Equal(t, name, bound.String())
	roundTrip(t, ln, bound)
	e, err := Parse(name, true)
	require.NoError(t, err)
	_, err = Listen(context.Background(), e, Options{})
	assert.ErrorIs(t, err, syscall.EADDRINUSE, "a name has one listener")
	require.NoError(t, ln.Close())
	ln, _ = listenIPC(t, name, Options{})
	require.NoError(t, ln.Close(), "the name is free again after Close")
}

func TestIPCPerm(t *testing.T) {
	for _, mode := range []os.FileMode{0o600, 0o660, 0o777} {
		path := filepath.Join(t.TempDir(), "s")
		ln, _ := listenIPC(t, "ipc://"+path, Options{IPCPerm: mode})
		fi, err := os.Lstat(path)
		require.NoError(t, err)
		assert.Equal(t, mode, fi.Mode().Perm())
		require.NoError(t, ln.Close())
	}
}

func TestIPCFilter(t *testing.T) {
	uid, gid, pid := os.Getuid(), os.Getgid(), os.Getpid()
	other := 1<<30 + 7 // no process, user or group has it
	tests := []struct {
		name   string
		filter IPCFilter
		let    bool
	}{
		{"none", IPCFilter{}, true},
		{"uid", IPCFilter{UIDs: []int{other, uid}}, true},
		{"gid", IPCFilter{GIDs: []int{gid}}, true},
		{"pid", IPCFilter{PIDs: []int{pid}}, true},
		{"other uid", IPCFilter{UIDs: []int{other}}, false},
		{"other gid", IPCFilter{GIDs: []int{other}}, false},
		{"other pid", IPCFilter{PIDs: []int{other}}, false},
		{"others", IPCFilter{UIDs: []int{other}, GIDs: []int{other}, PIDs: []int{other}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s")
			ln, _ := listenIPC(t, "ipc://"+path, Options{IPCFilter: tt.filter})
			type result struct {
				c   net.Conn
				err error
			}
			got := make(chan result, 1)
			go func() {
				c, err := ln.Accept()
				got <- result{c, err}
			}()
			c, err := net.Dial("unix", path)
			require.NoError(t, err, "the kernel accepts into the backlog")
			defer c.Close()
			r := <-got
			if tt.let {
				require.NoError(t, r.err)
				r.c.Close()
				return
			}
			require.ErrorIs(t, r.err, ErrPeerFiltered)
			assert.ErrorIs(t, r.err, socket.ErrPeerFiltered)
			assert.Contains(t, r.err.Error(), fmt.Sprintf("pid %d", pid))
			// Closed before a byte was read: the client sees EOF.
			_, err = c.Read(make([]byte, 1))
			assert.ErrorIs(t, err, io.EOF)
		})
	}
}

// TestIPCFilterGroupMember checks the other half of a group filter: a peer
// whose user belongs to the group, though its process runs with another
// group id, is let in, as libzmq looks the user up in the group database.
func TestIPCFilterGroupMember(t *testing.T) {
	f := IPCFilter{GIDs: []int{0}}
	// The user of uid 0 is a member of group 0 on every Unix system.
	assert.True(t, f.allows(cred{uid: 0, gid: 1<<30 + 7, pid: 1}))
	assert.False(t, f.allows(cred{uid: 1<<30 + 7, gid: 1<<30 + 7, pid: 1}), "an unknown user")
	assert.False(t, IPCFilter{UIDs: []int{5}}.allows(cred{uid: 0, gid: 0}), "no group lookup without group filters")
}

func TestIPCDialErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		path string
		want error
	}{
		{filepath.Join(dir, "missing"), syscall.ENOENT},
		{"@zrouter-test-nobody-" + fmt.Sprint(rand.Uint64()), syscall.ECONNREFUSED},
	} {
		e, err := Parse("ipc://"+tc.path, false)
		require.NoError(t, err)
		_, err = Dial(context.Background(), e, Options{})
		assert.True(t, errors.Is(err, tc.want), "%s: %v", tc.path, err)
	}
}
