package sub

import (
	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/internal/pubsub"
	"github.com/zrouter/zrouter/socket"
)

// Sub is a ZeroMQ SUB socket. Its endpoints, Recv, counters, events and
// Close are those of the embedded socket.Socket; Send and TrySend return
// errors.ErrUnsupported.
//
// Recv returns the messages whose first frame starts with one of the
// subscriptions; a Sub with none receives nothing.
//
// All methods are safe for concurrent use. The caller of Recv releases
// what it receives.
type Sub struct {
	socket.Socket

	b *pubsub.Sub
}

// New returns a Sub with the given options. It starts no goroutine until
// Bind or Connect.
func New(opts ...socket.Option) (*Sub, error) {
	s := &Sub{b: pubsub.NewSub(false)}
	c, err := core.New(s.b.Spec(), opts, &s.Socket)
	if err != nil {
		return nil, err
	}
	s.b.Attach(c)
	return s, nil
}

// Subscribe adds a subscription to the messages whose first frame starts
// with topic (ZMQ_SUBSCRIBE); the empty topic matches every message. It
// goes at once to every connection up, and to every connection that comes
// up later. Each call counts: as many Unsubscribe calls undo it.
func (s *Sub) Subscribe(topic []byte) { s.b.Subscribe(topic) }

// Unsubscribe undoes one Subscribe to topic (ZMQ_UNSUBSCRIBE); the
// publishers are told when it was the last. A topic not subscribed to is
// ignored.
func (s *Sub) Unsubscribe(topic []byte) { s.b.Unsubscribe(topic) }
