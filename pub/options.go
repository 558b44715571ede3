package pub

import (
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
