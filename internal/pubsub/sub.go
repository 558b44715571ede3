package pubsub

import (
	"context"
	"net"
	"strings"
	"sync"

	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/internal/msgmeta"
	"github.com/zrouter/zrouter/peer"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// Sub is the routing of SUB and XSUB: it keeps the subscriptions, sends
// each change to every connection up and the whole set to every new one
// (so a reconnect finds them again), and a SUB keeps, of what it
// receives, only the messages whose first frame starts with one of them.
// An XSUB keeps everything, and its Send takes subscriptions in their
// message form and other messages, which go to every connection up.
//
// A subscription or a cancel that a full queue cannot take is dropped and
// counted, as libzmq drops it at SNDHWM; the set a new connection gets
// goes whole, whatever the high-water mark.
//
// Its methods are safe for concurrent use.
type Sub struct {
	c    *core.Socket
	xsub bool

	// mu guards live; it is held while subscriptions are queued, so that
	// every connection gets them in one order.
	mu   sync.Mutex
	live map[*core.Pipe]bool // connections up: whether they take commands

	// fmu guards filter, which mu's holders change and readers match.
	fmu    sync.RWMutex
	filter Filter

	invert, conflate, onlyFirst bool
}

// NewSub returns the routing of a SUB (xsub false) or an XSUB, for a core
// made with its Spec: call Attach with that core.
func NewSub(xsub bool) *Sub {
	return &Sub{xsub: xsub, live: make(map[*core.Pipe]bool)}
}

// Spec returns the core's description of the socket type.
func (b *Sub) Spec() core.Spec {
	if b.xsub {
		return core.Spec{Type: zmtp.XSUB, Sender: b}
	}
	return core.Spec{Type: zmtp.SUB, Filter: b.keep, FilterLock: b.fmu.RLocker()}
}

// Attach ties b to its core and takes its settings from the core's
// config: ZMQ_INVERT_MATCHING, with which a SUB keeps the messages that
// match none of its subscriptions, and ZMQ_CONFLATE. It must come before
// any Bind or Connect.
func (b *Sub) Attach(c *core.Socket) {
	b.invert, b.conflate, b.onlyFirst = c.Config().Invert, c.Config().Conflate, c.Config().OnlyFirst
	b.c = c
	c.SetRouting(b, 0)
}

// AddPipe implements core.Routing.
func (b *Sub) AddPipe(p *core.Pipe) error {
	if b.conflate {
		p.Src.SetConflate()
	}
	return nil
}

// Up implements core.Routing: the connection's queue starts with every
// subscription, in the form its peer's ZMTP version takes, in place of
// whatever an earlier connection left there.
func (b *Sub) Up(p *core.Pipe, sess *zmtp.Session) error {
	cmd := sess.Greeting.Major == 3 && sess.Greeting.Minor >= 1 && !strings.HasPrefix(p.Endpoint, "inproc://")
	b.mu.Lock()
	defer b.mu.Unlock()
	var ms []*wire.Msg
	b.fmu.RLock()
	b.filter.Walk(func(t []byte) { ms = append(ms, subMsg(cmd, true, t)) })
	b.fmu.RUnlock()
	if !p.Q.Replace(ms) {
		wire.ReleaseAll(ms)
		return core.Refusal("pipe closed")
	}
	b.live[p] = cmd
	return nil
}

// Down implements core.Routing.
func (b *Sub) Down(p *core.Pipe) { b.forget(p) }

// RemovePipe implements core.Routing.
func (b *Sub) RemovePipe(p *core.Pipe) { b.forget(p) }

// Close implements core.Routing.
func (b *Sub) Close() {}

func (b *Sub) forget(p *core.Pipe) {
	b.mu.Lock()
	delete(b.live, p)
	b.mu.Unlock()
}

// subMsg returns a subscription (or a cancel) to topic as a command, or in
// the message form.
func subMsg(cmd, subscribe bool, topic []byte) *wire.Msg {
	if !cmd {
		return note(subscribe, topic)
	}
	name := zmtp.CmdCancel
	if subscribe {
		name = zmtp.CmdSubscribe
	}
	m := wire.Get()
	f := m.NewFrame(1 + len(name) + len(topic))
	f[0] = byte(len(name))
	copy(f[1:], name)
	copy(f[1+len(name):], topic)
	msgmeta.Of(m).Command = true
	return m
}

// Subscribe adds a subscription to topic and sends it to every connection
// up: each one counts, as in libzmq, and as many Unsubscribe undo it.
func (b *Sub) Subscribe(topic []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fmu.Lock()
	b.filter.Add(topic)
	b.fmu.Unlock()
	b.sendAll(true, topic)
}

// Unsubscribe undoes one Subscribe to topic; the cancel goes out when it
// was the last. A topic not subscribed to is ignored.
func (b *Sub) Unsubscribe(topic []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fmu.Lock()
	_, last := b.filter.Remove(topic)
	b.fmu.Unlock()
	if last {
		b.sendAll(false, topic)
	}
}

// sendAll queues a subscription or a cancel for every connection up; b.mu
// is held.
func (b *Sub) sendAll(subscribe bool, topic []byte) {
	for p, cmd := range b.live {
		pushTo(p.Q, subMsg(cmd, subscribe, topic))
	}
}

// keep is a SUB's filter of what it receives. The reader holds fmu's read
// lock around its calls (Spec.FilterLock).
func (b *Sub) keep(_ *core.Pipe, m *wire.Msg) bool {
	if len(m.Frames) == 0 {
		return false
	}
	return b.filter.Has(m.Frames[0]) != b.invert
}

// Send implements core.Sender for an XSUB: a message of one frame that is
// a subscription or a cancel is Subscribe or Unsubscribe; a message of
// several frames is read for subscriptions as libzmq reads it
// (sendParts); every other goes to every connection up, dropped (and
// counted) where the queue is full. It never waits.
func (b *Sub) Send(_ context.Context, m *wire.Msg, _ bool) error {
	if b.c.Closing() {
		return net.ErrClosed
	}
	if len(m.Frames) == 0 {
		b.c.CountEmpty()
		m.Release()
		return nil
	}
	if len(m.Frames) > 1 {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.sendParts(m) {
			b.sendLocked(m)
		}
		return nil
	}
	if subscribe, topic, ok := ParseSubscription(m.Frames[0]); ok {
		if subscribe {
			b.Subscribe(topic)
		} else {
			b.Unsubscribe(topic)
		}
		m.Release()
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sendLocked(m)
	return nil
}

// sendParts acts on the subscriptions in a message of several frames as
// libzmq 4.3's xsub does: every frame with a subscription's form is one
// (with OnlyFirst, only when the first frame is one), and it stays in the
// message, which goes to the publishers as it is; a cancel that does not
// take a topic's last subscription is left out. It reports false, m
// released, when no frame is left. b.mu is held.
func (b *Sub) sendParts(m *wire.Msg) bool {
	process := !b.onlyFirst
	k := 0
	for i, f := range m.Frames {
		keep := true
		if i == 0 || process {
			if subscribe, topic, ok := ParseSubscription(f); ok {
				process = true
				b.fmu.Lock()
				if subscribe {
					b.filter.Add(topic)
				} else {
					_, keep = b.filter.Remove(topic)
				}
				b.fmu.Unlock()
			}
		}
		if keep {
			m.Frames[k] = f
			k++
		}
	}
	clear(m.Frames[k:])
	m.Frames = m.Frames[:k]
	if k == 0 {
		m.Release()
		return false
	}
	return true
}

// sendLocked sends m to every connection up, dropped (and counted) where
// the queue is full. b.mu is held.
func (b *Sub) sendLocked(m *wire.Msg) {
	n := len(b.live)
	if n == 0 {
		m.Release()
		return
	}
	if n == 1 {
		for p := range b.live {
			pushTo(p.Q, m)
		}
		return
	}
	// Copies for the inproc connections first, then one message that
	// every other queue holds: once it is shared it may be gone at any
	// time.
	shared := 0
	for p := range b.live {
		if isInproc(p) {
			pushTo(p.Q, m.Clone())
		} else {
			shared++
		}
	}
	if shared == 0 {
		m.Release()
		return
	}
	m.Share(shared)
	for p := range b.live {
		if !isInproc(p) {
			pushTo(p.Q, m)
		}
	}
}

// isInproc reports whether p is an inproc connection, whose receiver may
// change what it gets and so needs a copy of its own.
func isInproc(p *core.Pipe) bool { return strings.HasPrefix(p.Endpoint, "inproc://") }

// pushTo queues m on q, or drops it: counted when q is full.
func pushTo(q *peer.Queue, m *wire.Msg) {
	if !offer(q, m) {
		m.Release()
	}
}

// offer queues m on q and reports whether q took it; a full q counts the
// drop. The caller keeps m when q did not take it. A queue that has just
// filled lets its writer run first (peer.Queue.Offer).
func offer(q *peer.Queue, m *wire.Msg) bool {
	err := q.Offer(m)
	if err == nil {
		return true
	}
	if err != net.ErrClosed {
		q.Drop()
	}
	return false
}

// Subscriptions returns the number of distinct topics subscribed to.
func (b *Sub) Subscriptions() int {
	b.fmu.RLock()
	defer b.fmu.RUnlock()
	return b.filter.Len()
}
