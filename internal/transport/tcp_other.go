//go:build !unix

package transport

import "syscall"

// reuseAddr leaves the socket as it is: SO_REUSEADDR means something else
// outside Unix.
func reuseAddr(_, _ string, _ syscall.RawConn) error { return nil }
