package zmqc

/*
#include <stdlib.h>
#include <string.h>
#include "loops.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"time"
	"unsafe"
)

// ZeroCopyMin is the smallest message the driver sends without a copy.
const ZeroCopyMin = C.ZB_ZEROCOPY_MIN

// HeaderLen is the size of the header that starts every message the driver
// sends: an 8-byte sequence number and a 4-byte client id, little endian.
const HeaderLen = C.ZB_HEADER

// Payload fills b with the message template of the benchmark: a zero header
// of HeaderLen bytes, then a fixed pattern. Clients written in Go use it to
// send exactly what the C driver sends.
func Payload(b []byte) {
	for i := range b {
		if i < HeaderLen {
			b[i] = 0
		} else {
			b[i] = byte(i*7 + 13)
		}
	}
}

// DriveConfig says how a Driver runs its clients.
type DriveConfig struct {
	// Size is the number of bytes of every message, at least HeaderLen.
	Size int
	// Window is how many messages each client keeps in flight.
	Window int
	// Sample is how often the whole payload of a reply is compared with
	// what was sent: every Sample-th reply (1: all). Headers are always
	// checked.
	Sample int
	// Duration is how long the clients send; then they wait for every
	// reply still in flight.
	Duration time.Duration
	// Timeout is the longest the driver waits without any reply.
	Timeout time.Duration
	// Latency records every round-trip time; it needs Window 1.
	Latency bool
}

// DriveResult is what one Run measured.
type DriveResult struct {
	// Msgs is the number of replies received and checked.
	Msgs uint64
	// ZeroCopy is the number of requests sent without a copy. Messages of
	// at least ZeroCopyMin bytes go out from buffers that each client
	// keeps, one per message in flight; one is copied only when libzmq has
	// not yet let go of its buffer.
	ZeroCopy uint64
	// Elapsed runs from the first send to the last reply.
	Elapsed time.Duration
	// RTTs are the round-trip times, when DriveConfig.Latency is set.
	RTTs []time.Duration
}

// Driver runs a set of client sockets from one thread, in C. Sequence
// numbers carry on from one Run to the next, so a warm-up run can precede
// the measured one.
//
// A Driver must be used by one goroutine at a time, and its sockets must
// not be used elsewhere while it exists.
type Driver struct {
	cl *C.zb_client
	n  int
}

// NewDriver returns a driver for socks, whose clients get the ids firstID,
// firstID+1, and so on. Free releases it.
func NewDriver(socks []*Socket, firstID uint32) *Driver {
	n := len(socks)
	cl := (*C.zb_client)(C.calloc(C.size_t(max(n, 1)), C.size_t(unsafe.Sizeof(C.zb_client{}))))
	s := unsafe.Slice(cl, max(n, 1))
	for i, sock := range socks {
		s[i].sock = sock.p
		s[i].id = C.uint32_t(firstID + uint32(i))
	}
	return &Driver{cl: cl, n: n}
}

// Free releases the driver's C memory; the sockets stay open. Send buffers
// that libzmq still holds are freed when it lets go of them. Free may be
// called more than once.
func (d *Driver) Free() {
	if d.cl == nil {
		return
	}
	cl := unsafe.Slice(d.cl, max(d.n, 1))
	for i := range cl {
		C.zb_client_release(&cl[i])
	}
	C.free(unsafe.Pointer(d.cl))
	d.cl = nil
}

// Run sends for cfg.Duration, then waits for every reply. It fails with an
// error wrapping ErrBadReply at the first wrong reply, and with one wrapping
// ErrTimeout when replies stop coming.
func (d *Driver) Run(cfg DriveConfig) (DriveResult, error) {
	if cfg.Size < HeaderLen {
		return DriveResult{}, fmt.Errorf("zmqc: message size %d is below the %d-byte header", cfg.Size, HeaderLen)
	}
	if cfg.Window < 1 {
		return DriveResult{}, errors.New("zmqc: window must be at least 1")
	}
	if cfg.Latency && cfg.Window != 1 {
		return DriveResult{}, errors.New("zmqc: latency needs window 1")
	}
	tmpl := make([]byte, cfg.Size)
	Payload(tmpl)
	ctmpl := C.CBytes(tmpl)
	defer C.free(ctmpl)
	a := (*C.zb_drive_args)(C.calloc(1, C.size_t(unsafe.Sizeof(C.zb_drive_args{}))))
	defer C.free(unsafe.Pointer(a))
	a.size = C.int(cfg.Size)
	a.window = C.int(cfg.Window)
	a.sample = C.int(cfg.Sample)
	a.duration_ns = C.int64_t(cfg.Duration)
	a.timeout_ns = C.int64_t(cfg.Timeout)
	a.tmpl = (*C.uchar)(ctmpl)
	if cfg.Latency {
		// A round trip over loopback takes microseconds: one slot per
		// microsecond of the run is plenty, and later ones are dropped.
		capacity := int64(cfg.Duration/time.Microsecond) + 1024
		a.rtt = (*C.int64_t)(C.malloc(C.size_t(capacity) * 8))
		defer C.free(unsafe.Pointer(a.rtt))
		a.rtt_cap = C.int64_t(capacity)
	}
	rc := C.zb_drive(d.cl, C.int(d.n), a)
	res := DriveResult{Msgs: uint64(a.msgs), ZeroCopy: uint64(a.zerocopy), Elapsed: time.Duration(a.elapsed_ns)}
	if rc != C.ZB_OK {
		msg := C.GoString(&a.err[0])
		switch rc {
		case C.ZB_ERR_TIMEOUT:
			return res, fmt.Errorf("%w: %s", ErrTimeout, msg)
		case C.ZB_ERR_CHECK:
			return res, fmt.Errorf("%w: %s", ErrBadReply, msg)
		default:
			return res, fmt.Errorf("zmqc: %s: %w", msg, Errno(a.errnum))
		}
	}
	if cfg.Latency {
		raw := unsafe.Slice(a.rtt, int(a.rtt_n))
		res.RTTs = make([]time.Duration, len(raw))
		for i, v := range raw {
			res.RTTs[i] = time.Duration(v)
		}
	}
	return res, nil
}
