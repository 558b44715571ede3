#include <errno.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "loops.h"

static int64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int zb_keep_freed(long bytes) {
#ifdef __GLIBC__
	if (bytes < 0 || bytes > INT_MAX)
		return 0;
	return mallopt(M_TRIM_THRESHOLD, (int)bytes);
#else
	(void)bytes;
	return 0;
#endif
}

int zb_echo(void *sock) {
	zmq_msg_t msg;
	zmq_msg_init(&msg);
	for (;;) {
		if (zmq_msg_recv(&msg, sock, 0) < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			zmq_msg_close(&msg);
			return e == ETERM ? 0 : e;
		}
		int flags = zmq_msg_more(&msg) ? ZMQ_SNDMORE : 0;
		// On success zmq_msg_send leaves msg empty, ready for the next
		// receive; the frame's buffer travels on without a copy.
		while (zmq_msg_send(&msg, sock, flags) < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			zmq_msg_close(&msg);
			return e == ETERM ? 0 : e;
		}
	}
}

// send_frame sends one frame, copied, retrying when a signal interrupts.
static int send_frame(void *sock, const void *data, size_t size, int flags) {
	while (zmq_send(sock, data, size, flags) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

static int frame_is(zmq_msg_t *m, const char *s) {
	size_t n = strlen(s);
	return zmq_msg_size(m) == n && memcmp(zmq_msg_data(m), s, n) == 0;
}

// The frames of a ZAP request that a REP handler sees: version, request
// id, domain, address, identity, mechanism, then the credentials (for
// CURVE, the client's 32-byte public key).
#define ZAP_FRAMES 7

int zb_zap_allow(void *sock, const char *keys_z85, int n) {
	unsigned char *keys = malloc((size_t)(n > 0 ? n : 1) * 32);
	if (keys == NULL)
		return ENOMEM;
	for (int i = 0; i < n; i++) {
		char z[41];
		memcpy(z, keys_z85 + 40 * i, 40);
		z[40] = 0;
		if (zmq_z85_decode(keys + 32 * i, z) == NULL) {
			free(keys);
			return EINVAL;
		}
	}
	zmq_msg_t f[ZAP_FRAMES + 1]; // the last takes any frames beyond
	for (int i = 0; i <= ZAP_FRAMES; i++)
		zmq_msg_init(&f[i]);
	int rc = 0;
	for (;;) {
		int nf = 0;
		for (;;) {
			zmq_msg_t *m = &f[nf < ZAP_FRAMES ? nf : ZAP_FRAMES];
			if (zmq_msg_recv(m, sock, 0) < 0) {
				if (errno == EINTR)
					continue;
				rc = errno == ETERM ? 0 : errno;
				goto out;
			}
			nf++;
			if (!zmq_msg_more(m))
				break;
		}
		int ok = nf == ZAP_FRAMES && frame_is(&f[0], "1.0") && frame_is(&f[5], "CURVE") &&
			zmq_msg_size(&f[6]) == 32;
		const unsigned char *key = ok ? zmq_msg_data(&f[6]) : NULL;
		ok = 0;
		for (int i = 0; key != NULL && i < n && !ok; i++)
			ok = memcmp(keys + 32 * i, key, 32) == 0;
		char user[41] = "";
		if (ok)
			zmq_z85_encode(user, key, 32);
		const char *status = ok ? "200" : "400";
		const char *text = ok ? "OK" : "key not allowed";
		// The reply: version, request id, status code and text, user id,
		// metadata (none); REP puts the envelope back in front.
		int bad = send_frame(sock, "1.0", 3, ZMQ_SNDMORE) < 0 ||
			send_frame(sock, nf > 1 ? zmq_msg_data(&f[1]) : "", nf > 1 ? zmq_msg_size(&f[1]) : 0, ZMQ_SNDMORE) < 0 ||
			send_frame(sock, status, 3, ZMQ_SNDMORE) < 0 ||
			send_frame(sock, text, strlen(text), ZMQ_SNDMORE) < 0 ||
			send_frame(sock, user, strlen(user), ZMQ_SNDMORE) < 0 ||
			send_frame(sock, "", 0, 0) < 0;
		if (bad) {
			rc = errno == ETERM ? 0 : errno;
			goto out;
		}
	}
out:
	for (int i = 0; i <= ZAP_FRAMES; i++)
		zmq_msg_close(&f[i]);
	free(keys);
	return rc;
}

int zb_proxy(void *front, void *back) {
	for (;;) {
		zmq_proxy(front, back, NULL); // returns only on failure
		if (errno == EINTR)
			continue;
		return errno == ETERM ? 0 : errno;
	}
}

static void put_header(unsigned char *b, uint64_t seq, uint32_t id) {
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(seq >> (8 * i));
	for (int i = 0; i < 4; i++)
		b[8 + i] = (unsigned char)(id >> (8 * i));
}

static uint64_t get_u64(const unsigned char *b) {
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static uint32_t get_u32(const unsigned char *b) {
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

typedef struct {
	zb_ring *ring;
	int busy; // 1 from the send until libzmq lets go of the buffer
} zb_slot;

// A ring of send buffers, one per message a client may have in flight: the
// request with sequence number s goes out from buffer s % n. It is shared
// with libzmq's I/O thread, which lets go of a buffer by calling
// ring_free_fn, so it is reference counted.
struct zb_ring {
	int refs; // the client's, and one per buffer libzmq holds
	int n;
	size_t size;
	zb_slot *slots;
	unsigned char *data;
};

static void ring_unref(zb_ring *r) {
	if (__atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		free(r->slots);
		free(r->data);
		free(r);
	}
}

// ring_free_fn is the zmq_free_fn of a zero-copy request, called by
// libzmq, usually on its I/O thread, once the request is written.
static void ring_free_fn(void *data, void *hint) {
	(void)data;
	zb_slot *s = hint;
	zb_ring *r = s->ring;
	__atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
	ring_unref(r);
}

static zb_ring *ring_new(int n, size_t size, const unsigned char *tmpl) {
	zb_ring *r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	r->slots = calloc((size_t)n, sizeof *r->slots);
	r->data = malloc((size_t)n * size);
	if (r->slots == NULL || r->data == NULL) {
		free(r->slots);
		free(r->data);
		free(r);
		return NULL;
	}
	r->refs = 1;
	r->n = n;
	r->size = size;
	for (int i = 0; i < n; i++) {
		r->slots[i].ring = r;
		memcpy(r->data + (size_t)i * size, tmpl, size);
	}
	return r;
}

void zb_client_release(zb_client *c) {
	if (c->ring != NULL)
		ring_unref(c->ring);
	c->ring = NULL;
}

// send_request sends client c's next request, from its ring when it has one
// and the buffer is free again, else copied from buf. It returns 1 for a
// zero-copy send, 0 for a copied one and -1 with errno set on failure.
static int send_request(zb_client *c, unsigned char *buf, size_t size) {
	zb_ring *r = c->ring;
	if (r != NULL) {
		zb_slot *s = &r->slots[c->sent % (uint64_t)r->n];
		if (!__atomic_load_n(&s->busy, __ATOMIC_ACQUIRE)) {
			unsigned char *b = r->data + (size_t)(s - r->slots) * size;
			put_header(b, c->sent, c->id);
			__atomic_store_n(&s->busy, 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
			zmq_msg_t m;
			if (zmq_msg_init_data(&m, b, size, ring_free_fn, s) != 0) {
				__atomic_store_n(&s->busy, 0, __ATOMIC_RELAXED);
				ring_unref(r);
				return -1;
			}
			if (zmq_msg_send(&m, c->sock, ZMQ_DONTWAIT) < 0) {
				int e = errno;
				zmq_msg_close(&m); // calls ring_free_fn
				errno = e;
				return -1;
			}
			return 1;
		}
		// libzmq has not let go of the buffer yet, although the
		// request's reply is in: copy this once.
	}
	put_header(buf, c->sent, c->id);
	return zmq_send(c->sock, buf, size, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

static int fail_zmq(zb_drive_args *a, const char *what, zb_client *c) {
	a->errnum = errno;
	snprintf(a->err, sizeof a->err, "client %u: %s: %s", c->id, what, zmq_strerror(errno));
	return ZB_ERR_ZMQ;
}

// check verifies one reply of client c; it returns ZB_OK or ZB_ERR_CHECK.
static int check(zb_drive_args *a, zb_client *c, zmq_msg_t *msg) {
	size_t n = zmq_msg_size(msg);
	const unsigned char *b = zmq_msg_data(msg);
	if (zmq_msg_more(msg)) {
		snprintf(a->err, sizeof a->err, "client %u: reply %llu has more than one frame",
			c->id, (unsigned long long)c->recvd);
		return ZB_ERR_CHECK;
	}
	if (n != (size_t)a->size) {
		snprintf(a->err, sizeof a->err, "client %u: reply %llu has %zu bytes, want %d",
			c->id, (unsigned long long)c->recvd, n, a->size);
		return ZB_ERR_CHECK;
	}
	uint64_t seq = get_u64(b);
	uint32_t id = get_u32(b + 8);
	if (id != c->id) {
		snprintf(a->err, sizeof a->err, "client %u: got a reply meant for client %u", c->id, id);
		return ZB_ERR_CHECK;
	}
	if (seq != c->recvd) {
		snprintf(a->err, sizeof a->err, "client %u: got reply %llu, want %llu (lost, duplicated or reordered)",
			c->id, (unsigned long long)seq, (unsigned long long)c->recvd);
		return ZB_ERR_CHECK;
	}
	if (a->sample > 0 && seq % (uint64_t)a->sample == 0 &&
		memcmp(b + ZB_HEADER, a->tmpl + ZB_HEADER, n - ZB_HEADER) != 0) {
		snprintf(a->err, sizeof a->err, "client %u: reply %llu: payload corrupted",
			c->id, (unsigned long long)seq);
		return ZB_ERR_CHECK;
	}
	return ZB_OK;
}

// prepare_ring gives client c the send buffers that a run of a needs, or
// none for small messages. It returns 0 when out of memory.
static int prepare_ring(zb_client *c, const zb_drive_args *a) {
	zb_ring *r = c->ring;
	if (r != NULL && (a->size < ZB_ZEROCOPY_MIN || r->size != (size_t)a->size || r->n != a->window))
		zb_client_release(c);
	if (a->size >= ZB_ZEROCOPY_MIN && c->ring == NULL)
		c->ring = ring_new(a->window, (size_t)a->size, a->tmpl);
	return a->size < ZB_ZEROCOPY_MIN || c->ring != NULL;
}

int zb_drive(zb_client *cl, int n, zb_drive_args *a) {
	unsigned char *buf = malloc((size_t)a->size);
	zmq_pollitem_t *items = calloc((size_t)n, sizeof *items);
	int ok = buf != NULL && items != NULL;
	for (int i = 0; ok && i < n; i++)
		ok = prepare_ring(&cl[i], a);
	if (!ok) {
		free(buf);
		free(items);
		a->errnum = ENOMEM;
		snprintf(a->err, sizeof a->err, "out of memory");
		return ZB_ERR_ZMQ;
	}
	memcpy(buf, a->tmpl, (size_t)a->size);
	zmq_msg_t msg;
	zmq_msg_init(&msg);
	a->msgs = 0;
	a->zerocopy = 0;
	a->rtt_n = 0;
	a->err[0] = 0;
	int rc = ZB_OK;
	int64_t start = now_ns();
	int64_t deadline = start + a->duration_ns;
	int64_t last_progress = start;
	int stopping = 0;
	for (;;) {
		int64_t t = now_ns();
		if (!stopping && t >= deadline)
			stopping = 1;
		for (int i = 0; i < n && !stopping; i++) {
			zb_client *c = &cl[i];
			while (c->sent - c->recvd < (uint64_t)a->window) {
				int how = send_request(c, buf, (size_t)a->size);
				if (how < 0) {
					if (errno == EINTR)
						continue;
					if (errno == EAGAIN)
						break;
					rc = fail_zmq(a, "send", c);
					goto out;
				}
				a->zerocopy += (uint64_t)how;
				if (a->rtt != NULL)
					c->sent_at = now_ns();
				c->sent++;
			}
		}
		uint64_t outstanding = 0;
		int progress = 0;
		for (int i = 0; i < n; i++) {
			zb_client *c = &cl[i];
			while (c->recvd < c->sent) {
				if (zmq_msg_recv(&msg, c->sock, ZMQ_DONTWAIT) < 0) {
					if (errno == EINTR)
						continue;
					if (errno == EAGAIN)
						break;
					rc = fail_zmq(a, "receive", c);
					goto out;
				}
				if ((rc = check(a, c, &msg)) != ZB_OK)
					goto out;
				if (a->rtt != NULL && a->rtt_n < a->rtt_cap)
					a->rtt[a->rtt_n++] = now_ns() - c->sent_at;
				c->recvd++;
				a->msgs++;
				progress = 1;
			}
			outstanding += c->sent - c->recvd;
		}
		if (stopping && outstanding == 0)
			break;
		t = now_ns();
		if (progress) {
			last_progress = t;
			continue;
		}
		if (t - last_progress > a->timeout_ns) {
			rc = ZB_ERR_TIMEOUT;
			snprintf(a->err, sizeof a->err, "no reply for %lld ms with %llu messages in flight",
				(long long)((t - last_progress) / 1000000), (unsigned long long)outstanding);
			goto out;
		}
		for (int i = 0; i < n; i++) {
			items[i].socket = cl[i].sock;
			items[i].events = ZMQ_POLLIN;
			items[i].revents = 0;
		}
		if (zmq_poll(items, n, 10) < 0 && errno != EINTR) {
			rc = fail_zmq(a, "poll", &cl[0]);
			goto out;
		}
	}
	a->elapsed_ns = now_ns() - start;
	// Every reply is in: anything more is a duplicate.
	for (int i = 0; i < n; i++) {
		if (zmq_msg_recv(&msg, cl[i].sock, ZMQ_DONTWAIT) >= 0) {
			rc = ZB_ERR_CHECK;
			snprintf(a->err, sizeof a->err, "client %u: unexpected message after reply %llu",
				cl[i].id, (unsigned long long)cl[i].recvd);
			goto out;
		}
	}
out:
	zmq_msg_close(&msg);
	free(buf);
	free(items);
	return rc;
}
