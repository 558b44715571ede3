package pub

import (
	"fmt"

	"github.com/zrouter/zrouter/internal/config"
	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/zmtp"
)

// WithNoDrop makes a PUB or XPUB wait instead of dropping
// (ZMQ_XPUB_NODROP): Send waits, while its context allows, until every
// subscriber the message matches has room, then queues it for all of them;
// TrySend returns socket.ErrWouldBlock instead, and the message goes to
// none of them.
func WithNoDrop(on bool) socket.Option {
	return core.Option(config.Opt{Name: "ZMQ_XPUB_NODROP", Types: []zmtp.SocketType{zmtp.PUB, zmtp.XPUB}, Socket: true,
		Set: func(c *config.Config) error { c.NoDrop = on; return nil }})
}

// Default bounds of WithMaxSubscriptions.
const (
	DefaultMaxSubscriptions     = config.DefaultMaxSubs
	DefaultMaxSubscriptionBytes = config.DefaultMaxSubBytes
)

// WithMaxSubscriptions bounds what one subscriber of a PUB or XPUB may
// subscribe to: at most n distinct topics, holding at most bytes bytes
// in all (defaults DefaultMaxSubscriptions and
// DefaultMaxSubscriptionBytes; 0 leaves that bound off). libzmq has no
// such bound. A subscription past either bound is refused: the
// subscriber is not subscribed to it, an XPUB's application does not get
// it, and it is counted in Stats.RefusedSubscriptions; the connection
// stays up, with the subscriptions it has. Under XPUB_MANUAL the bound
// is on the subscriptions a subscriber asked for, which are what its
// disconnection passes on as cancels.
func WithMaxSubscriptions(n int, bytes int64) socket.Option {
	return core.Option(config.Opt{Name: "WithMaxSubscriptions", Types: []zmtp.SocketType{zmtp.PUB, zmtp.XPUB}, Socket: true,
		Set: func(c *config.Config) error {
			if n < 0 || bytes < 0 {
				return fmt.Errorf("%d subscriptions of %d bytes: want 0 or more", n, bytes)
			}
			c.MaxSubs, c.MaxSubBytes = n, bytes
			return nil
		}})
}
