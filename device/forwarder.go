package device

import (
	"cmp"
	"fmt"
	"slices"
)

// Publisher is what a Forwarder needs of its backend: a socket that says
// who subscribes to what. xpub.XPub is one.
type Publisher interface {
	Socket
	Subscribers(fn func(prefix []byte, subscribers int))
}

// Forwarder is libzmq's zmq_proxy(XSUB, XPUB), the pub/sub forwarder:
// publishers connect to the frontend, an XSUB, and subscribers to the
// backend, an XPUB. Messages go down from the frontend to the subscribers
// whose prefixes match them, and subscriptions go up from the backend to
// every publisher; a publisher that connects later gets them all, and a
// subscriber that leaves takes its subscriptions with it. It is a Proxy
// (Run, Pause, Resume, Terminate, Stats) that also reports, from its
// backend, how many subscribers each topic prefix has.
//
// All methods are safe for concurrent use.
type Forwarder struct {
	*Proxy
	back Publisher
}

// NewForwarder returns a Forwarder between frontend and backend, which
// Run starts. It takes a Proxy's options.
func NewForwarder(frontend Socket, backend Publisher, opts ...Option) (*Forwarder, error) {
	if backend == nil {
		return nil, fmt.Errorf("%w: nil backend", ErrBadSocket)
	}
	p, err := NewProxy(frontend, backend, opts...)
	if err != nil {
		return nil, err
	}
	return &Forwarder{Proxy: p, back: backend}, nil
}

// TopicCount is the number of subscribers of one topic prefix.
type TopicCount struct {
	Prefix      string
	Subscribers int
}

// Topics returns the prefixes subscribed to at the backend, the most
// subscribed first (then in byte order), at most max of them (max <= 0:
// all), and how many prefixes there are in all.
func (f *Forwarder) Topics(max int) (top []TopicCount, prefixes int) {
	f.back.Subscribers(func(p []byte, n int) {
		top = append(top, TopicCount{Prefix: string(p), Subscribers: n})
	})
	prefixes = len(top)
	slices.SortStableFunc(top, func(a, b TopicCount) int { return cmp.Compare(b.Subscribers, a.Subscribers) })
	if max > 0 && len(top) > max {
		top = top[:max]
	}
	return top, prefixes
}
