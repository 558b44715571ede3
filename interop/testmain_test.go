package interop

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind.
//
// pebbe/zmq4 starts no goroutines of its own: libzmq's I/O threads are native
// threads that goleak cannot see, so no IgnoreTopFunction options are needed.
// A goroutine stuck in a blocking cgo call (Recv without ZMQ_RCVTIMEO, or
// Context.Term with an open socket) does show up as a leak.
//
// go-zeromq/zmq4's PUB (v0.17.0) leaves the goroutine of its writer
// waiting on a condition variable after Close; that one goroutine, theirs,
// is ignored.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/go-zeromq/zmq4.(*pubMWriter).run"))
}
