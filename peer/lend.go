package peer

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/zrouter/zrouter/internal/msgmeta"
	"github.com/zrouter/zrouter/wire"
)

// A connection's reading is lent to the receiver that waits for it.
//
// A message that a reader goroutine hands to a receiver parked in Recv
// costs a wake-up: the runtime readies the receiver and, with a P idle,
// wakes a thread to look for work, which spins and sleeps again. In a
// request-reply exchange that is every message, on both sides. So a
// reader whose next frame needs the network, when its inbox has no other
// peer and a receiver waits, lends the reading instead: the receiver reads
// the connection itself, from the reader's buffer and state, and the
// network poll wakes it straight away, as libzmq's application thread is
// woken by its mailbox once per message, not once per hand-off.
//
// The receiver decodes only frames that are buffered whole (it never waits
// for the rest of one, so a peer that stalls mid-frame cannot hold it), and
// it hands the reading back, to the reader goroutine, at a large frame, at
// a read that comes back full (traffic is heavy, and the reader batches),
// or when the connection fails. A TryRecv decodes what is buffered whole
// and reads nothing; it does not count as a use of the reading, so a
// receiver that only polls gets the reader back at its next tick. Anything else pushed into the inbox, or the
// receiver's context ending, interrupts its read with a deadline in the
// past; bytes already read stay in the buffer. The reader goroutine,
// parked meanwhile, takes the reading back when a receiver left it unused
// for a tick (the application is busy elsewhere, and PINGs must still be
// answered) or has been waiting in one read for lendStale ticks (the
// connection is idle: the reader waits for it as cheaply).

// lendTick is how often the parked reader looks at a lent reading; a
// variable for tests.
var lendTick = 10 * time.Millisecond

// lendStale is how many ticks one borrowed read may wait for the network
// before the reader takes the reading back.
const lendStale = 5

// The states of a lent reading.
const (
	lendNone    = iota // the reader goroutine holds the reading
	lendIdle           // lent: a receiver may take it up
	lendReading        // a receiver reads with it
)

// lendState is where a peer's reading is; it is guarded by the lock of
// the peer's inbox.
type lendState struct {
	state int
	// seq counts the receivers that took the reading up to read the
	// network (Recv) since it was lent.
	seq uint64
	// interrupted is set while the borrowed connection has a read
	// deadline in the past; reclaim asks the borrower to hand back.
	interrupted bool
	reclaim     bool
}

// aLongTimeAgo is the read deadline that interrupts a borrowed read.
var aLongTimeAgo = time.Unix(1, 0)

// lendOut lends the reading to the inbox when a receiver waits and no other
// peer feeds it, and reports whether it did. The reader then waits in
// waitLent. A receiver that waits and has nothing else to take is woken to
// take it up.
func (p *Peer) lendOut() bool {
	s := p.src
	if s == nil {
		return false
	}
	in := s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.waiters == 0 || in.lender != nil || in.peers != 1 || in.closed || in.notifies > 0 ||
		s.ended || s.held || s.dropping || s.conflate {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
	}
	p.lend = lendState{state: lendIdle}
	in.lender = p
	if in.head == len(in.ready) && in.chead.Load() == in.ctail.Load() {
		in.wakeOne()
	}
	return true
}

// waitLent parks the reader goroutine while its reading is lent, and
// returns once it holds it again. It reports true when the reader took it
// back for want of use: it is not lent again before the reader has read a
// message itself, so that an idle connection costs no ticks.
func (p *Peer) waitLent() bool {
	t := time.NewTimer(lendTick)
	defer t.Stop()
	var seq uint64
	stale := 0
	for {
		var r reclaimed
		select {
		case <-p.baton:
			return false
		case <-p.done:
			r = p.reclaim(true, &seq, &stale)
		case <-t.C:
			r = p.reclaim(false, &seq, &stale)
		}
		switch r {
		case reclaimAsked:
			<-p.baton
			fallthrough
		case reclaimTaken:
			return true
		}
		t.Reset(lendTick)
	}
}

// reclaimed is what reclaim did.
type reclaimed int

const (
	reclaimNot   reclaimed = iota // the reading stays lent
	reclaimTaken                  // the reader holds the reading
	reclaimAsked                  // the borrower hands it back through p.baton
)

// reclaim takes the reading back for the reader goroutine: at once (force),
// or when no receiver took it up since the tick before (seq), or when one
// borrowed read has waited for lendStale ticks (stale).
func (p *Peer) reclaim(force bool, seq *uint64, stale *int) reclaimed {
	in := p.src.in
	in.mu.Lock()
	defer in.mu.Unlock()
	l := &p.lend
	same := l.seq == *seq
	*seq = l.seq
	switch l.state {
	case lendNone:
		// Handed back: its signal waits in p.baton.
		<-p.baton
		return reclaimTaken
	case lendIdle:
		if force || same {
			p.lend = lendState{}
			in.lender = nil
			return reclaimTaken
		}
		return reclaimNot
	}
	if *stale++; !same {
		*stale = 0
	}
	if force || *stale >= lendStale {
		l.reclaim = true
		p.interruptLocked()
		return reclaimAsked
	}
	return reclaimNot
}

// interruptLocked makes a borrowed read return at once, with bytes or with
// a deadline error. The caller holds the inbox lock.
func (p *Peer) interruptLocked() {
	if p.lend.state != lendReading || p.lend.interrupted {
		return
	}
	p.lend.interrupted = true
	_ = p.conn.SetReadDeadline(aLongTimeAgo)
}

// settleLocked clears an interruption of a borrowed read that is over, so
// that the next read of the connection does not meet its deadline. The
// caller holds the inbox lock.
func (p *Peer) settleLocked() {
	if p.lend.interrupted {
		_ = p.conn.SetReadDeadline(time.Time{})
		p.lend.interrupted = false
	}
}

// handBackLocked gives the reading back to the reader goroutine. The caller
// holds the inbox lock.
func (p *Peer) handBackLocked() {
	p.settleLocked()
	p.lend = lendState{}
	p.src.in.lender = nil
	p.baton <- struct{}{}
}

// leaveLocked ends a receiver's turn with the reading, which stays lent:
// another receiver that waits may take it up. The caller holds the inbox
// lock.
func (p *Peer) leaveLocked() {
	if p.lend.reclaim {
		p.handBackLocked()
		return
	}
	p.settleLocked()
	p.lend.state = lendIdle
	if in := p.src.in; in.waiters > 0 {
		in.wakeOne()
	}
}

// borrow reads the connection for a receiver that took the reading up
// (lendReading), and returns the next message, or nil when the receiver
// has to look at the inbox again: something else arrived there, ctx ended,
// or the reading went back to the reader goroutine. Without wait (TryRecv)
// it decodes only what is buffered whole, and reads nothing.
func (p *Peer) borrow(ctx context.Context, wait bool) *wire.Msg {
	in := p.src.in
	rs := &p.rs
	var stop func() bool
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	full := false // a read came back full: hand back after this message
	for {
		for rs.rd.Whole() {
			m, size, err := p.next(rs)
			if err != nil {
				p.fail(err, false)
				in.mu.Lock()
				p.handBackLocked()
				in.mu.Unlock()
				return nil
			}
			if m == nil {
				continue
			}
			m, held := p.deliver(m, size, full)
			if m != nil || !held {
				return m
			}
		}
		if !wait || full {
			in.mu.Lock()
			if full {
				p.handBackLocked()
			} else {
				p.leaveLocked()
			}
			in.mu.Unlock()
			return nil
		}
		if stop == nil && ctx.Done() != nil {
			stop = context.AfterFunc(ctx, func() {
				in.mu.Lock()
				if in.lender == p {
					p.interruptLocked()
				}
				in.mu.Unlock()
			})
		}
		ok, err := rs.rd.ReadSome()
		in.mu.Lock()
		intr := p.lend.interrupted
		p.settleLocked()
		switch {
		case !ok:
			p.handBackLocked() // a large frame: the reader's to read
		case err != nil && intr && errors.Is(err, os.ErrDeadlineExceeded):
			p.leaveLocked()
		case err != nil:
			in.mu.Unlock()
			p.fail(err, false)
			in.mu.Lock()
			p.handBackLocked()
		case intr || p.lend.reclaim:
			p.leaveLocked()
		default:
			in.mu.Unlock()
			p.lastRecv.Store(time.Now().UnixNano())
			full = !rs.rd.Drained()
			continue
		}
		in.mu.Unlock()
		return nil
	}
}

// deliver gives m, of size frame bytes, to the borrowing receiver as the
// inbox would have, and ends the receiver's turn with the reading: handed
// back when full is set or it was asked for, kept lent otherwise. When m
// cannot go to the receiver first (others wait in the inbox, or the source
// is held) it is queued there in turn, and deliver returns nil; it also
// returns nil for a message that the source's filter or end dropped, with
// held set when the receiver still holds the reading.
func (p *Peer) deliver(m *wire.Msg, size uint64, full bool) (_ *wire.Msg, held bool) {
	s := p.src
	in := s.in
	s.bytes.Add(size)
	if s.filter != nil && !s.keep(m) {
		m.Release()
		s.received.Add(1)
		return nil, true
	}
	s.received.Add(1)
	in.mu.Lock()
	defer in.mu.Unlock()
	switch {
	case in.closed || s.ended:
		m.Release()
		p.leaveLocked()
		return nil, false
	case s.held || in.head != len(in.ready) || in.chead.Load() != in.ctail.Load():
		one := [1]*wire.Msg{m}
		s.appendLocked(one[:])
		p.leaveLocked()
		return nil, false
	}
	if s.origin != nil {
		msgmeta.Of(m).Origin = s.origin
	}
	msgmeta.Of(m).Drained = p.rs.rd.Buffered() == 0
	if full {
		p.handBackLocked()
	} else {
		p.leaveLocked()
	}
	return m, false
}
