// libzmq's inproc transport measured in one process: a ROUTER and a DEALER
// of one context, driven with zmq_msg loops from two threads.

#ifndef ZB_INPROC_H
#define ZB_INPROC_H

#include <stdint.h>

typedef struct {
	// In.
	int size;      // bytes per message body
	int64_t n;     // messages (throughput) or round trips (latency)
	int hwm;       // SNDHWM and RCVHWM of both sockets (0: unlimited)
	int64_t *rtt;  // latency: n round-trip times out, or NULL

	// Out.
	int64_t elapsed_ns; // from the first send to the last receive
	int errnum;         // errno of a failed libzmq call
	char err[128];
} zb_inproc_args;

// zb_inproc_thr: a DEALER thread sends n messages of size bytes, each
// filled from a template, to a ROUTER over inproc; the calling thread
// receives them (routing id and body) and checks their sizes. It returns 0
// or an errno.
int zb_inproc_thr(zb_inproc_args *a);

// zb_inproc_lat: a ROUTER thread echoes what it receives; the calling
// thread's DEALER sends a message of size bytes and waits for it back, n
// times. It returns 0 or an errno.
int zb_inproc_lat(zb_inproc_args *a);

#endif
