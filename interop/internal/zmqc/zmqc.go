package zmqc

/*
#cgo pkg-config: libzmq
#include <errno.h>
#include <stdlib.h>
#include <zmq.h>
#include "loops.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"syscall"
	"time"
	"unsafe"
)

// Errno is an error number reported by libzmq.
type Errno int

// Error returns libzmq's description of the error.
func (e Errno) Error() string { return C.GoString(C.zmq_strerror(C.int(e))) }

// ETERM is the error of a call on a context that has been shut down.
var ETERM = Errno(C.ETERM)

var (
	// ErrTimeout reports that no reply arrived for the driver's timeout.
	ErrTimeout = errors.New("zmqc: timed out waiting for replies")
	// ErrBadReply reports a reply that differs from what was sent: wrong
	// size or frame count, out of order, meant for another client, or a
	// corrupted payload.
	ErrBadReply = errors.New("zmqc: bad reply")
)

// errnoOf turns the errno that cgo returns alongside a call's result into
// an Errno. (errno must be read that way: a later cgo call may run on another
// thread.)
func errnoOf(err error) error {
	if e, ok := err.(syscall.Errno); ok {
		return Errno(e)
	}
	if err == nil {
		return Errno(C.EINVAL)
	}
	return err
}

// retry repeats a libzmq call that a signal interrupted (EINTR): calls that
// talk to libzmq's I/O thread wait on a mailbox, and the Go runtime's
// signals may cut that wait short.
func retry(call func() (C.int, error)) (C.int, error) {
	for {
		rc, err := call()
		if rc >= 0 || err != syscall.EINTR {
			return rc, err
		}
	}
}

// Version returns the version of the linked libzmq.
func Version() (major, minor, patch int) {
	var a, b, c C.int
	C.zmq_version(&a, &b, &c)
	return int(a), int(b), int(c)
}

// KeepFreedMemory makes the C allocator of this process keep up to bytes of
// freed memory instead of returning it to the kernel (glibc's
// M_TRIM_THRESHOLD, for every thread's heap).
//
// libzmq allocates memory for every frame above 33 bytes that it sends or
// receives, and frees it once the frame is written or consumed, often on
// another thread. With glibc's default threshold of
// 128 KiB, a process moving 64 KiB frames gives memory back after most
// frees and faults it in again, page by page, on the next allocation:
// about a tenth of a benchmark client's CPU time at 64 KiB. It fails when
// the allocator is not glibc's or refuses the value.
func KeepFreedMemory(bytes int) error {
	if C.zb_keep_freed(C.long(bytes)) != 1 {
		return fmt.Errorf("zmqc: the C allocator does not take a trim threshold of %d bytes", bytes)
	}
	return nil
}

// Context is a libzmq context.
type Context struct{ p unsafe.Pointer }

// NewContext returns a new context with libzmq's defaults.
func NewContext() (*Context, error) {
	p, err := C.zmq_ctx_new()
	if p == nil {
		return nil, errnoOf(err)
	}
	return &Context{p: p}, nil
}

// SetMaxSockets raises the number of sockets the context may hold
// (ZMQ_MAX_SOCKETS); call it before making sockets.
func (c *Context) SetMaxSockets(n int) error {
	if rc, err := C.zmq_ctx_set(c.p, C.ZMQ_MAX_SOCKETS, C.int(n)); rc != 0 {
		return errnoOf(err)
	}
	return nil
}

// Shutdown makes every blocking call on the context's sockets return ETERM,
// so that loops such as Echo and Proxy end. It may be called from any
// goroutine, while those loops run.
func (c *Context) Shutdown() error {
	if rc, err := retry(func() (C.int, error) {
		rc, err := C.zmq_ctx_shutdown(c.p)
		return rc, err
	}); rc != 0 {
		return errnoOf(err)
	}
	return nil
}

// Term closes the context. It waits until every socket is closed.
func (c *Context) Term() error {
	for {
		rc, err := C.zmq_ctx_term(c.p)
		if rc == 0 {
			return nil
		}
		if err != syscall.EINTR {
			return errnoOf(err)
		}
	}
}

// Type is a socket type.
type Type int

// Socket types.
const (
	REQ    Type = C.ZMQ_REQ
	REP    Type = C.ZMQ_REP
	DEALER Type = C.ZMQ_DEALER
	ROUTER Type = C.ZMQ_ROUTER
)

// Option is an integer socket option.
type Option int

// Socket options.
const (
	Linger   Option = C.ZMQ_LINGER
	SndHWM   Option = C.ZMQ_SNDHWM
	RcvHWM   Option = C.ZMQ_RCVHWM
	SndTimeo Option = C.ZMQ_SNDTIMEO
	RcvTimeo Option = C.ZMQ_RCVTIMEO
	// IPCFilterUID, IPCFilterGID and IPCFilterPID each add one id to the
	// credentials an ipc listener lets in (deprecated in libzmq 4.3, still
	// there).
	IPCFilterUID Option = C.ZMQ_IPC_FILTER_UID
	IPCFilterGID Option = C.ZMQ_IPC_FILTER_GID
	IPCFilterPID Option = C.ZMQ_IPC_FILTER_PID
)

// Socket is a libzmq socket. It must be used by one goroutine at a time.
type Socket struct{ p unsafe.Pointer }

// Socket returns a new socket of type t.
func (c *Context) Socket(t Type) (*Socket, error) {
	p, err := C.zmq_socket(c.p, C.int(t))
	if p == nil {
		return nil, errnoOf(err)
	}
	return &Socket{p: p}, nil
}

// SetInt sets an integer option.
func (s *Socket) SetInt(o Option, v int) error {
	cv := C.int(v)
	if rc, err := retry(func() (C.int, error) {
		rc, err := C.zmq_setsockopt(s.p, C.int(o), unsafe.Pointer(&cv), C.size_t(unsafe.Sizeof(cv)))
		return rc, err
	}); rc != 0 {
		return errnoOf(err)
	}
	return nil
}

// SetTimeouts sets linger 0 and the send and receive timeouts to d, as every
// socket of the benchmark needs.
func (s *Socket) SetTimeouts(d time.Duration) error {
	ms := int(d / time.Millisecond)
	for _, o := range []struct {
		opt Option
		v   int
	}{{Linger, 0}, {SndTimeo, ms}, {RcvTimeo, ms}} {
		if err := s.SetInt(o.opt, o.v); err != nil {
			return err
		}
	}
	return nil
}

// Bind binds endpoint and returns the endpoint actually bound, whose port is
// chosen when the endpoint's is "*".
func (s *Socket) Bind(endpoint string) (string, error) {
	cs := C.CString(endpoint)
	defer C.free(unsafe.Pointer(cs))
	if rc, err := retry(func() (C.int, error) {
		rc, err := C.zmq_bind(s.p, cs)
		return rc, err
	}); rc != 0 {
		return "", fmt.Errorf("zmqc: bind %s: %w", endpoint, errnoOf(err))
	}
	var buf [256]byte
	n := C.size_t(len(buf))
	if rc, err := C.zmq_getsockopt(s.p, C.ZMQ_LAST_ENDPOINT, unsafe.Pointer(&buf[0]), &n); rc != 0 {
		return "", errnoOf(err)
	}
	return C.GoString((*C.char)(unsafe.Pointer(&buf[0]))), nil
}

// Connect connects to endpoint in the background.
func (s *Socket) Connect(endpoint string) error {
	cs := C.CString(endpoint)
	defer C.free(unsafe.Pointer(cs))
	if rc, err := retry(func() (C.int, error) {
		rc, err := C.zmq_connect(s.p, cs)
		return rc, err
	}); rc != 0 {
		return fmt.Errorf("zmqc: connect %s: %w", endpoint, errnoOf(err))
	}
	return nil
}

// Close closes the socket.
func (s *Socket) Close() error {
	if rc, err := C.zmq_close(s.p); rc != 0 {
		return errnoOf(err)
	}
	return nil
}

// Send sends a copy of frames as one message.
func (s *Socket) Send(frames ...[]byte) error {
	for i, f := range frames {
		var flags C.int
		if i < len(frames)-1 {
			flags = C.ZMQ_SNDMORE
		}
		var p unsafe.Pointer
		if len(f) > 0 {
			p = C.CBytes(f)
		}
		rc, err := C.zmq_send(s.p, p, C.size_t(len(f)), flags)
		for rc < 0 && err == syscall.EINTR {
			rc, err = C.zmq_send(s.p, p, C.size_t(len(f)), flags)
		}
		C.free(p)
		if rc < 0 {
			return errnoOf(err)
		}
	}
	return nil
}

// Recv receives one whole message.
func (s *Socket) Recv() ([][]byte, error) {
	var msg C.zmq_msg_t
	C.zmq_msg_init(&msg)
	defer C.zmq_msg_close(&msg)
	var frames [][]byte
	for {
		if rc, err := C.zmq_msg_recv(&msg, s.p, 0); rc < 0 {
			if err == syscall.EINTR {
				continue
			}
			return nil, errnoOf(err)
		}
		frames = append(frames, C.GoBytes(C.zmq_msg_data(&msg), C.int(C.zmq_msg_size(&msg))))
		if C.zmq_msg_more(&msg) == 0 {
			return frames, nil
		}
	}
}

// Echo sends every message received on s back, frame by frame, in C. It
// returns nil when the socket's context is shut down. On a ROUTER the
// routing id frame leads the message both ways, so each message goes back
// to its sender; on a REP socket each request is answered with itself.
func Echo(s *Socket) error {
	if e := C.zb_echo(s.p); e != 0 {
		return Errno(e)
	}
	return nil
}

// Proxy runs zmq_proxy(front, back) until the context is shut down, then
// returns nil.
func Proxy(front, back *Socket) error {
	if e := C.zb_proxy(front.p, back.p); e != 0 {
		return Errno(e)
	}
	return nil
}
