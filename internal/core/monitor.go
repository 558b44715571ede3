package core

import (
	"sync"
	"sync/atomic"

	"github.com/zrouter/zrouter/socket"
)

// monitors are the socket's event sinks. Emitting costs one atomic load
// while there is none.
type monitors struct {
	n      atomic.Int32
	mu     sync.Mutex
	sinks  map[any]sink
	closed bool
}

type sink struct {
	emit func(socket.Event) bool
	stop func()
}

// AddMonitor adds a sink; after Close it stops the sink at once.
func (s *Socket) AddMonitor(key any, emit func(socket.Event) bool, stop func()) {
	m := &s.mon
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		stop()
		return
	}
	if m.sinks == nil {
		m.sinks = make(map[any]sink)
	}
	m.sinks[key] = sink{emit: emit, stop: stop}
	m.n.Store(int32(len(m.sinks)))
	m.mu.Unlock()
}

// RemoveMonitor removes the sink added with key.
func (s *Socket) RemoveMonitor(key any) {
	m := &s.mon
	m.mu.Lock()
	delete(m.sinks, key)
	m.n.Store(int32(len(m.sinks)))
	m.mu.Unlock()
}

// emit sends evs, in order, to every monitor, counting those without
// room. Events given in one call reach every monitor together: no event
// another goroutine emits comes between them.
func (s *Socket) emit(evs ...socket.Event) {
	m := &s.mon
	if m.n.Load() == 0 {
		return
	}
	m.mu.Lock()
	for _, k := range m.sinks {
		for _, ev := range evs {
			if !k.emit(ev) {
				s.counters.eventsDropped.Add(1)
			}
		}
	}
	m.mu.Unlock()
}

// stopMonitors stops every monitor; later ones stop as they are added.
func (s *Socket) stopMonitors() {
	m := &s.mon
	m.mu.Lock()
	m.closed = true
	stops := make([]func(), 0, len(m.sinks))
	for _, k := range m.sinks {
		stops = append(stops, k.stop)
	}
	m.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
}
