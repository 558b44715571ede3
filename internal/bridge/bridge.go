package bridge

import "github.com/zrouter/zrouter/internal/config"

var (
	// WrapOption returns the socket.Option that carries o.
	WrapOption func(o config.Opt) any
	// UnwrapOption returns the config.Opt inside a socket.Option.
	UnwrapOption func(o any) config.Opt
	// Attach makes the *socket.Socket s run on engine e, which implements
	// the methods socket.Socket forwards to.
	Attach func(s, e any)
)
