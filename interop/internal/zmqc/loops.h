// Hot loops over the libzmq C API, so that neither the servers nor the
// clients of the benchmark pay for a Go binding's per-frame copies.

#ifndef ZB_LOOPS_H
#define ZB_LOOPS_H

#include <stdint.h>

// The header every benchmark message starts with: the sequence number
// (little endian, 8 bytes), then the client id (little endian, 4 bytes).
#define ZB_HEADER 12

// Error classes of zb_drive; the details are in zb_drive_args.err.
enum {
	ZB_OK = 0,
	ZB_ERR_ZMQ = 1,     // a libzmq call failed; errnum says why
	ZB_ERR_TIMEOUT = 2, // no reply arrived within timeout_ns
	ZB_ERR_CHECK = 3    // a reply was wrong: size, frames, order or payload
};

// Messages of at least this many bytes are sent without a copy, from
// buffers that each client keeps, one per message in flight. (libzmq copies
// smaller messages into its 8 KiB write batch anyway.)
#define ZB_ZEROCOPY_MIN 8192

// The send buffers of one client; see zb_client_release.
typedef struct zb_ring zb_ring;

// One client socket driven by zb_drive. Sequence numbers carry on from one
// call to the next.
typedef struct {
	void *sock;
	uint32_t id;
	uint64_t sent;
	uint64_t recvd;
	int64_t sent_at; // monotonic ns of the last send (window 1 only)
	zb_ring *ring;   // zero-copy send buffers, or NULL
} zb_client;

typedef struct {
	// In.
	int size;           // bytes per message, at least ZB_HEADER
	int window;         // messages each client keeps in flight
	int sample;         // check the whole payload of every sample-th reply
	int64_t duration_ns; // send for this long, then drain
	int64_t timeout_ns;  // longest wait without any reply
	const unsigned char *tmpl; // size bytes: the payload after the header
	int64_t *rtt;       // if not NULL (window 1): round-trip times out
	int64_t rtt_cap;

	// Out.
	int64_t rtt_n;
	uint64_t msgs;      // replies received and checked
	uint64_t zerocopy;  // requests sent from the client's buffers, uncopied
	int64_t elapsed_ns; // from the first send to the last reply
	int errnum;         // errno of a failed libzmq call
	char err[256];
} zb_drive_args;

// zb_keep_freed makes the C allocator keep up to bytes of freed memory at
// the top of its heaps instead of handing it back to the kernel (glibc's
// M_TRIM_THRESHOLD). It returns 1 when the allocator took the setting, 0
// when it did not or is not glibc's.
int zb_keep_freed(long bytes);

// zb_echo receives messages on sock and sends each one back, frame by frame,
// until the socket's context is shut down (then it returns 0) or a call
// fails (then it returns the errno).
int zb_echo(void *sock);

// zb_zap_allow answers the ZAP requests (RFC 27) that arrive on sock, a REP
// socket bound to inproc://zeromq.zap.01 in the server's context, until the
// context is shut down (then it returns 0) or a call fails (then it returns
// the errno). It lets in the CURVE clients whose public key is one of the n
// keys in keys_z85 (n keys of 40 Z85 characters each, one after the other),
// naming each by its key in Z85 (the User-Id), and refuses every other peer
// with status 400. It returns EINVAL at once when a key is not Z85.
int zb_zap_allow(void *sock, const char *keys_z85, int n);

// zb_proxy runs zmq_proxy(front, back) until the context is shut down; it
// returns 0 then, or the errno of a failure.
int zb_proxy(void *front, void *back);

// zb_client_release lets go of the send buffers of client c. Buffers that
// libzmq still holds are freed when it lets go of them too.
void zb_client_release(zb_client *c);

// zb_drive runs n clients from the calling thread: each keeps up to window
// messages in flight, and every reply is checked against what was sent. It
// returns a ZB_ code.
int zb_drive(zb_client *cl, int n, zb_drive_args *a);

#endif
