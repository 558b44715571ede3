package pubsub

import (
	"context"
	"net"
	"strings"
	"sync"

	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/internal/msgmeta"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// Pub is the routing of PUB and XPUB: every pipe is a subscriber with its
// own queue; Send queues a message on the queue of every subscriber whose
// subscription is a prefix of its first frame, and drops it, counted in
// that pipe's DroppedHWM, for a subscriber whose queue is full. Send never
// waits (unless NoDrop). The subscribers' queues hold one message
// (wire.Msg.Share); an inproc subscriber, whose application could change
// what it receives, gets a copy.
//
// Its methods are safe for concurrent use.
type Pub struct {
	c    *core.Socket
	xpub bool

	// mu guards trie and subs; it is never held while a queue is pushed.
	mu   sync.RWMutex
	trie Trie[*subscriber]
	subs map[*core.Pipe]*subscriber

	// smu makes one Send at a time: it guards gen, the marks, out,
	// touched and the subscribers' batches.
	smu     sync.Mutex
	gen     uint64
	out     []*subscriber
	touched []*subscriber // the subscribers with a batch, in a SendAll

	opts PubOptions
}

// PubOptions are the publisher's settings, from libzmq's XPUB options
// and INVERT_MATCHING, as the socket's config has them.
type PubOptions struct {
	// Verbose passes every subscription to the application, not only a
	// prefix's first (ZMQ_XPUB_VERBOSE).
	Verbose bool
	// Verboser also passes every cancel, not only a prefix's last
	// (ZMQ_XPUB_VERBOSER).
	Verboser bool
	// Manual leaves the trie to the application (ZMQ_XPUB_MANUAL).
	Manual bool
	// NoDrop makes Send wait, or TrySend fail, while a matching
	// subscriber's queue is full, instead of dropping (ZMQ_XPUB_NODROP).
	NoDrop bool
	// Welcome is sent to every subscriber as it connects
	// (ZMQ_XPUB_WELCOME_MSG); nil sends nothing.
	Welcome []byte
	// Invert sends each message to the subscribers it does not match
	// (ZMQ_INVERT_MATCHING).
	Invert bool
	// Conflate keeps one message, the newest, in each subscriber's queue
	// (ZMQ_CONFLATE).
	Conflate bool
}

// subscriber is one pipe of a Pub.
type subscriber struct {
	p      *core.Pipe
	topics map[string]struct{} // in the trie; guarded by Pub.mu
	asked  map[string]struct{} // asked for, under Manual; guarded by Pub.mu
	mark   uint64              // the Send that matched it last; guarded by Pub.smu
	inproc bool
	// batch is what a SendAll has for it so far; guarded by Pub.smu.
	batch []*wire.Msg
}

// NewPub returns the routing of a PUB (xpub false) or an XPUB, for a core
// made with its Spec: call Attach with that core.
func NewPub(xpub bool) *Pub {
	return &Pub{xpub: xpub, subs: make(map[*core.Pipe]*subscriber)}
}

// Spec returns the core's description of the socket type.
func (b *Pub) Spec() core.Spec {
	spec := core.Spec{Type: zmtp.PUB, Sender: b, Filter: b.filter, Subscriptions: true}
	if b.xpub {
		spec.Type = zmtp.XPUB
	} else {
		spec.Receiver = core.CannotRecv{}
	}
	return spec
}

// Attach ties b to its core and takes its settings from the core's
// config; it must come before any Bind or Connect.
func (b *Pub) Attach(c *core.Socket) {
	cfg := c.Config()
	b.opts = PubOptions{
		Verbose:  cfg.Verbose >= 1,
		Verboser: cfg.Verbose >= 2,
		Manual:   cfg.Manual,
		NoDrop:   cfg.NoDrop,
		Welcome:  cfg.Welcome,
		Invert:   cfg.Invert,
		Conflate: cfg.Conflate,
	}
	b.c = c
	c.SetRouting(b, 0)
}

// AddPipe implements core.Routing: every pipe is a subscriber, with no
// subscription yet.
func (b *Pub) AddPipe(p *core.Pipe) error {
	s := &subscriber{p: p, topics: make(map[string]struct{}), asked: make(map[string]struct{}),
		inproc: strings.HasPrefix(p.Endpoint, "inproc://")}
	if b.opts.Conflate {
		p.Q.SetConflate()
	}
	b.mu.Lock()
	b.subs[p] = s
	b.mu.Unlock()
	return nil
}

// Up implements core.Routing: a connection gets the welcome message first.
func (b *Pub) Up(p *core.Pipe, _ *zmtp.Session) error {
	if w := b.opts.Welcome; w != nil {
		m := wire.New(w)
		if p.Q.Push(m) != nil {
			m.Release()
		}
	}
	return nil
}

// Down implements core.Routing: the subscriptions of a connection end
// with it (a subscriber sends them again on its next), and an XPUB
// passes on the cancels that makes.
func (b *Pub) Down(p *core.Pipe) { b.forget(p, false) }

// RemovePipe implements core.Routing.
func (b *Pub) RemovePipe(p *core.Pipe) { b.forget(p, true) }

// Close implements core.Routing.
func (b *Pub) Close() {}

// forget cancels every subscription of p, passing on to an XPUB's
// application those that leave a prefix without subscribers (or all of
// them, when Verboser), and forgets p when remove is set.
func (b *Pub) forget(p *core.Pipe, remove bool) {
	b.mu.Lock()
	s := b.subs[p]
	if remove {
		delete(b.subs, p)
	}
	if s == nil {
		b.mu.Unlock()
		return
	}
	var notes []*wire.Msg
	for t := range s.topics {
		_, last := b.trie.Remove([]byte(t), s)
		if b.xpub && !b.opts.Manual && (last || b.opts.Verboser) {
			notes = append(notes, note(false, []byte(t)))
		}
	}
	if b.xpub && b.opts.Manual {
		// A cancel of everything it asked for, as libzmq's manual
		// subscriptions make them.
		for t := range s.asked {
			notes = append(notes, note(false, []byte(t)))
		}
	}
	clear(s.topics)
	clear(s.asked)
	b.mu.Unlock()
	// Behind what p sent before: an application never sees a cancel ahead
	// of the subscription it undoes. No bound of their own: there is one
	// for each subscription p made, which the trie held already.
	for _, m := range notes {
		p.Src.PushNotify(m, 0)
	}
}

// note returns the message form of a subscription (or cancel) to topic.
func note(subscribe bool, topic []byte) *wire.Msg {
	m := wire.Get()
	f := m.NewFrame(1 + len(topic))
	f[0] = 0
	if subscribe {
		f[0] = 1
	}
	copy(f[1:], topic)
	return m
}

// ParseSubscription reads the message form of a subscription: a frame
// whose first byte is 1 (subscribe) or 0 (cancel), then the topic. ok is
// false for any other frame.
func ParseSubscription(f []byte) (subscribe bool, topic []byte, ok bool) {
	if len(f) == 0 || f[0] > 1 {
		return false, nil, false
	}
	return f[0] == 1, f[1:], true
}

// filter acts on what a subscriber sends, on its reader's goroutine: a
// message whose first frame is a subscription or a cancel changes the
// trie; an XPUB's application gets it when it changed a prefix's first or
// last subscriber (or always, as Verbose and Verboser say), and every
// other message, which a PUB drops.
func (b *Pub) filter(p *core.Pipe, m *wire.Msg) bool {
	if len(m.Frames) == 0 {
		return false
	}
	subscribe, topic, ok := ParseSubscription(m.Frames[0])
	if !ok {
		return b.xpub
	}
	notify := false
	b.mu.Lock()
	if s := b.subs[p]; s != nil && b.opts.Manual {
		// Passed on, every one, for the application to act on.
		notify = true
		if subscribe {
			s.asked[string(topic)] = struct{}{}
		} else {
			delete(s.asked, string(topic))
		}
	} else if s != nil {
		if subscribe {
			first, added := b.trie.Add(topic, s)
			if added {
				s.topics[string(topic)] = struct{}{}
			}
			notify = first || b.opts.Verbose
		} else {
			found, last := b.trie.Remove(topic, s)
			if found {
				delete(s.topics, string(topic))
			}
			// As libzmq: a cancel of what was not subscribed is passed
			// on too.
			notify = !found || last || b.opts.Verboser
		}
	}
	b.mu.Unlock()
	return b.xpub && notify
}

// ManualSubscribe subscribes (or, with subscribe false, unsubscribes) the
// subscriber that from came from, a message Recv returned, to topic, for
// XPUB_MANUAL. It reports false when from came from no subscriber of
// this socket still connected.
func (b *Pub) ManualSubscribe(from *wire.Msg, topic []byte, subscribe bool) bool {
	p, ok := msgmeta.Of(from).Origin.(*core.Pipe)
	if !ok || p.Owner() != b.c {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.subs[p]
	if s == nil || !p.Connected() {
		return false
	}
	if subscribe {
		if _, added := b.trie.Add(topic, s); added {
			s.topics[string(topic)] = struct{}{}
		}
	} else if found, _ := b.trie.Remove(topic, s); found {
		delete(s.topics, string(topic))
	}
	return true
}

// Matched implements Matcher, for Send under smu: each subscriber once.
func (b *Pub) Matched(s *subscriber) {
	if s.mark != b.gen {
		s.mark = b.gen
		b.out = append(b.out, s)
	}
}

// Send implements core.Sender: m goes to every matching subscriber's
// queue, and is dropped for those whose queue is full (counted there). It
// never waits, unless NoDrop; it takes m in every case but an error.
func (b *Pub) Send(ctx context.Context, m *wire.Msg, wait bool) error {
	if b.c.Closing() {
		return net.ErrClosed
	}
	if len(m.Frames) == 0 {
		b.c.CountEmpty()
		m.Release()
		return nil
	}
	b.smu.Lock()
	defer b.smu.Unlock()
	b.match(m.Frames[0])
	if b.opts.NoDrop {
		if err := b.waitRoom(ctx, wait); err != nil {
			clear(b.out)
			b.out = b.out[:0]
			return err
		}
	}
	b.deliver(m)
	return nil
}

// SendAll sends the messages of ms in order, as Send would one at a
// time, and returns how many it took: all of them unless an error (the
// socket closed; or, under NoDrop, one of Send's), the caller keeping
// ms[n:]. Without NoDrop, each subscriber's queue takes its share of the
// messages under one lock, and is woken at most once.
func (b *Pub) SendAll(ctx context.Context, ms []*wire.Msg, wait bool) (int, error) {
	if b.opts.NoDrop {
		for i, m := range ms {
			if err := b.Send(ctx, m, wait); err != nil {
				return i, err
			}
		}
		return len(ms), nil
	}
	if b.c.Closing() {
		return 0, net.ErrClosed
	}
	b.smu.Lock()
	defer b.smu.Unlock()
	for _, m := range ms {
		if len(m.Frames) == 0 {
			b.c.CountEmpty()
			m.Release()
			continue
		}
		b.match(m.Frames[0])
		b.collect(m)
	}
	for _, s := range b.touched {
		n, err := s.p.Q.PushAll(s.batch)
		if rest := s.batch[n:]; len(rest) > 0 {
			if err != net.ErrClosed {
				for range rest {
					s.p.Q.Drop()
				}
			}
			wire.ReleaseAll(rest)
		}
		clear(s.batch)
		s.batch = s.batch[:0]
	}
	clear(b.touched)
	b.touched = b.touched[:0]
	return len(ms), nil
}

// collect adds m to the batch of every subscriber of b.out, as deliver
// queues it, and clears b.out.
func (b *Pub) collect(m *wire.Msg) {
	out := b.out
	defer func() {
		clear(b.out)
		b.out = b.out[:0]
	}()
	if len(out) == 0 {
		m.Release()
		return
	}
	add := func(s *subscriber, m *wire.Msg) {
		if len(s.batch) == 0 {
			b.touched = append(b.touched, s)
		}
		s.batch = append(s.batch, m)
	}
	shared := 0
	for _, s := range out {
		if s.inproc && len(out) > 1 {
			add(s, m.Clone())
		} else {
			shared++
		}
	}
	if shared == 0 {
		m.Release()
		return
	}
	if shared > 1 {
		m.Share(shared)
	}
	for _, s := range out {
		if !s.inproc || len(out) == 1 {
			add(s, m)
		}
	}
}

// match puts in b.out the subscribers a message with first frame topic
// goes to.
func (b *Pub) match(topic []byte) {
	b.gen++
	b.out = b.out[:0]
	b.mu.RLock()
	b.trie.MatchTo(topic, b)
	if b.opts.Invert {
		b.out = b.out[:0]
		for _, s := range b.subs {
			if s.mark != b.gen {
				b.out = append(b.out, s)
			}
		}
	}
	b.mu.RUnlock()
}

// deliver queues m on every subscriber of b.out, and clears it.
func (b *Pub) deliver(m *wire.Msg) {
	out := b.out
	defer func() {
		clear(b.out)
		b.out = b.out[:0]
	}()
	switch len(out) {
	case 0:
		m.Release()
		return
	case 1:
		push(out[0], m)
		return
	}
	// Copies for the inproc subscribers, before m is shared.
	shared := 0
	for _, s := range out {
		if s.inproc {
			push(s, m.Clone())
		} else {
			shared++
		}
	}
	if shared == 0 {
		m.Release()
		return
	}
	// One message for all the others: each queue holds the same one.
	// Send keeps a hold of its own while it pushes, and gives it back
	// with those of the queues that did not take m, in one step.
	m.Share(shared + 1)
	refused := 0
	for _, s := range out {
		if !s.inproc && !offer(s.p.Q, m) {
			refused++
		}
	}
	m.ReleaseN(refused + 1)
}

// push queues m for s, or drops it: counted when the queue is full.
func push(s *subscriber, m *wire.Msg) { pushTo(s.p.Q, m) }

// waitRoom waits, for NoDrop, until every subscriber of b.out has room,
// while wait is set and ctx allows; otherwise it returns
// socket.ErrWouldBlock.
func (b *Pub) waitRoom(ctx context.Context, wait bool) error {
	for _, s := range b.out {
		for s.p.Q.Full() {
			if !wait {
				return socket.ErrWouldBlock
			}
			wctx, cancel := b.c.WithClose(ctx)
			err := s.p.Q.WaitRoom(wctx, s.p.Gone())
			cancel()
			if b.c.Closing() {
				return net.ErrClosed
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err != nil {
				break // the subscriber left
			}
		}
	}
	return nil
}

// Subscribers calls fn for every prefix subscribed to, with its number of
// subscribers, in byte order.
func (b *Pub) Subscribers(fn func(prefix []byte, subscribers int)) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	b.trie.Walk(fn)
}
