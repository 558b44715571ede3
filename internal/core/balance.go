package core

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/zrouter/zrouter/internal/msgmeta"
	"github.com/zrouter/zrouter/lb"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// Balancer is the routing of the socket types that send round robin over
// their pipes and wait when none has room: DEALER, PUSH and REQ. Every pipe
// joins the round robin while it lasts, and every change wakes the senders
// that wait. A message with no frames, which ZMTP cannot carry, is dropped
// and counted.
//
// A socket type embeds a Balancer, calls Init with its core, and gives it
// to SetRouting and as its Spec's Sender, or wraps its methods. Its methods
// are safe for concurrent use.
type Balancer struct {
	c *Socket

	// mu guards the fields below; it is never held across I/O.
	mu     sync.Mutex
	rr     lb.RoundRobin[*Pipe]
	pipes  int           // pipes in rr that have not left
	change chan struct{} // closed and replaced when pipes or connections change
}

// Init attaches b to its socket's core; it must be called before the core
// makes any pipe.
func (b *Balancer) Init(c *Socket) {
	b.c = c
	b.change = make(chan struct{})
}

// AddPipe puts p in the round robin.
func (b *Balancer) AddPipe(p *Pipe) error {
	b.mu.Lock()
	b.rr.Add(p)
	b.pipes++
	b.changedLocked()
	b.mu.Unlock()
	return nil
}

// Up admits every connection.
func (b *Balancer) Up(*Pipe, *zmtp.Session) error { b.changed(); return nil }

// Down wakes the senders that wait.
func (b *Balancer) Down(*Pipe) { b.changed() }

// RemovePipe forgets p: it leaves the round robin lazily, when Next meets
// it.
func (b *Balancer) RemovePipe(*Pipe) {
	b.mu.Lock()
	b.pipes--
	// If nothing is sent for a while dead pipes could pile up, so compact
	// when they outnumber the live ones.
	if b.rr.Len() > 2*b.pipes+64 {
		b.rr.Compact(alive)
	}
	b.changedLocked()
	b.mu.Unlock()
}

// Close wakes the senders that wait.
func (b *Balancer) Close() { b.changed() }

func (b *Balancer) changed() {
	b.mu.Lock()
	b.changedLocked()
	b.mu.Unlock()
}

// changedLocked wakes the senders that wait for a pipe to appear or to
// change.
func (b *Balancer) changedLocked() {
	close(b.change)
	b.change = make(chan struct{})
}

func alive(p *Pipe) bool { return !p.Removed() }

func connected(p *Pipe) bool { return p.Connected() }

// Send queues m on the next pipe in round robin whose queue has room; see
// SendPipe.
func (b *Balancer) Send(ctx context.Context, m *wire.Msg, wait bool) error {
	_, err := b.SendPipe(ctx, m, wait)
	return err
}

// errChanged ends a wait on one pipe when the set of pipes changes.
var errChanged = errors.New("core: pipes changed")

// recheck is how long a Send that waits on one full pipe gives the others
// before it looks at them again, when several connected pipes are full.
const recheck = 10 * time.Millisecond

// SendPipe queues m on the next pipe in round robin whose queue has room,
// and returns that pipe (nil for an empty message, dropped and counted).
// When no pipe has room, or there is no pipe yet, it waits while wait is
// set and ctx allows, and otherwise returns socket.ErrWouldBlock; it never
// drops a message.
func (b *Balancer) SendPipe(ctx context.Context, m *wire.Msg, wait bool) (*Pipe, error) {
	if b.c.Closing() {
		return nil, net.ErrClosed
	}
	if len(m.Frames) == 0 {
		b.c.CountEmpty()
		m.Release()
		return nil, nil
	}
	if msgmeta.Of(m).Drained {
		if p := b.sendNow(m); p != nil {
			return p, nil
		}
	}
	for {
		b.mu.Lock()
		if b.c.Closing() {
			b.mu.Unlock()
			return nil, net.ErrClosed
		}
		if p := b.pushLocked(m); p != nil {
			b.mu.Unlock()
			return p, nil
		}
		if !wait {
			b.mu.Unlock()
			return nil, socket.ErrWouldBlock
		}
		target, others := b.waitTargetLocked()
		change := b.change
		b.mu.Unlock()

		if target == nil {
			select {
			case <-change:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-b.c.Done():
				return nil, net.ErrClosed
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
			return target, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// The pipe closed, the pipes changed, or it is time to look
		// again: go round.
	}
}

// sendNow hands m to the next live pipe in round robin, for a message that
// Recv returned with nothing waiting behind it (typically a reply). When
// that pipe is connected and its queue idle, m is written from the caller's
// goroutine (Pipe.WriteNow), saving the hand-off to the writer; otherwise it
// is queued there as usual. It returns the pipe that took m, or nil; then
// Send goes on to the other pipes.
func (b *Balancer) sendNow(m *wire.Msg) *Pipe {
	b.mu.Lock()
	p, ok := b.rr.Next(alive, nil)
	b.mu.Unlock()
	if !ok {
		return nil
	}
	// Outside the lock: the write is a system call. Should the connection
	// end meanwhile, m is lost with it, as one the writer had taken would
	// be.
	if p.WriteNow(m) || p.Q.Push(m) == nil {
		return p
	}
	return nil
}

// pushLocked queues m on the next live pipe with room, and returns the pipe
// that took it, or nil.
func (b *Balancer) pushLocked(m *wire.Msg) *Pipe {
	for tries := b.rr.Len(); tries > 0; tries-- {
		p, ok := b.rr.Next(alive, nil)
		if !ok {
			return nil
		}
		if p.Q.Push(m) == nil {
			return p
		}
	}
	return nil
}

// waitTargetLocked picks the full pipe for a Send to wait on: a connected
// one when there is one, since only those drain. others reports whether
// another connected pipe could drain first.
func (b *Balancer) waitTargetLocked() (target *Pipe, others bool) {
	if p, ok := b.rr.Next(alive, connected); ok {
		return p, b.c.Up() > 1
	}
	if p, ok := b.rr.Next(alive, nil); ok {
		return p, false
	}
	return nil, false
}
