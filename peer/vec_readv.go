//go:build darwin || linux || openbsd

package peer

import (
	"io"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// vecReader is a connection as its reader reads it: Read as the connection
// reads, and ReadVec (zmtp.VectorReader) with one readv, so that the end
// of a large frame's body and the next header come in one system call.
type vecReader struct {
	conn net.Conn
	rc   syscall.RawConn
	fn   func(fd uintptr) bool // r.try, bound once
	iov  [2][]byte
	n    int
	err  error
}

// newVecReader returns a vecReader over conn, or nil when conn is not a
// socket that allows it.
func newVecReader(conn net.Conn) io.Reader {
	rc := rawConn(conn)
	if rc == nil {
		return nil
	}
	r := &vecReader{conn: conn, rc: rc}
	r.fn = r.try
	return r
}

func (r *vecReader) Read(p []byte) (int, error) { return r.conn.Read(p) }

// ReadVec reads into a, then b, waiting for bytes when the socket has none.
func (r *vecReader) ReadVec(a, b []byte) (int, error) {
	r.iov, r.n, r.err = [2][]byte{a, b}, 0, nil
	err := r.rc.Read(r.fn)
	r.iov = [2][]byte{}
	switch {
	case err != nil:
		return 0, err
	case r.err != nil:
		return 0, r.err
	case r.n == 0:
		return 0, io.EOF
	}
	return r.n, nil
}

// try is the RawConn callback: one readv, or a wait for bytes.
func (r *vecReader) try(fd uintptr) bool {
	for {
		n, err := unix.Readv(int(fd), r.iov[:])
		switch err {
		case nil:
			r.n = n
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			r.err = os.NewSyscallError("readv", err)
		}
		return true
	}
}
