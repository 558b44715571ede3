//go:build linux

package peer

import (
	"syscall"
	"unsafe"
)

// The connection's own reads and writes are raw system calls here. Go's
// poller has made the socket non-blocking, so none of them waits, and a
// raw call skips the scheduler's syscall bookkeeping: entering a system
// call wakes sysmon when every P was idle, which in a request-reply
// exchange is before every message, a futex wake-up and a thread spinning
// up on the other CPU for each.

// sysRead reads from fd into p once.
func sysRead(fd uintptr, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(n), e
}

// sysReadv reads from fd into a, then b, once.
func sysReadv(fd uintptr, a, b []byte) (int, syscall.Errno) {
	var iov [2]syscall.Iovec
	k := 0
	for _, p := range [2][]byte{a, b} {
		if len(p) > 0 {
			iov[k].Base = &p[0]
			iov[k].SetLen(len(p))
			k++
		}
	}
	if k == 0 {
		return 0, 0
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_READV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(k))
	return int(n), e
}

// sysWrite writes p to fd once.
func sysWrite(fd uintptr, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(n), e
}
