package dealer

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/internal/msgmeta"
	"github.com/zrouter/zrouter/lb"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// Dealer is a ZeroMQ DEALER socket. Its endpoints, Send, Recv, counters,
// events and Close are those of the embedded socket.Socket.
//
// Send queues a message on the next pipe in round robin whose queue has
// room. When no pipe has room, or there is no pipe yet, Send waits while
// its context allows; it never drops a message (TrySend returns
// socket.ErrWouldBlock instead). A message with no frames, which ZMTP cannot
// carry, is dropped and counted in Stats.DroppedEmpty.
//
// All methods are safe for concurrent use. Messages passed to Send and
// returned by Recv are owned by whoever holds them: Send takes ownership on
// success, and the caller of Recv releases what it receives (or sends it on).
type Dealer struct {
	socket.Socket

	c *core.Socket

	// mu guards the fields below; it is never held across I/O.
	mu     sync.Mutex
	rr     lb.RoundRobin[*core.Pipe]
	pipes  int           // pipes in rr that have not left
	change chan struct{} // closed and replaced when pipes or connections change
}

// New returns a Dealer with the given options. It starts no goroutine until
// Bind or Connect.
func New(opts ...socket.Option) (*Dealer, error) {
	d := &Dealer{change: make(chan struct{})}
	c, err := core.New(core.Spec{Type: zmtp.DEALER, Sender: (*sender)(d)}, opts, &d.Socket)
	if err != nil {
		return nil, err
	}
	d.c = c
	c.SetRouting((*routing)(d), 0)
	return d, nil
}

// routing is the Dealer's core.Routing: every pipe joins the round robin
// while it lasts, and every change wakes the senders that wait.
type routing Dealer

func (r *routing) AddPipe(p *core.Pipe) error {
	d := (*Dealer)(r)
	d.mu.Lock()
	d.rr.Add(p)
	d.pipes++
	d.changedLocked()
	d.mu.Unlock()
	return nil
}

func (r *routing) Up(*core.Pipe, *zmtp.Session) error { (*Dealer)(r).changed(); return nil }

func (r *routing) Down(*core.Pipe) { (*Dealer)(r).changed() }

func (r *routing) RemovePipe(*core.Pipe) {
	d := (*Dealer)(r)
	d.mu.Lock()
	d.pipes--
	// Dead pipes leave the round robin lazily, when Next meets them; if
	// nothing is sent for a while they could pile up, so compact when
	// they outnumber the live ones.
	if d.rr.Len() > 2*d.pipes+64 {
		d.rr.Compact(alive)
	}
	d.changedLocked()
	d.mu.Unlock()
}

func (r *routing) Close() { (*Dealer)(r).changed() }

func (d *Dealer) changed() {
	d.mu.Lock()
	d.changedLocked()
	d.mu.Unlock()
}

// changedLocked wakes the senders that wait for a pipe to appear or to
// change.
func (d *Dealer) changedLocked() {
	close(d.change)
	d.change = make(chan struct{})
}

func alive(p *core.Pipe) bool { return !p.Removed() }

func connected(p *core.Pipe) bool { return p.Connected() }

// sender is the Dealer's core.Sender.
type sender Dealer

func (x *sender) Send(ctx context.Context, m *wire.Msg, wait bool) error {
	return (*Dealer)(x).send(ctx, m, wait)
}

// errChanged ends a wait on one pipe when the set of pipes changes.
var errChanged = errors.New("dealer: pipes changed")

// recheck is how long a Send that waits on one full pipe gives the others
// before it looks at them again, when several connected pipes are full.
const recheck = 10 * time.Millisecond

func (d *Dealer) send(ctx context.Context, m *wire.Msg, wait bool) error {
	if d.c.Closing() {
		return net.ErrClosed
	}
	if len(m.Frames) == 0 {
		d.c.CountEmpty()
		m.Release()
		return nil
	}
	if msgmeta.Of(m).Drained && d.sendNow(m) {
		return nil
	}
	for {
		d.mu.Lock()
		if d.c.Closing() {
			d.mu.Unlock()
			return net.ErrClosed
		}
		if d.pushLocked(m) {
			d.mu.Unlock()
			return nil
		}
		if !wait {
			d.mu.Unlock()
			return socket.ErrWouldBlock
		}
		target, others := d.waitTargetLocked()
		change := d.change
		d.mu.Unlock()

		if target == nil {
			select {
			case <-change:
				continue
			case <-ctx.Done():
				return ctx.Err()
			case <-d.c.Done():
				return net.ErrClosed
			}
		}
		wctx, cancel := ctx, context.CancelFunc(nil)
		if others {
			// Another connected pipe may drain first: look again soon.
			wctx, cancel = context.WithTimeout(ctx, recheck)
		}
		err := target.Q.PushWait(wctx, m, change, errChanged)
		if cancel != nil {
			cancel()
		}
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The pipe closed, the pipes changed, or it is time to look
		// again: go round.
	}
}

// sendNow hands m to the next live pipe in round robin, for a message that
// Recv returned with nothing waiting behind it (typically a reply). When
// that pipe is connected and its queue idle, m is written from the caller's
// goroutine (Pipe.WriteNow), saving the hand-off to the writer; otherwise it
// is queued there as usual. It reports whether the pipe took m; when not,
// Send goes on to the other pipes.
func (d *Dealer) sendNow(m *wire.Msg) bool {
	d.mu.Lock()
	p, ok := d.rr.Next(alive, nil)
	d.mu.Unlock()
	if !ok {
		return false
	}
	// Outside the lock: the write is a system call. Should the connection
	// end meanwhile, m is lost with it, as one the writer had taken would
	// be.
	return p.WriteNow(m) || p.Q.Push(m) == nil
}

// pushLocked queues m on the next live pipe with room, and reports whether
// one took it.
func (d *Dealer) pushLocked(m *wire.Msg) bool {
	for tries := d.rr.Len(); tries > 0; tries-- {
		p, ok := d.rr.Next(alive, nil)
		if !ok {
			return false
		}
		if p.Q.Push(m) == nil {
			return true
		}
	}
	return false
}

// waitTargetLocked picks the full pipe for a Send to wait on: a connected
// one when there is one, since only those drain. others reports whether
// another connected pipe could drain first.
func (d *Dealer) waitTargetLocked() (target *core.Pipe, others bool) {
	if p, ok := d.rr.Next(alive, connected); ok {
		return p, d.c.Up() > 1
	}
	if p, ok := d.rr.Next(alive, nil); ok {
		return p, false
	}
	return nil, false
}
