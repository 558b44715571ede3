package xpub

import (
	"github.com/zrouter/zrouter/internal/config"
	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/zmtp"
)

var xpubOnly = []zmtp.SocketType{zmtp.XPUB}

func option(name string, set func(*config.Config)) socket.Option {
	return core.Option(config.Opt{Name: name, Types: xpubOnly, Socket: true, Set: func(c *config.Config) error {
		set(c)
		return nil
	}})
}

// WithVerbose makes Recv return every subscription, not only the first of
// each prefix: a second subscriber's, and a subscriber's repeat
// (ZMQ_XPUB_VERBOSE). Cancels are still passed on only for a prefix's
// last subscriber; WithVerbose(false) undoes WithVerboser too.
func WithVerbose(on bool) socket.Option {
	return option("ZMQ_XPUB_VERBOSE", func(c *config.Config) {
		c.Verbose = 0
		if on {
			c.Verbose = 1
		}
	})
}

// WithVerboser makes Recv return every subscription and every cancel,
// those a subscriber's disconnection makes included (ZMQ_XPUB_VERBOSER).
func WithVerboser(on bool) socket.Option {
	return option("ZMQ_XPUB_VERBOSER", func(c *config.Config) {
		c.Verbose = 0
		if on {
			c.Verbose = 2
		}
	})
}

// WithManualLastValue is WithManual, and also sends the first message
// after each subscription or cancel that Recv returned only to the
// subscriber that sent it, if it matches that subscriber's subscriptions
// (ZMQ_XPUB_MANUAL_LAST_VALUE): a last-value cache answers a new
// subscriber with the cached value, after Subscribe, without sending it
// again to everyone. The Send after that goes to every subscriber it
// matches. A cancel that a disconnection made leaves no subscriber to
// send to. WithManualLastValue(false) also turns manual mode off.
func WithManualLastValue(on bool) socket.Option {
	return option("ZMQ_XPUB_MANUAL_LAST_VALUE", func(c *config.Config) { c.Manual, c.LastValue = on, on })
}

// WithManual leaves the subscriptions to the application
// (ZMQ_XPUB_MANUAL): Recv returns every subscription and cancel, none of
// which takes effect until the application passes it to Subscribe or
// Unsubscribe (or passes another topic for that subscriber). When a
// subscriber leaves, Recv returns a cancel for each subscription it had
// asked for.
func WithManual(on bool) socket.Option {
	return option("ZMQ_XPUB_MANUAL", func(c *config.Config) { c.Manual = on })
}

// WithOnlyFirstSubscribe makes the XPUB look for subscriptions in a
// message of several frames only when its first frame is one
// (ZMQ_ONLY_FIRST_SUBSCRIBE, as libzmq 4.3 implements it): then every
// frame that has a subscription's form counts as one, as it does by
// default; otherwise the whole message is data for Recv. xsub's option
// of the same name does the same for what an XSUB sends.
func WithOnlyFirstSubscribe(on bool) socket.Option {
	return option("ZMQ_ONLY_FIRST_SUBSCRIBE", func(c *config.Config) { c.OnlyFirst = on })
}

// WithWelcome sends msg to every subscriber as its connection comes up,
// ahead of anything else (ZMQ_XPUB_WELCOME_MSG): a subscriber that
// subscribes to it knows that its subscriptions are in, the cure of the
// slow joiner. An empty msg sends nothing.
func WithWelcome(msg []byte) socket.Option {
	msg = append([]byte(nil), msg...)
	return option("ZMQ_XPUB_WELCOME_MSG", func(c *config.Config) {
		c.Welcome = nil
		if len(msg) > 0 {
			c.Welcome = msg
		}
	})
}
