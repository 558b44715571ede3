#include <errno.h>
#include <string.h>
#include <zmq.h>

#include "fanout.h"

int zb_pub(void *sock, const void *tmpl, int size, const int *stop, uint64_t *sent)
{
	while (!__atomic_load_n(stop, __ATOMIC_RELAXED)) {
		zmq_msg_t msg;
		if (zmq_msg_init_size(&msg, (size_t)size) != 0)
			return errno;
		memcpy(zmq_msg_data(&msg), tmpl, (size_t)size);
		if (zmq_msg_send(&msg, sock, 0) < 0) {
			int e = errno;
			zmq_msg_close(&msg);
			if (e == EINTR || e == EAGAIN)
				continue;
			return e;
		}
		__atomic_add_fetch(sent, 1, __ATOMIC_RELAXED);
	}
	return 0;
}

int zb_sub(void *sock, int size, const int *stop, uint64_t *count)
{
	zmq_msg_t msg;
	zmq_msg_init(&msg);
	int rc = 0;
	while (!__atomic_load_n(stop, __ATOMIC_RELAXED)) {
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
