package dealer

import (
	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/zmtp"
)

// Dealer is a ZeroMQ DEALER socket. Its endpoints, Send, Recv, counters,
// events and Close are those of the embedded socket.Socket.
//
// Send queues a message on the next pipe in round robin whose queue has
// room. When no pipe has room, or there is no pipe yet, Send waits while
// its context allows; it never drops a message (TrySend returns
// socket.ErrWouldBlock instead). A message with no frames, which ZMTP cannot
// carry, is dropped and counted in Stats.DroppedEmpty.
//
// All methods are safe for concurrent use. Messages passed to Send and
// returned by Recv are owned by whoever holds them: Send takes ownership on
// success, and the caller of Recv releases what it receives (or sends it on).
type Dealer struct {
	socket.Socket

	b core.Balancer
}

// New returns a Dealer with the given options. It starts no goroutine until
// Bind or Connect.
func New(opts ...socket.Option) (*Dealer, error) {
	d := &Dealer{}
	c, err := core.New(core.Spec{Type: zmtp.DEALER, Sender: &d.b}, opts, &d.Socket)
	if err != nil {
		return nil, err
	}
	d.b.Init(c)
	c.SetRouting(&d.b, 0)
	return d, nil
}
