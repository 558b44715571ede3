package zmqc

/*
#cgo LDFLAGS: -lpthread
#include <stdlib.h>
#include "inproc.h"
*/
import "C"

import (
	"fmt"
	"time"
	"unsafe"
)

// InprocResult is what one run of libzmq's inproc loops measured.
type InprocResult struct {
	// Elapsed is the time from the first send to the last receive.
	Elapsed time.Duration
	// RTTs are the round-trip times of a latency run.
	RTTs []time.Duration
}

func inprocError(rc C.int, a *C.zb_inproc_args) error {
	return fmt.Errorf("zmqc: inproc: %s: %w", C.GoString(&a.err[0]), Errno(rc))
}

// InprocThroughput runs zb_inproc_thr: n messages of size bytes from a
// DEALER thread to a ROUTER over libzmq's inproc, in one context, with
// every socket's SNDHWM and RCVHWM at hwm.
func InprocThroughput(size int, n int64, hwm int) (InprocResult, error) {
	a := (*C.zb_inproc_args)(C.calloc(1, C.size_t(unsafe.Sizeof(C.zb_inproc_args{}))))
	defer C.free(unsafe.Pointer(a))
	a.size, a.n, a.hwm = C.int(size), C.int64_t(n), C.int(hwm)
	if rc := C.zb_inproc_thr(a); rc != 0 {
		return InprocResult{}, inprocError(rc, a)
	}
	return InprocResult{Elapsed: time.Duration(a.elapsed_ns)}, nil
}

// InprocLatency runs zb_inproc_lat: n round trips of a size-byte message
// from a DEALER to a ROUTER thread that echoes it, over libzmq's inproc.
func InprocLatency(size int, n int64, hwm int) (InprocResult, error) {
	a := (*C.zb_inproc_args)(C.calloc(1, C.size_t(unsafe.Sizeof(C.zb_inproc_args{}))))
	defer C.free(unsafe.Pointer(a))
	rtt := (*C.int64_t)(C.calloc(C.size_t(max(n, 1)), 8))
	defer C.free(unsafe.Pointer(rtt))
	a.size, a.n, a.hwm, a.rtt = C.int(size), C.int64_t(n), C.int(hwm), rtt
	if rc := C.zb_inproc_lat(a); rc != 0 {
		return InprocResult{}, inprocError(rc, a)
	}
	res := InprocResult{Elapsed: time.Duration(a.elapsed_ns), RTTs: make([]time.Duration, n)}
	for i, v := range unsafe.Slice(rtt, n) {
		res.RTTs[i] = time.Duration(v)
	}
	return res, nil
}
