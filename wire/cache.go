package wire

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Empty messages are recycled in three tiers, so that a message made on one
// core and released on another costs no shared-memory handoff of its own:
//
//   - a magazine per processor: Get and Release take and put one message
//     there, through sync.Pool's per-processor slot, which costs no atomic
//     operation when the slot is there;
//   - the depot, one shared list under a lock, which magazines fill and
//     drain by half a magazine at a time, ReleaseAll fills in bulk and a
//     Cache drains in bulk;
//   - the collector, for what the depot has no room for, and for what sat
//     in the depot unused through a whole collection cycle.
//
// A producer that makes messages on one goroutine and a consumer that
// releases them on another (a PULL's reader and its application, a PUSH's
// application and its writer) thus meet once per batch, not once per
// message as they would in a sync.Pool of messages.
//
// The depot is sized for the swings of what is in flight: the queues of
// many receivers fill and drain in turns (ten SUBs with a receive
// high-water mark of 10,000 hold up to 100,000 messages), and every
// message a drain puts back is one that the next fill would otherwise
// allocate again. What the depot keeps beyond what the swings use goes
// back at the next collection: at each one, the depot gives the collector
// as many messages as it never went below since the one before.
const (
	maxFree    = 1 << 17 // empty messages the depot keeps at most: 48 MiB of 384-byte messages
	cacheBatch = 64      // messages a Cache takes at once
	magSize    = 64      // messages a magazine holds
)

// magazine is one processor's stock of empty messages; whoever took it
// from mags owns it until it is put back.
type magazine struct {
	msgs [magSize]*Msg
	n    int
}

var mags = sync.Pool{New: func() any { return new(magazine) }}

var free struct {
	mu   sync.Mutex
	msgs []*Msg
	// n is len(msgs), for a look without the lock.
	n atomic.Int64
	// low is the fewest messages msgs held since the last trim: that
	// many sat unused all the while.
	low int
}

func init() { trimEachCycle() }

// gcTick is what trimEachCycle leaves for the collector to find; it holds a
// pointer so that it is an allocation of its own, never one that the
// runtime packs with others' small objects.
type gcTick struct{ _ *byte }

// trimEachCycle trims the depot at the end of the next collection cycle,
// and again after each one after that.
func trimEachCycle() {
	runtime.AddCleanup(new(gcTick), func(struct{}) {
		trimFree()
		trimEachCycle()
	}, struct{}{})
}

// trimFree gives the collector the messages that the depot held unused
// since the last trim: the oldest ones, as many as it never went below.
func trimFree() {
	free.mu.Lock()
	k := min(free.low, len(free.msgs))
	n := copy(free.msgs, free.msgs[k:])
	clear(free.msgs[n:])
	free.msgs = free.msgs[:n]
	free.n.Store(int64(n))
	free.low = n
	free.mu.Unlock()
}

// getMsg returns an empty message: from this processor's magazine,
// refilled from the depot when empty, or a new one.
func getMsg() *Msg {
	mg := mags.Get().(*magazine)
	if mg.n == 0 && free.n.Load() > 0 {
		mg.n = len(takeFree(mg.msgs[:0], magSize/2))
	}
	var m *Msg
	if mg.n > 0 {
		mg.n--
		m = mg.msgs[mg.n]
		mg.msgs[mg.n] = nil
	}
	mags.Put(mg)
	if m == nil {
		m = newMsg()
	}
	return m
}

// putMsg keeps the empty message m: in this processor's magazine, which
// gives half of itself to the depot when full.
func putMsg(m *Msg) {
	mg := mags.Get().(*magazine)
	if mg.n == magSize {
		half := mg.msgs[magSize/2:]
		putFree(half)
		clear(half)
		mg.n = magSize / 2
	}
	mg.msgs[mg.n] = m
	mg.n++
	mags.Put(mg)
}

// takeFree moves up to k messages from the depot to the end of dst and
// returns dst.
func takeFree(dst []*Msg, k int) []*Msg {
	free.mu.Lock()
	k = min(k, len(free.msgs))
	from := free.msgs[len(free.msgs)-k:]
	dst = append(dst, from...)
	clear(from)
	free.msgs = free.msgs[:len(free.msgs)-k]
	free.n.Store(int64(len(free.msgs)))
	free.low = min(free.low, len(free.msgs))
	free.mu.Unlock()
	return dst
}

// putFree moves ms to the depot, as many as it has room for; the collector
// takes the others. The caller clears ms.
func putFree(ms []*Msg) {
	free.mu.Lock()
	n := min(len(ms), maxFree-len(free.msgs))
	free.msgs = append(free.msgs, ms[:n]...)
	free.n.Store(int64(len(free.msgs)))
	free.mu.Unlock()
}

// ReleaseAll releases every message in ms, as Release does, taking one lock
// for all of them, and clears ms. A shared message (Msg.Share) counts as
// one holder's release, and goes back only with its last holder's.
func ReleaseAll(ms []*Msg) {
	all := ms
	k := 0 // ms[:k] go back to the depot
	for _, m := range all {
		if !m.unshare() {
			continue // another holder of a shared message has it still
		}
		if m.released {
			panic("wire: message released twice")
		}
		m.released = true
		m.reset()
		all[k] = m
		k++
	}
	if k > 0 {
		putFree(all[:k])
	}
	clear(all)
}

// Cache hands out empty messages to one goroutine, refilling itself from
// the messages released with ReleaseAll. It is not safe for concurrent use.
// Call Flush before the goroutine waits for long, so that idle goroutines
// hold no messages.
type Cache struct {
	msgs []*Msg
}

// Get returns an empty message, as the package-level Get does.
func (c *Cache) Get() *Msg {
	if len(c.msgs) == 0 {
		if free.n.Load() == 0 {
			return Get()
		}
		if c.msgs = takeFree(c.msgs, cacheBatch); len(c.msgs) == 0 {
			return Get()
		}
	}
	m := c.msgs[len(c.msgs)-1]
	c.msgs[len(c.msgs)-1] = nil
	c.msgs = c.msgs[:len(c.msgs)-1]
	m.released = false
	return m
}

// Flush gives the cached messages back to the depot.
func (c *Cache) Flush() {
	if len(c.msgs) == 0 {
		return
	}
	putFree(c.msgs)
	clear(c.msgs)
	c.msgs = c.msgs[:0]
}

// Len returns the number of messages cached.
func (c *Cache) Len() int { return len(c.msgs) }
