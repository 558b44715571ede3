package zmqc

/*
#cgo pkg-config: libzmq
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <zmq.h>
#include "pipeline.h"
*/
import "C"

import (
	"sync/atomic"
	"unsafe"
)

// Pipeline socket types.
const (
	PUSH Type = C.ZMQ_PUSH
	PULL Type = C.ZMQ_PULL
)

// Push sends n messages of size bytes on s, from C, as libzmq's remote_thr
// does: each a fresh zmq_msg_t of that size.
func Push(s *Socket, size int, n uint64) error {
	if e := C.zb_push(s.p, C.int(size), C.uint64_t(n)); e != 0 {
		return Errno(e)
	}
	return nil
}

// Counter is a message count that several Pull loops share. It lives in C
// memory, where the loops update it atomically; Free releases it.
type Counter struct{ p *C.uint64_t }

// NewCounter returns a counter at zero.
func NewCounter() *Counter {
	p := (*C.uint64_t)(C.calloc(1, C.size_t(unsafe.Sizeof(C.uint64_t(0)))))
	return &Counter{p: p}
}

// Load returns the count.
func (c *Counter) Load() uint64 { return atomic.LoadUint64((*uint64)(unsafe.Pointer(c.p))) }

// Free releases the counter; no loop may use it any more.
func (c *Counter) Free() { C.free(unsafe.Pointer(c.p)) }

// Pull receives messages of size bytes on s, from C, counting them in c,
// until c reaches total (counting what every loop sharing c received), as
// libzmq's local_thr does. s must have a short receive timeout (RcvTimeo),
// so that the loop notices when the others reach the total. A message that
// is not one frame of size bytes fails it with ErrBadReply.
func Pull(s *Socket, size int, c *Counter, total uint64) error {
	switch e := C.zb_pull(s.p, C.int(size), c.p, C.uint64_t(total)); {
	case e == C.EPROTO:
		return ErrBadReply
	case e != 0:
		return Errno(e)
	}
	return nil
}
