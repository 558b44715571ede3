//go:build darwin || openbsd

package peer

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// sysReadv reads from fd into a, then b, once.
func sysReadv(fd uintptr, a, b []byte) (int, syscall.Errno) {
	n, err := unix.Readv(int(fd), [][]byte{a, b})
	return n, errno(err)
}
