package push

import (
	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/zmtp"
)

// Push is a ZeroMQ PUSH socket. Its endpoints, Send, counters, events and
// Close are those of the embedded socket.Socket; Recv and TryRecv return
// errors.ErrUnsupported.
//
// Send queues a message on the next pipe in round robin whose queue has
// room. When no pipe has room, or there is no pipe yet, Send waits while
// its context allows; it never drops a message (TrySend returns
// socket.ErrWouldBlock instead). A message with no frames, which ZMTP
// cannot carry, is dropped and counted in Stats.DroppedEmpty.
//
// All methods are safe for concurrent use. Send takes ownership of the
// message on success.
type Push struct {
	socket.Socket

	b core.Balancer
}

// New returns a Push with the given options. It starts no goroutine until
// Bind or Connect.
func New(opts ...socket.Option) (*Push, error) {
	p := &Push{}
	c, err := core.New(core.Spec{
		Type:     zmtp.PUSH,
		Sender:   &p.b,
		Receiver: core.CannotRecv{},
		DropIn:   true,
	}, opts, &p.Socket)
	if err != nil {
		return nil, err
	}
	p.b.Init(c)
	c.SetRouting(&p.b, 0)
	return p, nil
}
