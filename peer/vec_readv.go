//go:build darwin || linux || openbsd

package peer

import (
	"io"
	"net"
	"os"
	"syscall"
)

// vecReader is a connection as its reader reads it: Read with one read,
// and ReadVec (zmtp.VectorReader) with one readv, so that the end of a
// large frame's body and the next header come in one system call; both
// wait for bytes, through the poller, when the socket has none.
type vecReader struct {
	conn net.Conn
	rc   syscall.RawConn
	fn   func(fd uintptr) bool // r.try, bound once
	a, b []byte
	vec  bool // readv into a and b; read into a otherwise
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

// Read reads into p, waiting for bytes when the socket has none.
func (r *vecReader) Read(p []byte) (int, error) { return r.read(p, nil, false) }

// ReadVec reads into a, then b, waiting for bytes when the socket has none.
func (r *vecReader) ReadVec(a, b []byte) (int, error) { return r.read(a, b, true) }

func (r *vecReader) read(a, b []byte, vec bool) (int, error) {
	if len(a)+len(b) == 0 {
		return 0, nil
	}
	r.a, r.b, r.vec, r.n, r.err = a, b, vec, 0, nil
	err := r.rc.Read(r.fn)
	r.a, r.b = nil, nil
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

// try is the RawConn callback: one read or readv, or a wait for bytes.
func (r *vecReader) try(fd uintptr) bool {
	for {
		var n int
		var e syscall.Errno
		if r.vec {
			n, e = sysReadv(fd, r.a, r.b)
		} else {
			n, e = sysRead(fd, r.a)
		}
		switch e {
		case 0:
			r.n = n
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		default:
			name := "read"
			if r.vec {
				name = "readv"
			}
			r.err = os.NewSyscallError(name, e)
		}
		return true
	}
}
