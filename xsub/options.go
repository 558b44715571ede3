package xsub

import (
	"github.com/zrouter/zrouter/internal/config"
	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/zmtp"
)

// WithOnlyFirstSubscribe makes Send look for subscriptions in a message
// of several frames only when its first frame is one
// (ZMQ_ONLY_FIRST_SUBSCRIBE, as libzmq 4.3 implements it): then every
// frame that has a subscription's form counts as one, as it does by
// default; otherwise the whole message goes to the publishers as data.
func WithOnlyFirstSubscribe(on bool) socket.Option {
	return core.Option(config.Opt{Name: "ZMQ_ONLY_FIRST_SUBSCRIBE", Types: []zmtp.SocketType{zmtp.XSUB}, Socket: true,
		Set: func(c *config.Config) error { c.OnlyFirst = on; return nil }})
}
