//go:build !linux

package transport

import "net"

// sunPathLen is the size of sun_path in a Unix socket address on the BSDs
// and macOS (Windows has 108: the smaller bound serves both).
const sunPathLen = 104

// abstractNamespace reports whether ipc://@NAME names a socket in the
// abstract namespace: only Linux has one.
const abstractNamespace = false

// peerCredSupported reports whether peerCred can tell a peer's
// credentials.
const peerCredSupported = false

// peerCred returns the credentials of the process at the other end of c;
// this system does not say.
func peerCred(*net.UnixConn) (cred, bool) { return cred{}, false }
