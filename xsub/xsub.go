package xsub

import (
	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/internal/pubsub"
	"github.com/zrouter/zrouter/socket"
)

// XSub is a ZeroMQ XSUB socket: a SUB whose subscriptions are messages
// the application sends. Its endpoints, Send, Recv, counters, events and
// Close are those of the embedded socket.Socket.
//
// Send takes a subscription as one frame, 0x01 then the topic, and a
// cancel as 0x00 then the topic, and passes them to every publisher as a
// SUB does (see package sub). Any other message goes to every publisher
// connected, dropped (and counted) for one whose queue is full. Send never
// waits. Recv returns every message the publishers send, unfiltered, as
// libzmq's XSUB does.
//
// All methods are safe for concurrent use. Send takes ownership of the
// message on success; the caller of Recv releases what it receives (or
// sends it on).
type XSub struct {
	socket.Socket

	b *pubsub.Sub
}

// New returns an XSub with the given options. It starts no goroutine
// until Bind or Connect.
func New(opts ...socket.Option) (*XSub, error) {
	x := &XSub{b: pubsub.NewSub(true)}
	c, err := core.New(x.b.Spec(), opts, &x.Socket)
	if err != nil {
		return nil, err
	}
	x.b.Attach(c)
	return x, nil
}

// Subscriptions returns the number of distinct topics subscribed to.
func (x *XSub) Subscriptions() int { return x.b.Subscriptions() }
