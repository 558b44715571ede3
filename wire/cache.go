package wire

import (
	"sync"
	"sync/atomic"
)

// Messages released in bulk go to a shared free list, and a Cache takes
// them back in batches: a reader that makes messages on one core and a
// writer that releases them on another then meet once per batch, not once
// per message as they would in a sync.Pool.
const (
	maxFree    = 1 << 14 // empty messages the free list keeps at most
	cacheBatch = 64      // messages a Cache takes at once
)

var free struct {
	mu   sync.Mutex
	msgs []*Msg
	// n is len(msgs), written under mu and read without it: a Cache
	// that finds the list empty goes to the pool without taking mu, so
	// that many readers whose messages go back by Release (to the pool)
	// do not queue on mu for nothing.
	n atomic.Int64
}

// ReleaseAll releases every message in ms, as Release does, taking one lock
// for all of them, and clears ms. A shared message (Msg.Share) counts as
// one holder's release, and goes back only with its last holder's.
func ReleaseAll(ms []*Msg) {
	all := ms
	k := 0 // ms[:k] go back to the free list
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
	ms = all[:k]
	if k == 0 {
		clear(all)
		return
	}
	free.mu.Lock()
	n := min(len(ms), maxFree-len(free.msgs))
	free.msgs = append(free.msgs, ms[:n]...)
	free.n.Store(int64(len(free.msgs)))
	free.mu.Unlock()
	for _, m := range ms[n:] {
		msgPool.Put(m)
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
		free.mu.Lock()
		k := min(cacheBatch, len(free.msgs))
		c.msgs = append(c.msgs, free.msgs[len(free.msgs)-k:]...)
		clear(free.msgs[len(free.msgs)-k:])
		free.msgs = free.msgs[:len(free.msgs)-k]
		free.n.Store(int64(len(free.msgs)))
		free.mu.Unlock()
		if k == 0 {
			return Get()
		}
	}
	m := c.msgs[len(c.msgs)-1]
	c.msgs[len(c.msgs)-1] = nil
	c.msgs = c.msgs[:len(c.msgs)-1]
	m.released = false
	return m
}

// Flush gives the cached messages back to the free list.
func (c *Cache) Flush() {
	if len(c.msgs) == 0 {
		return
	}
	free.mu.Lock()
	n := min(len(c.msgs), maxFree-len(free.msgs))
	free.msgs = append(free.msgs, c.msgs[:n]...)
	free.n.Store(int64(len(free.msgs)))
	free.mu.Unlock()
	for _, m := range c.msgs[n:] {
		msgPool.Put(m)
	}
	clear(c.msgs)
	c.msgs = c.msgs[:0]
}

// Len returns the number of messages cached.
func (c *Cache) Len() int { return len(c.msgs) }
