package core

import (
	"net"
	"sync"
	"time"
)

// logEvery is how often a line about one remote host and cause may be
// logged; the lines in between are counted and the count goes with the
// next line that is let through.
const logEvery = 10 * time.Second

// maxLogKeys bounds the hosts and causes a logLimiter remembers. Beyond it
// the newcomers share one key per cause, whatever their host: a flood from
// many addresses still logs a line per interval, not a line per address.
const maxLogKeys = 1024

// logLimiter rate-limits log lines that a remote peer can cause at will
// (failed handshakes, refused peers), so that a flood of garbage
// connections cannot turn into a flood of log lines. It has no goroutine:
// the caller asks it, at the moment it would log, whether to.
//
// All methods are safe for concurrent use.
type logLimiter struct {
	mu    sync.Mutex
	every time.Duration
	max   int
	keys  map[logKey]*logEntry
}

type logKey struct{ host, cause string }

type logEntry struct {
	next       time.Time // no line before this
	suppressed uint64    // lines held back since the latest one let through
}

func newLogLimiter(every time.Duration, max int) *logLimiter {
	return &logLimiter{every: every, max: max, keys: make(map[logKey]*logEntry)}
}

// allow reports whether a line about host and cause may be logged at now,
// and how many lines about them it held back since the latest one it let
// through (or since it forgot them).
func (l *logLimiter) allow(host, cause string, now time.Time) (bool, uint64) {
	k := logKey{host, cause}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.keys[k]
	if e == nil {
		if len(l.keys) >= l.max {
			l.prune(now)
		}
		if len(l.keys) >= l.max {
			k.host = "*"
			e = l.keys[k]
		}
		if e == nil {
			e = &logEntry{}
			l.keys[k] = e
		}
	}
	if now.Before(e.next) {
		e.suppressed++
		return false, 0
	}
	n := e.suppressed
	e.next, e.suppressed = now.Add(l.every), 0
	return true, n
}

// prune forgets the keys whose interval has passed with nothing held back.
func (l *logLimiter) prune(now time.Time) {
	for k, e := range l.keys {
		if !now.Before(e.next) && e.suppressed == 0 {
			delete(l.keys, k)
		}
	}
	if len(l.keys) < l.max {
		return
	}
	// Still full: forget the ones whose interval has passed even with
	// lines held back; their count is lost to the log, not to Stats.
	for k, e := range l.keys {
		if !now.Before(e.next) && k.host != "*" {
			delete(l.keys, k)
		}
	}
}

// hostOf returns the host of a remote address, without its port: a peer
// that reconnects comes from a new port each time.
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
