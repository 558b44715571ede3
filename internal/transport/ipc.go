package transport

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/zrouter/zrouter/socket"
)

// ErrPeerFiltered is what an ipc listener's Accept wraps when it closed a
// connection whose peer's credentials match none of the IPC filters. The
// connection is gone before any byte of the handshake; the accept loop
// goes on at once.
var ErrPeerFiltered = socket.ErrPeerFiltered

// IPCFilter lets in only the ipc peers whose process credentials, as the
// kernel reports them (SO_PEERCRED), match, as libzmq's ZMQ_IPC_FILTER_UID,
// _GID and _PID options do: a peer is let in when its user id is one of
// UIDs, its group id one of GIDs, its process id one of PIDs, or its user
// a member of one of GIDs. With all three empty every peer is let in.
type IPCFilter struct {
	UIDs, GIDs, PIDs []int
}

// empty reports whether f lets every peer in.
func (f IPCFilter) empty() bool { return len(f.UIDs)+len(f.GIDs)+len(f.PIDs) == 0 }

// allows reports whether f lets in the peer with credentials cr.
func (f IPCFilter) allows(cr cred) bool {
	if slices.Contains(f.UIDs, cr.uid) || slices.Contains(f.GIDs, cr.gid) || slices.Contains(f.PIDs, cr.pid) {
		return true
	}
	if len(f.GIDs) == 0 {
		return false
	}
	// The user's other groups, as libzmq looks them up in the group
	// database.
	u, err := user.LookupId(strconv.Itoa(cr.uid))
	if err != nil {
		return false
	}
	gids, err := u.GroupIds()
	if err != nil {
		return false
	}
	for _, g := range gids {
		if n, err := strconv.Atoi(g); err == nil && slices.Contains(f.GIDs, n) {
			return true
		}
	}
	return false
}

// cred is a peer process's credentials.
type cred struct{ uid, gid, pid int }

// peerAddr is the address of an ipc peer, written as libzmq writes its
// Peer-Address: "localhost:UID:GID:PID" with the peer process's
// credentials, or "localhost" where the system does not give them.
type peerAddr string

func (peerAddr) Network() string  { return "ipc" }
func (a peerAddr) String() string { return string(a) }

// newPeerAddr returns the address of the peer of c.
func newPeerAddr(cr cred, ok bool) peerAddr {
	if !ok {
		return "localhost"
	}
	return peerAddr(fmt.Sprintf("localhost:%d:%d:%d", cr.uid, cr.gid, cr.pid))
}

// ipcConn is an ipc connection: a *net.UnixConn, embedded so that writev
// and the raw socket stay reachable, with the peer's address as libzmq
// reports it.
type ipcConn struct {
	*net.UnixConn
	remote peerAddr
}

// RemoteAddr returns the peer's address: its credentials.
func (c *ipcConn) RemoteAddr() net.Addr { return c.remote }

// parseIPC parses the address of an ipc endpoint:
//
//   - ipc://PATH, a path to a socket file, absolute or relative to the
//     working directory;
//   - ipc://@NAME, a name in Linux's abstract namespace;
//   - for a bind, ipc://* (a fresh socket file in a new temporary
//     directory).
//
// The path must fit a Unix socket address, as libzmq checks it.
func parseIPC(rest string, bind bool) (Endpoint, error) {
	e := Endpoint{Scheme: "ipc", Host: rest, Port: -1}
	switch {
	case rest == "":
		return e, errors.New("no path")
	case rest == "*" && !bind:
		return e, errors.New(`"*" names no peer`)
	case rest == "*":
		return e, nil
	case rest == "@":
		return e, errors.New("an abstract name must not be empty")
	case rest[0] == '@' && !abstractNamespace:
		return e, errors.New("the abstract namespace (@NAME) is Linux's only")
	case slices.Contains([]byte(rest), 0):
		return e, errors.New("the path has a NUL byte")
	case len(rest) >= sunPathLen:
		return e, fmt.Errorf("the path has %d bytes; a Unix socket address holds at most %d (%w)",
			len(rest), sunPathLen-1, syscall.ENAMETOOLONG)
	}
	return e, nil
}

// ipcTransport is ipc://.
type ipcTransport struct{}

func (ipcTransport) Parse(addr string, bind bool) (Endpoint, error) { return parseIPC(addr, bind) }

func (ipcTransport) Resolve(_ context.Context, e Endpoint, _ Options) (Endpoint, error) {
	return e, nil
}

func (ipcTransport) Bound(ln net.Listener) Endpoint {
	if l, ok := ln.(*ipcListener); ok {
		return l.ep
	}
	return Endpoint{Scheme: "ipc", Host: ln.Addr().String(), Port: -1}
}

func (ipcTransport) Dial(ctx context.Context, e Endpoint, _ Options) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", e.Host)
	if err != nil {
		return nil, err
	}
	uc := c.(*net.UnixConn)
	cr, ok := peerCred(uc)
	return &ipcConn{UnixConn: uc, remote: newPeerAddr(cr, ok)}, nil
}

// Listen binds e. A socket file left at the path by a process that is gone
// is removed first; one that a live listener holds is not, and the bind
// fails with EADDRINUSE. For ipc://* the socket is "socket" in a new
// directory under $TMPDIR, $TEMPDIR, $TMP or the system's temporary
// directory. o.IPCPerm, when set, is applied to the socket file.
func (ipcTransport) Listen(ctx context.Context, e Endpoint, o Options) (net.Listener, error) {
	if !o.IPCFilter.empty() && !peerCredSupported {
		return nil, errors.New("the IPC credential filters need SO_PEERCRED, which this system lacks")
	}
	path, tmpdir := e.Host, ""
	if path == "*" {
		var err error
		if tmpdir, err = os.MkdirTemp(ipcTempDir(), "tmp"); err != nil {
			return nil, err
		}
		path = filepath.Join(tmpdir, "socket")
		if len(path) >= sunPathLen {
			_ = os.Remove(tmpdir)
			return nil, fmt.Errorf("the temporary socket path %s is longer than a Unix socket address holds: %w",
				path, syscall.ENAMETOOLONG)
		}
	}
	abstract := path[0] == '@'
	if !abstract {
		if err := removeStale(ctx, path); err != nil {
			return nil, err
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", path)
	if err != nil {
		if tmpdir != "" {
			_ = os.Remove(tmpdir)
		}
		return nil, err
	}
	ul := ln.(*net.UnixListener)
	// The listener removes its file itself, and only while the file is
	// still the one it made.
	ul.SetUnlinkOnClose(false)
	l := &ipcListener{UnixListener: ul, ep: Endpoint{Scheme: "ipc", Host: path, Port: -1}, filter: o.IPCFilter, tmpdir: tmpdir}
	if !abstract {
		if l.abs, err = filepath.Abs(path); err == nil {
			l.made, err = os.Lstat(l.abs)
		}
		if err == nil && o.IPCPerm != 0 {
			err = os.Chmod(l.abs, o.IPCPerm)
		}
		if err != nil {
			_ = l.Close()
			return nil, err
		}
	}
	return l, nil
}

// ipcTempDir returns the directory in which ipc://* makes its own: the
// first of $TMPDIR, $TEMPDIR and $TMP that is a directory, as libzmq looks
// for it, or else the system's temporary directory (where libzmq would use
// the working directory).
func ipcTempDir() string {
	for _, v := range []string{"TMPDIR", "TEMPDIR", "TMP"} {
		if d := os.Getenv(v); d != "" {
			if fi, err := os.Stat(d); err == nil && fi.IsDir() {
				return d
			}
		}
	}
	return os.TempDir()
}

// staleProbe bounds the connect that tells a stale socket file from a live
// one. A live listener accepts into its backlog at once, or refuses with
// EAGAIN when the backlog is full; only a dead one refuses.
const staleProbe = time.Second

// removeStale removes the socket file at path when no process listens on
// it. It leaves a path that does not exist, and refuses one that a live
// listener holds or that is not a socket.
func removeStale(ctx context.Context, path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket: %w", path, syscall.EADDRINUSE)
	}
	ctx, cancel := context.WithTimeout(ctx, staleProbe)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	switch {
	case err == nil:
		_ = c.Close()
		return fmt.Errorf("a live listener holds %s: %w", path, syscall.EADDRINUSE)
	case errors.Is(err, syscall.ECONNREFUSED):
		// Nobody listens: a file left by a process that died.
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	case errors.Is(err, syscall.EAGAIN):
		return fmt.Errorf("a live listener (its backlog full) holds %s: %w", path, syscall.EADDRINUSE)
	}
	return fmt.Errorf("cannot tell whether %s is in use: %w", path, err)
}

// ipcListener is a bound ipc endpoint.
type ipcListener struct {
	*net.UnixListener
	ep     Endpoint    // as bound: ipc://* gives the path made for it
	abs    string      // the socket file's absolute path; "" when abstract
	made   os.FileInfo // the file this listener made, to remove only that one
	tmpdir string      // the directory ipc://* made, removed on Close
	filter IPCFilter

	closeOnce sync.Once
	closeErr  error
}

// Accept waits for the next connection. A peer the filter refuses is
// closed at once, and Accept returns an error wrapping ErrPeerFiltered.
func (l *ipcListener) Accept() (net.Conn, error) {
	uc, err := l.AcceptUnix()
	if err != nil {
		return nil, err
	}
	cr, ok := peerCred(uc)
	if !l.filter.empty() && (!ok || !l.filter.allows(cr)) {
		_ = uc.Close()
		if !ok {
			return nil, fmt.Errorf("%w: its credentials are unknown", ErrPeerFiltered)
		}
		return nil, fmt.Errorf("%w: uid %d, gid %d, pid %d", ErrPeerFiltered, cr.uid, cr.gid, cr.pid)
	}
	return &ipcConn{UnixConn: uc, remote: newPeerAddr(cr, ok)}, nil
}

// Close stops listening, and removes the socket file when it is still the
// one this listener made (another process may have bound the path since),
// and the directory of ipc://*.
func (l *ipcListener) Close() error {
	l.closeOnce.Do(func() {
		l.closeErr = l.UnixListener.Close()
		if l.made != nil {
			if fi, err := os.Lstat(l.abs); err == nil && os.SameFile(fi, l.made) {
				_ = os.Remove(l.abs)
			}
		}
		if l.tmpdir != "" {
			_ = os.Remove(l.tmpdir)
		}
	})
	return l.closeErr
}
