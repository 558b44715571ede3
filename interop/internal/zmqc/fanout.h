// The publisher and subscriber loops of the fan-out benchmark, in C: a PUB
// that sends until told to stop, and SUBs that count what they receive.

#ifndef ZB_FANOUT_H
#define ZB_FANOUT_H

#include <stdint.h>

// zb_pub sends copies of the size bytes at tmpl on sock, each a fresh
// zmq_msg_t, until *stop is non-zero, and adds each one sent to *sent. It
// returns 0, or the errno of the call that failed.
int zb_pub(void *sock, const void *tmpl, int size, const int *stop, uint64_t *sent);

// zb_sub receives messages on sock and adds one to *count for each, until
// *stop is non-zero; a message that is not one frame of size bytes is an
// error. sock must have a short receive timeout, so that the loop sees
// *stop. It returns 0, EPROTO for a wrong message, or the errno of the call
// that failed.
int zb_sub(void *sock, int size, const int *stop, uint64_t *count);

#endif
