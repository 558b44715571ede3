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

// WithManual leaves the subscriptions to the application
// (ZMQ_XPUB_MANUAL): Recv returns every subscription and cancel, none of
// which takes effect until the application passes it to Subscribe or
// Unsubscribe (or passes another topic for that subscriber). When a
// subscriber leaves, Recv returns a cancel for each subscription it had
// asked for.
func WithManual(on bool) socket.Option {
	return option("ZMQ_XPUB_MANUAL", func(c *config.Config) { c.Manual = on })
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
