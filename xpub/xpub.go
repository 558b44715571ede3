package xpub

import (
	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/internal/pubsub"
	"github.com/zrouter/zrouter/socket"
)

// XPub is a ZeroMQ XPUB socket: a PUB whose Recv returns the
// subscriptions its subscribers send, and the other messages they send.
// Its endpoints, Send, Recv, counters, events and Close are those of the
// embedded socket.Socket.
//
// Send is the PUB's (see package pub). Recv returns, in the message form
// (a frame of 0x01 or 0x00, then the topic), each subscription that gave
// a prefix its first subscriber and each cancel that took its last,
// including the cancels that a subscriber's disconnection makes.
//
// All methods are safe for concurrent use. Send takes ownership of the
// message on success; the caller of Recv releases what it receives (or
// sends it on).
type XPub struct {
	socket.Socket

	b *pubsub.Pub
}

// New returns an XPub with the given options. It starts no goroutine
// until Bind or Connect.
func New(opts ...socket.Option) (*XPub, error) {
	x := &XPub{b: pubsub.NewPub(true, pubsub.PubOptions{})}
	c, err := core.New(x.b.Spec(), opts, &x.Socket)
	if err != nil {
		return nil, err
	}
	x.b.Attach(c)
	return x, nil
}

// Subscribers calls fn for every topic prefix subscribed to, in byte
// order, with the number of subscribers that asked for it. prefix is valid
// only during the call; fn must not call the XPub.
func (x *XPub) Subscribers(fn func(prefix []byte, subscribers int)) { x.b.Subscribers(fn) }
