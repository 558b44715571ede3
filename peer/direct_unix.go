//go:build unix

package peer

import (
	"net"
	"syscall"

	"github.com/valyala/bytebufferpool"
)

// directWriter makes the single non-blocking write of Peer.WriteNow. It is
// used only by the goroutine that holds the queue's write side.
type directWriter struct {
	rc     syscall.RawConn
	fn     func(fd uintptr) bool // d.try, bound once
	buf    []byte
	n      int
	big    *bytebufferpool.ByteBuffer
	inline [directInline]byte
}

// newDirect returns a direct writer for conn, or nil when conn is not a
// socket that allows it.
func newDirect(conn net.Conn) *directWriter {
	rc := rawConn(conn)
	if rc == nil {
		return nil
	}
	d := &directWriter{rc: rc}
	d.fn = d.try
	return d
}

// rawConn returns conn's raw connection, or nil when it has none.
func rawConn(conn net.Conn) syscall.RawConn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// write writes as much of b as the socket takes without waiting and
// returns how much that was.
func (d *directWriter) write(b []byte) int {
	d.buf, d.n = b, 0
	if err := d.rc.Write(d.fn); err != nil {
		d.n = 0 // closed: the writer reports the error
	}
	d.buf = nil
	return d.n
}

// try is the RawConn callback: it never asks to wait for writability.
func (d *directWriter) try(fd uintptr) bool {
	for d.n < len(d.buf) {
		n, e := sysWrite(fd, d.buf[d.n:])
		if e == syscall.EINTR {
			continue
		}
		if e != 0 || n <= 0 {
			break
		}
		d.n += n
	}
	return true
}
