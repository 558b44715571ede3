package pub

import (
	"context"

	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/internal/pubsub"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
)

// Pub is a ZeroMQ PUB socket. Its endpoints, Send, counters, events and
// Close are those of the embedded socket.Socket; Recv and TryRecv return
// errors.ErrUnsupported.
//
// Send queues a message for every subscriber with a subscription that is
// a prefix of its first frame, and never waits: a subscriber whose queue
// is at its send high-water mark misses the message, counted in that
// pipe's DroppedHWM (Peers) and the socket's (Stats). With no subscriber
// the message is discarded. A message with no frames is dropped and
// counted in Stats.DroppedEmpty.
//
// All methods are safe for concurrent use. Send takes ownership of the
// message on success.
type Pub struct {
	socket.Socket

	b *pubsub.Pub
}

// New returns a Pub with the given options. It starts no goroutine until
// Bind or Connect.
func New(opts ...socket.Option) (*Pub, error) {
	p := &Pub{b: pubsub.NewPub(false)}
	c, err := core.New(p.b.Spec(), opts, &p.Socket)
	if err != nil {
		return nil, err
	}
	p.b.Attach(c)
	return p, nil
}

// Subscribers calls fn for every topic prefix subscribed to, in byte
// order, with the number of subscribers that asked for it. prefix is valid
// only during the call; fn must not call the Pub.
func (p *Pub) Subscribers(fn func(prefix []byte, subscribers int)) { p.b.Subscribers(fn) }

// SendAll sends the messages of ms in order, as many Sends would, and
// returns how many it took: all of them, unless the socket is closed (or,
// WithNoDrop, Send's wait ends in an error), and then the caller keeps
// ms[n:]. It costs less than a Send each: every subscriber's queue takes
// its share of ms at once, and its writer is woken once. A device that
// forwards bursts (device.Forwarder) sends with it.
func (p *Pub) SendAll(ctx context.Context, ms []*wire.Msg) (int, error) {
	return p.b.SendAll(ctx, ms, true)
}
