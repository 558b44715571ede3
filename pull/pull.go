package pull

import (
	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/zmtp"
)

// Pull is a ZeroMQ PULL socket. Its endpoints, Recv, counters, events and
// Close are those of the embedded socket.Socket; Send, TrySend and
// SendFrames return errors.ErrUnsupported.
//
// All methods are safe for concurrent use. The caller of Recv owns the
// message it returns, and releases it (or sends it on).
type Pull struct {
	socket.Socket

	// b keeps the pipes; a Pull sends nothing on them.
	b core.Balancer
}

// New returns a Pull with the given options. It starts no goroutine until
// Bind or Connect.
func New(opts ...socket.Option) (*Pull, error) {
	p := &Pull{}
	c, err := core.New(core.Spec{Type: zmtp.PULL}, opts, &p.Socket)
	if err != nil {
		return nil, err
	}
	p.b.Init(c)
	c.SetRouting(&p.b, 0)
	return p, nil
}
