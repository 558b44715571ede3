#include <errno.h>
#include <string.h>
#include <zmq.h>

#include "pipeline.h"

int zb_push(void *sock, int size, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		zmq_msg_t msg;
		if (zmq_msg_init_size(&msg, (size_t)size) != 0)
			return errno;
		memset(zmq_msg_data(&msg), 'p', (size_t)size);
		for (;;) {
			if (zmq_msg_send(&msg, sock, 0) >= 0)
				break;
			if (errno != EINTR) {
				int e = errno;
				zmq_msg_close(&msg);
				return e;
			}
		}
	}
	return 0;
}

int zb_pull(void *sock, int size, uint64_t *count, uint64_t total)
{
	zmq_msg_t msg;
	zmq_msg_init(&msg);
	int rc = 0;
	while (__atomic_load_n(count, __ATOMIC_RELAXED) < total) {
		if (zmq_msg_recv(&msg, sock, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			rc = errno;
			break;
		}
		if (zmq_msg_size(&msg) != (size_t)size || zmq_msg_more(&msg)) {
			rc = EPROTO;
			break;
		}
		__atomic_add_fetch(count, 1, __ATOMIC_RELAXED);
	}
	zmq_msg_close(&msg);
	return rc;
}
