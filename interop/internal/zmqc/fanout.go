package zmqc

/*
#cgo pkg-config: libzmq
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <zmq.h>
#include "fanout.h"
*/
import "C"

import (
	"sync/atomic"
	"unsafe"
)

// Pub/sub socket types.
const (
	PUB  Type = C.ZMQ_PUB
	SUB  Type = C.ZMQ_SUB
	XPUB Type = C.ZMQ_XPUB
	XSUB Type = C.ZMQ_XSUB
)

// XPUB and XSUB options that libzmq 4.3 takes but declares only under its
// DRAFT API (zmq_draft.h), by their numbers there.
const (
	XPubManualLastValue Option = 98  // ZMQ_XPUB_MANUAL_LAST_VALUE
	OnlyFirstSubscribe  Option = 108 // ZMQ_ONLY_FIRST_SUBSCRIBE
)

// Subscribe subscribes a SUB socket to the messages starting with topic
// (ZMQ_SUBSCRIBE); on a manual XPUB it subscribes the subscriber of the
// last subscription received.
func (s *Socket) Subscribe(topic []byte) error {
	var p unsafe.Pointer
	if len(topic) > 0 {
		cs := C.CBytes(topic)
		defer C.free(cs)
		p = cs
	}
	if rc, err := retry(func() (C.int, error) {
		rc, err := C.zmq_setsockopt(s.p, C.ZMQ_SUBSCRIBE, p, C.size_t(len(topic)))
		return rc, err
	}); rc != 0 {
		return errnoOf(err)
	}
	return nil
}

// Flag is a stop flag and a count in C memory, for one Pub or Sub loop:
// Stop ends the loop, Load reads its count. Free releases it once the loop
// has returned.
type Flag struct {
	stop  *C.int
	count *C.uint64_t
}

// NewFlag returns a flag that is not set, with a count of zero.
func NewFlag() *Flag {
	return &Flag{
		stop:  (*C.int)(C.calloc(1, C.size_t(unsafe.Sizeof(C.int(0))))),
		count: (*C.uint64_t)(C.calloc(1, 64)), // a cache line of its own
	}
}

// Stop tells the loop to return.
func (f *Flag) Stop() { atomic.StoreInt32((*int32)(unsafe.Pointer(f.stop)), 1) }

// Load returns the loop's count.
func (f *Flag) Load() uint64 { return atomic.LoadUint64((*uint64)(unsafe.Pointer(f.count))) }

// Free releases the flag; no loop may use it any more.
func (f *Flag) Free() {
	C.free(unsafe.Pointer(f.stop))
	C.free(unsafe.Pointer(f.count))
}

// Pub sends copies of msg on s, from C, each a fresh zmq_msg_t, until f is
// stopped, counting them in f.
func Pub(s *Socket, msg []byte, f *Flag) error {
	tmpl := C.CBytes(msg)
	defer C.free(tmpl)
	if e := C.zb_pub(s.p, tmpl, C.int(len(msg)), f.stop, f.count); e != 0 {
		return Errno(e)
	}
	return nil
}

// Sub receives messages of size bytes on s, from C, counting them in f,
// until f is stopped. s must have a short receive timeout (RcvTimeo). A
// message that is not one frame of size bytes fails it with ErrBadReply.
func Sub(s *Socket, size int, f *Flag) error {
	switch e := C.zb_sub(s.p, C.int(size), f.stop, f.count); {
	case e == C.EPROTO:
		return ErrBadReply
	case e != 0:
		return Errno(e)
	}
	return nil
}
