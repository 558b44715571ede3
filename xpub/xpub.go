package xpub

import (
	"context"

	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/internal/pubsub"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
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

	b          *pubsub.Pub
	manualMode bool
}

// New returns an XPub with the given options. It starts no goroutine
// until Bind or Connect.
func New(opts ...socket.Option) (*XPub, error) {
	x := &XPub{b: pubsub.NewPub(true)}
	c, err := core.New(x.b.Spec(), opts, &x.Socket)
	if err != nil {
		return nil, err
	}
	x.b.Attach(c)
	x.manualMode = c.Config().Manual
	return x, nil
}

// Subscribers calls fn for every topic prefix subscribed to, in byte
// order, with the number of subscribers that asked for it. prefix is valid
// only during the call; fn must not call the XPub.
func (x *XPub) Subscribers(fn func(prefix []byte, subscribers int)) { x.b.Subscribers(fn) }

// Subscribe subscribes the subscriber that sent from, a message Recv
// returned, to topic, for a socket made WithManual (ZMQ_SUBSCRIBE on a
// manual XPUB after a receive). It returns socket.ErrState on a socket
// that is not manual, and socket.ErrHostUnreachable when from came from no
// subscriber still connected.
func (x *XPub) Subscribe(from *wire.Msg, topic []byte) error {
	return x.manual(from, topic, true)
}

// Unsubscribe undoes a Subscribe of the subscriber that sent from, for a
// socket made WithManual (ZMQ_UNSUBSCRIBE on a manual XPUB).
func (x *XPub) Unsubscribe(from *wire.Msg, topic []byte) error {
	return x.manual(from, topic, false)
}

func (x *XPub) manual(from *wire.Msg, topic []byte, subscribe bool) error {
	if !x.manualMode {
		return socket.ErrState
	}
	if !x.b.ManualSubscribe(from, topic, subscribe) {
		return socket.ErrHostUnreachable
	}
	return nil
}

// SendAll sends the messages of ms in order, as many Sends would, and
// returns how many it took, as pub.Pub's SendAll does: every subscriber's
// queue takes its share of ms at once. device.Forwarder sends with it.
func (x *XPub) SendAll(ctx context.Context, ms []*wire.Msg) (int, error) {
	return x.b.SendAll(ctx, ms, true)
}
