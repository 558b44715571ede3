package core

import (
	"context"
	"net"
	"sync"
	"sync/atomic"

	"github.com/zrouter/zrouter/internal/msgmeta"
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
// A Send that finds room takes one lock, its pipe's queue's: it reads the
// pipes from a list that is published whole (list) and turns a cursor
// that is an atomic counter (next). The lock guards only the changes of
// the list and the waits for room.
//
// A socket type embeds a Balancer, calls Init with its core, and gives it
// to SetRouting and as its Spec's Sender, or wraps its methods. Its methods
// are safe for concurrent use.
type Balancer struct {
	c *Socket

	// list holds the pipes in round-robin order. A published list never
	// changes below its length: AddPipe appends past it, into spare
	// capacity or a new array, and a compaction makes a new array, so
	// Send reads it without a lock. Pipes that have left stay in it,
	// passed over, until a compaction.
	list atomic.Pointer[pipeList]
	// next is the round robin's cursor: the pipe after the last one
	// that took a message, modulo the list's length.
	next atomic.Uint32

	// mu guards the fields below and the writes of list; it is never held
	// across I/O.
	mu     sync.Mutex
	pipes  int           // pipes in list that have not left
	change chan struct{} // closed and replaced when pipes or connections change
	// room is closed and replaced when a queue that a waiting Send asked
	// (peer.Queue.WantRoom) makes room, or closes.
	room chan struct{}
}

// pipeList is one published state of a Balancer's pipes.
type pipeList struct{ pipes []*Pipe }

// Init attaches b to its socket's core; it must be called before the core
// makes any pipe.
func (b *Balancer) Init(c *Socket) {
	b.c = c
	b.change = make(chan struct{})
	b.room = make(chan struct{})
	b.list.Store(&pipeList{})
}

// AddPipe puts p in the round robin.
func (b *Balancer) AddPipe(p *Pipe) error {
	p.Q.SetRoomHook(b.roomMade)
	b.mu.Lock()
	b.list.Store(&pipeList{pipes: append(b.list.Load().pipes, p)})
	b.pipes++
	b.changedLocked()
	b.mu.Unlock()
	return nil
}

// Up admits every connection.
func (b *Balancer) Up(*Pipe, *zmtp.Session) error { b.changed(); return nil }

// Down wakes the senders that wait.
func (b *Balancer) Down(*Pipe) { b.changed() }

// RemovePipe forgets p: Send passes it over from now on, and it leaves the
// list at the next compaction, which comes when the pipes that left
// outnumber those that remain, so that a departure costs O(1) amortized.
func (b *Balancer) RemovePipe(*Pipe) {
	b.mu.Lock()
	b.pipes--
	if ps := b.list.Load().pipes; len(ps) > 2*b.pipes+compactSlack {
		live := make([]*Pipe, 0, b.pipes)
		for _, q := range ps {
			if alive(q) {
				live = append(live, q)
			}
		}
		b.list.Store(&pipeList{pipes: live})
	}
	b.changedLocked()
	b.mu.Unlock()
}

// compactSlack is how many departed pipes the list may hold beyond as many
// as remain.
const compactSlack = 16

// Close wakes the senders that wait.
func (b *Balancer) Close() { b.changed() }

// roomMade wakes the senders that wait for room: a queue they asked has
// some.
func (b *Balancer) roomMade() {
	b.mu.Lock()
	close(b.room)
	b.room = make(chan struct{})
	b.mu.Unlock()
}

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

// turn returns the index in a list of n (> 0) pipes where the round robin
// stands, and moves the cursor past it.
func (b *Balancer) turn(n int) int {
	if n == 1 {
		return 0
	}
	c := b.next.Add(1) - 1
	if n&(n-1) == 0 {
		return int(c & uint32(n-1))
	}
	return int(c % uint32(n))
}

// pick returns the first pipe from the round robin's turn on for which
// usable holds, among those that have not left (usable nil: any), and
// moves the cursor past it; nil when none does.
func (b *Balancer) pick(usable func(*Pipe) bool) *Pipe {
	ps := b.list.Load().pipes
	n := len(ps)
	if n == 0 {
		return nil
	}
	i := b.turn(n)
	for k := range n {
		p := ps[(i+k)%n]
		if alive(p) && (usable == nil || usable(p)) {
			if k > 0 {
				b.next.Add(uint32(k))
			}
			return p
		}
	}
	return nil
}

// Send queues m on the next pipe in round robin whose queue has room; see
// SendPipe.
func (b *Balancer) Send(ctx context.Context, m *wire.Msg, wait bool) error {
	_, err := b.SendPipe(ctx, m, wait)
	return err
}

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
	for first := true; ; first = false {
		if !first && b.c.Closing() {
			return nil, net.ErrClosed
		}
		if p := b.push(m); p != nil {
			return p, nil
		}
		if !wait {
			return nil, socket.ErrWouldBlock
		}
		b.mu.Lock()
		if b.c.Closing() {
			b.mu.Unlock()
			return nil, net.ErrClosed
		}
		// Every full pipe is asked to say when it has room, which closes
		// room from then on; one that has room already sends this Send
		// round again.
		change, room := b.change, b.room
		full := b.askRoomLocked()
		b.mu.Unlock()
		if !full {
			continue
		}
		select {
		case <-room:
		case <-change:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-b.c.Done():
			return nil, net.ErrClosed
		}
	}
}

// askRoomLocked asks every pipe that has not left to call roomMade once it
// has room (peer.Queue.WantRoom), and reports whether they all are full,
// which is so when there is no pipe (a change ends that wait); false when
// one has room.
func (b *Balancer) askRoomLocked() bool {
	for _, p := range b.list.Load().pipes {
		if alive(p) && !p.Q.WantRoom() {
			return false
		}
	}
	return true
}

// sendNow hands m to the next live pipe in round robin, for a message that
// Recv returned with nothing waiting behind it (typically a reply). When
// that pipe is connected and its queue idle, m is written from the caller's
// goroutine (Pipe.WriteNow), saving the hand-off to the writer; otherwise it
// is queued there as usual. It returns the pipe that took m, or nil; then
// Send goes on to the other pipes.
func (b *Balancer) sendNow(m *wire.Msg) *Pipe {
	p := b.pick(nil)
	if p == nil {
		return nil
	}
	// The write is a system call, made under no lock of the Balancer's.
	// Should the connection end meanwhile, m is lost with it, as one the
	// writer had taken would be.
	if p.WriteNow(m) || p.Q.Push(m) == nil {
		return p
	}
	return nil
}

// push queues m on the first pipe with room from the round robin's turn
// on, and returns the pipe that took it, or nil. It takes no lock but that
// queue's.
func (b *Balancer) push(m *wire.Msg) *Pipe {
	ps := b.list.Load().pipes
	n := len(ps)
	if n == 0 {
		return nil
	}
	i := b.turn(n)
	for k := range n {
		p := ps[(i+k)%n]
		if alive(p) && p.Q.Push(m) == nil {
			if k > 0 {
				// Past the full pipes too, as a round robin that skips
				// them goes.
				b.next.Add(uint32(k))
			}
			return p
		}
	}
	return nil
}
