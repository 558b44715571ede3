// Package bridge joins the public socket package to the code behind it
// without the public types showing their insides. Package socket sets these
// functions when it is initialised; the socket core and the socket types
// call them.
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
