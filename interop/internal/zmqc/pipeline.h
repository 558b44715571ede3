// The two ends of libzmq's throughput test (perf/remote_thr and
// perf/local_thr), in C: a PUSH that sends as fast as libzmq lets it, and a
// PULL that counts what arrives.

#ifndef ZB_PIPELINE_H
#define ZB_PIPELINE_H

#include <stdint.h>

// zb_push sends n messages of size bytes on sock, each made as remote_thr
// makes it (zmq_msg_init_size, then zmq_msg_send). It returns 0, or the
// errno of the call that failed.
int zb_push(void *sock, int size, uint64_t n);

// zb_pull receives messages on sock and counts them in *count, which other
// zb_pull loops may share, until it reaches total; a message that is not
// one frame of size bytes is an error. sock must have a short receive
// timeout, so that a loop whose peers have gone quiet sees the others
// reach the total. It returns 0, EPROTO for a wrong message, or the errno
// of the call that failed.
int zb_pull(void *sock, int size, uint64_t *count, uint64_t total);

#endif
