#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "inproc.h"

static int64_t inproc_now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int fail(zb_inproc_args *a, const char *what) {
	a->errnum = errno;
	snprintf(a->err, sizeof a->err, "%s: %s", what, zmq_strerror(errno));
	return a->errnum ? a->errnum : EINVAL;
}

// A pair of sockets of one context, on a fresh inproc name.
typedef struct {
	void *ctx, *router, *dealer;
	zb_inproc_args *a;
	unsigned char *body;
	int rc;
} pair;

static int pair_open(pair *p, zb_inproc_args *a, const char *name) {
	memset(p, 0, sizeof *p);
	p->a = a;
	p->ctx = zmq_ctx_new();
	if (!p->ctx)
		return fail(a, "zmq_ctx_new");
	p->router = zmq_socket(p->ctx, ZMQ_ROUTER);
	p->dealer = zmq_socket(p->ctx, ZMQ_DEALER);
	if (!p->router || !p->dealer)
		return fail(a, "zmq_socket");
	int zero = 0;
	void *socks[2] = {p->router, p->dealer};
	for (int i = 0; i < 2; i++) {
		if (zmq_setsockopt(socks[i], ZMQ_SNDHWM, &a->hwm, sizeof a->hwm) || zmq_setsockopt(socks[i], ZMQ_RCVHWM, &a->hwm, sizeof a->hwm) ||
		    zmq_setsockopt(socks[i], ZMQ_LINGER, &zero, sizeof zero))
			return fail(a, "zmq_setsockopt");
	}
	if (zmq_bind(p->router, name))
		return fail(a, "zmq_bind");
	if (zmq_connect(p->dealer, name))
		return fail(a, "zmq_connect");
	p->body = malloc(a->size > 0 ? a->size : 1);
	for (int i = 0; i < a->size; i++)
		p->body[i] = (unsigned char)(i * 7 + 1);
	return 0;
}

static void pair_close(pair *p) {
	if (p->router)
		zmq_close(p->router);
	if (p->dealer)
		zmq_close(p->dealer);
	if (p->ctx)
		zmq_ctx_term(p->ctx);
	free(p->body);
}

static int send_body(void *s, const unsigned char *body, int size, int flags) {
	zmq_msg_t m;
	zmq_msg_init_size(&m, size);
	memcpy(zmq_msg_data(&m), body, size);
	for (;;) {
		if (zmq_msg_send(&m, s, flags) >= 0)
			return 0;
		if (errno != EINTR) {
			zmq_msg_close(&m);
			return -1;
		}
	}
}

static int recv_msg(zmq_msg_t *m, void *s) {
	for (;;) {
		if (zmq_msg_recv(m, s, 0) >= 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

static void *thr_sender(void *arg) {
	pair *p = arg;
	for (int64_t i = 0; i < p->a->n; i++) {
		if (send_body(p->dealer, p->body, p->a->size, 0)) {
			p->rc = fail(p->a, "sender: zmq_msg_send");
			return NULL;
		}
	}
	return NULL;
}

static int inproc_seq;

int zb_inproc_thr(zb_inproc_args *a) {
	char name[64];
	snprintf(name, sizeof name, "inproc://zb-thr-%d", __sync_add_and_fetch(&inproc_seq, 1));
	pair p;
	int rc = pair_open(&p, a, name);
	if (rc) {
		pair_close(&p);
		return rc;
	}
	pthread_t t;
	zmq_msg_t id, body;
	zmq_msg_init(&id);
	zmq_msg_init(&body);
	int64_t t0 = inproc_now();
	pthread_create(&t, NULL, thr_sender, &p);
	for (int64_t i = 0; i < a->n && !rc; i++) {
		if (recv_msg(&id, p.router) || recv_msg(&body, p.router)) {
			rc = fail(a, "receiver: zmq_msg_recv");
			break;
		}
		if (zmq_msg_size(&body) != (size_t)a->size || zmq_msg_more(&body)) {
			snprintf(a->err, sizeof a->err, "receiver: message %lld: %zu bytes", (long long)i, zmq_msg_size(&body));
			rc = EPROTO;
		}
	}
	a->elapsed_ns = inproc_now() - t0;
	pthread_join(t, NULL);
	zmq_msg_close(&id);
	zmq_msg_close(&body);
	if (!rc)
		rc = p.rc;
	pair_close(&p);
	return rc;
}

static void *lat_echo(void *arg) {
	pair *p = arg;
	zmq_msg_t id, body;
	zmq_msg_init(&id);
	zmq_msg_init(&body);
	for (int64_t i = 0; i < p->a->n; i++) {
		if (recv_msg(&id, p->router) || recv_msg(&body, p->router) || zmq_msg_send(&id, p->router, ZMQ_SNDMORE) < 0 ||
		    zmq_msg_send(&body, p->router, 0) < 0) {
			p->rc = fail(p->a, "echo");
			break;
		}
	}
	zmq_msg_close(&id);
	zmq_msg_close(&body);
	return NULL;
}

int zb_inproc_lat(zb_inproc_args *a) {
	char name[64];
	snprintf(name, sizeof name, "inproc://zb-lat-%d", __sync_add_and_fetch(&inproc_seq, 1));
	pair p;
	int rc = pair_open(&p, a, name);
	if (rc) {
		pair_close(&p);
		return rc;
	}
	pthread_t t;
	pthread_create(&t, NULL, lat_echo, &p);
	zmq_msg_t back;
	zmq_msg_init(&back);
	int64_t t0 = inproc_now();
	for (int64_t i = 0; i < a->n; i++) {
		int64_t s = inproc_now();
		if (send_body(p.dealer, p.body, a->size, 0) || recv_msg(&back, p.dealer)) {
			rc = fail(a, "client");
			break;
		}
		if (a->rtt)
			a->rtt[i] = inproc_now() - s;
		if (zmq_msg_size(&back) != (size_t)a->size || memcmp(zmq_msg_data(&back), p.body, a->size)) {
			snprintf(a->err, sizeof a->err, "client: round trip %lld: a wrong reply", (long long)i);
			rc = EPROTO;
			break;
		}
	}
	a->elapsed_ns = inproc_now() - t0;
	zmq_msg_close(&back);
	if (rc) {
		// The echo thread waits for a message that will not come: ending
		// the context ends its wait.
		zmq_close(p.dealer);
		p.dealer = NULL;
		zmq_close(p.router);
		p.router = NULL;
		zmq_ctx_shutdown(p.ctx);
	}
	pthread_join(t, NULL);
	pair_close(&p);
	return rc;
}
