package transport

import (
	"context"
	"math/rand/v2"
	"net"
	"time"
)

// Backoff is the reconnect schedule of a connecting socket, as libzmq's
// ZMQ_RECONNECT_IVL and ZMQ_RECONNECT_IVL_MAX define it: wait Ivl after a
// failure, doubling up to Max when Max is larger than Ivl, with random
// jitter of up to a quarter of the wait so that many sockets do not
// reconnect in step.
type Backoff struct {
	Ivl time.Duration
	Max time.Duration
}

// Next returns the wait after the n-th consecutive failure (n >= 1).
func (b Backoff) Next(n int) time.Duration {
	d := b.Ivl
	if d <= 0 {
		d = 100 * time.Millisecond
	}
	if b.Max > d {
		for i := 1; i < n && d < b.Max; i++ {
			d *= 2
		}
		if d > b.Max {
			d = b.Max
		}
	}
	return d + time.Duration(rand.Int64N(int64(d)/4+1))
}

// Dial connects to e once, with TCP_NODELAY set as libzmq sets it.
func Dial(ctx context.Context, e Endpoint) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, e.Network, e.Addr)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Listen binds e.
func Listen(e Endpoint) (net.Listener, error) {
	var lc net.ListenConfig
	return lc.Listen(context.Background(), e.Network, e.Addr)
}

// Sleep waits for d or until ctx ends, and reports whether the full wait
// elapsed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
