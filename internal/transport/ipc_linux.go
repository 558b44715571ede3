//go:build linux

package transport

import (
	"net"
	"syscall"
)

// sunPathLen is the size of sun_path in a Unix socket address; a path must
// be shorter, for its NUL.
const sunPathLen = 108

// abstractNamespace reports whether ipc://@NAME names a socket in the
// abstract namespace.
const abstractNamespace = true

// peerCredSupported reports whether peerCred can tell a peer's
// credentials.
const peerCredSupported = true

// peerCred returns the credentials of the process at the other end of c,
// as the kernel recorded them when the connection was made (SO_PEERCRED).
func peerCred(c *net.UnixConn) (cred, bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return cred{}, false
	}
	var (
		uc   *syscall.Ucred
		uerr error
	)
	if err := rc.Control(func(fd uintptr) {
		uc, uerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || uerr != nil {
		return cred{}, false
	}
	return cred{uid: int(uc.Uid), gid: int(uc.Gid), pid: int(uc.Pid)}, true
}
