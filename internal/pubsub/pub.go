package pubsub

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/internal/msgmeta"
	"github.com/zrouter/zrouter/peer"
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
	only    *core.Pipe    // LastValue: the one subscriber a match may find

	opts PubOptions

	// rmu guards later, the messages a filter made beside one that Recv
	// returned, which the next Recvs return first.
	rmu   sync.Mutex
	later []*wire.Msg
	// last is, under LastValue, the subscriber whose subscription Recv
	// returned last, which the next Send goes to alone.
	last atomic.Pointer[core.Pipe]
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
	// LastValue sends, under Manual, the first message after Recv
	// returned a subscription only to its subscriber
	// (ZMQ_XPUB_MANUAL_LAST_VALUE).
	LastValue bool
	// OnlyFirst looks for subscriptions in a message of several frames
	// only when its first frame is one (ZMQ_ONLY_FIRST_SUBSCRIBE).
	OnlyFirst bool
	// MaxSubs and MaxSubBytes bound one subscriber's subscriptions (0:
	// no bound).
	MaxSubs     int
	MaxSubBytes int64
}

// subscriber is one pipe of a Pub.
type subscriber struct {
	p      *core.Pipe
	topics map[string]struct{} // in the trie; guarded by Pub.mu
	asked  map[string]struct{} // asked for, under Manual; guarded by Pub.mu
	// held is the bytes of the topics of topics, or of asked under
	// Manual, that the bound counts; guarded by Pub.mu.
	held   int64
	mark   uint64 // the Send that matched it last; guarded by Pub.smu
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
		spec.Receiver = b
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

		LastValue:   cfg.Manual && cfg.LastValue,
		OnlyFirst:   cfg.OnlyFirst,
		MaxSubs:     cfg.MaxSubs,
		MaxSubBytes: cfg.MaxSubBytes,
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
	s.held = 0
	b.mu.Unlock()
	// Behind what p sent before: an application never sees a cancel ahead
	// of the subscription it undoes. They wait beside the sources' bounds,
	// within one of their own: as many as one subscriber may hold.
	for _, m := range notes {
		if !p.Src.PushNotify(m, b.opts.MaxSubs) {
			b.c.CountDroppedCancel()
		}
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

// filter acts on what a subscriber sends, on its reader's goroutine, as
// libzmq 4.3's xpub does: a frame that is a subscription or a cancel
// changes the trie, and an XPUB's application gets it when it changed a
// prefix's first or last subscriber (or always, as Verbose, Verboser and
// Manual say); it gets every other message too, which a PUB drops.
func (b *Pub) filter(p *core.Pipe, m *wire.Msg) bool {
	switch len(m.Frames) {
	case 0:
		return false
	case 1:
		subscribe, topic, ok := ParseSubscription(m.Frames[0])
		if !ok {
			return b.xpub
		}
		return b.apply(p, subscribe, topic) && b.xpub
	}
	return b.filterParts(p, m)
}

// filterParts is filter for a message of several frames. Every frame with
// a subscription's form is one (unless OnlyFirst, and the first frame is
// not), and the application gets what libzmq's frames with their flags
// make: the data frames in order, each notice ending a message, so that
// [data, "\x01t"] is one message and ["\x01a", "\x01b"] two. Where libzmq
// would leave a message open (data before a subscription it does not pass
// on), it ends with the message the subscriber sent.
func (b *Pub) filterParts(p *core.Pipe, m *wire.Msg) bool {
	var groups [][][]byte
	var cur [][]byte
	process := true
	last := len(m.Frames) - 1
	for i, f := range m.Frames {
		var subscribe, ok bool
		var topic []byte
		if i == 0 || process {
			subscribe, topic, ok = ParseSubscription(f)
		}
		if i == 0 {
			process = !b.opts.OnlyFirst || ok
		}
		switch {
		case ok:
			if b.apply(p, subscribe, topic) && b.xpub {
				groups = append(groups, append(cur, f))
				cur = nil
			}
		case b.xpub:
			cur = append(cur, f)
		}
		if i == last && len(cur) > 0 {
			groups = append(groups, cur)
		}
	}
	if len(groups) == 0 {
		return false
	}
	// The first group stays in m, whose storage holds every frame; the
	// others get messages of their own.
	var then []*wire.Msg
	for _, g := range groups[1:] {
		then = append(then, wire.New(g...))
	}
	n := copy(m.Frames, groups[0])
	clear(m.Frames[n:])
	m.Frames = m.Frames[:n]
	if then != nil {
		msgmeta.Of(m).Then = then
	}
	return true
}

// apply acts on a subscription (or a cancel) of topic that p's subscriber
// sent, and reports whether an XPUB passes it on to its application.
func (b *Pub) apply(p *core.Pipe, subscribe bool, topic []byte) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.subs[p]
	if s == nil {
		return false
	}
	if b.opts.Manual {
		// Passed on, every one, for the application to act on.
		if !subscribe {
			if _, ok := s.asked[string(topic)]; ok {
				delete(s.asked, string(topic))
				s.held -= int64(len(topic))
			}
			return true
		}
		if _, ok := s.asked[string(topic)]; !ok {
			if !b.room(s, len(s.asked), topic) {
				return false
			}
			s.asked[string(topic)] = struct{}{}
			s.held += int64(len(topic))
		}
		return true
	}
	if !subscribe {
		found, last := b.trie.Remove(topic, s)
		if found {
			delete(s.topics, string(topic))
			s.held -= int64(len(topic))
		}
		// As libzmq: a cancel of what was not subscribed is passed on
		// too.
		return !found || last || b.opts.Verboser
	}
	if _, ok := s.topics[string(topic)]; !ok && !b.room(s, len(s.topics), topic) {
		return false
	}
	first, added := b.trie.Add(topic, s)
	if added {
		s.topics[string(topic)] = struct{}{}
		s.held += int64(len(topic))
	}
	return first || b.opts.Verbose
}

// room reports whether s, which holds n topics, may subscribe to one
// more, topic; it counts a refusal. b.mu is held.
func (b *Pub) room(s *subscriber, n int, topic []byte) bool {
	if max := b.opts.MaxSubs; max > 0 && n >= max ||
		b.opts.MaxSubBytes > 0 && s.held+int64(len(topic)) > b.opts.MaxSubBytes {
		b.c.CountRefusedSubscription()
		return false
	}
	return true
}

// Recv implements core.Receiver for an XPUB: the inbox's messages, each
// followed by those its filter made beside it; under LastValue it notes
// the subscriber of each subscription it returns.
func (b *Pub) Recv(ctx context.Context) (*wire.Msg, error) {
	if m := b.takeLater(); m != nil {
		return m, nil
	}
	m, err := b.c.Inbox.Recv(ctx)
	if err != nil {
		return nil, err
	}
	return b.received(m), nil
}

// TryRecv implements core.Receiver for an XPUB.
func (b *Pub) TryRecv() (*wire.Msg, error) {
	if m := b.takeLater(); m != nil {
		return m, nil
	}
	m, err := b.c.TryRecvInbox()
	if err != nil {
		return nil, err
	}
	return b.received(m), nil
}

// takeLater returns the next message made beside one returned, or nil.
func (b *Pub) takeLater() *wire.Msg {
	b.rmu.Lock()
	if len(b.later) == 0 {
		b.rmu.Unlock()
		return nil
	}
	m := b.later[0]
	b.later[0] = nil
	b.later = b.later[1:]
	if len(b.later) == 0 {
		b.later = nil
	}
	b.rmu.Unlock()
	b.noteLast(m)
	return m
}

// received readies m, from the inbox, to be returned: the messages made
// beside it wait for the next Recvs.
func (b *Pub) received(m *wire.Msg) *wire.Msg {
	md := msgmeta.Of(m)
	if then, ok := md.Then.([]*wire.Msg); ok {
		md.Then = nil
		for _, t := range then {
			msgmeta.Of(t).Origin = md.Origin
		}
		b.rmu.Lock()
		b.later = append(b.later, then...)
		b.rmu.Unlock()
	}
	b.noteLast(m)
	return m
}

// noteLast remembers, under LastValue, the subscriber of a subscription
// or a cancel that Recv returns: nil for one that left (its cancels).
func (b *Pub) noteLast(m *wire.Msg) {
	if !b.opts.LastValue || len(m.Frames) == 0 {
		return
	}
	if _, _, ok := ParseSubscription(m.Frames[len(m.Frames)-1]); !ok {
		return
	}
	p, _ := msgmeta.Of(m).Origin.(*core.Pipe)
	if p != nil {
		b.mu.RLock()
		if b.subs[p] == nil || !p.Connected() {
			p = nil
		}
		b.mu.RUnlock()
	}
	b.last.Store(p)
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
	// The application's own choice: not bound.
	if subscribe {
		if _, added := b.trie.Add(topic, s); added {
			s.topics[string(topic)] = struct{}{}
		}
	} else if found, _ := b.trie.Remove(topic, s); found {
		delete(s.topics, string(topic))
	}
	return true
}

// Matched implements Matcher, for Send under smu: each subscriber once;
// only the one of only, when that is set.
func (b *Pub) Matched(s *subscriber) {
	if b.only != nil && s.p != b.only {
		return
	}
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
		n, err := s.p.Q.OfferAll(s.batch)
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
	b.only = nil
	if b.opts.LastValue {
		b.only = b.last.Swap(nil)
	}
	b.mu.RLock()
	b.trie.MatchTo(topic, b)
	b.only = nil
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

// deliver queues m on every subscriber of b.out, and clears it. When
// every one of them refused m, their queues full, the publisher outruns
// all it sends to, and it gives way (peer.Outrun) to what empties them:
// on a machine it shares with its subscribers, or with the forwarder
// between them, each message it makes and drops would otherwise take CPU
// from those that move the messages it does deliver. A message that any
// subscriber took, or that matched none, costs no yield.
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
		if !offer(out[0].p.Q, m) {
			m.Release()
			giveWay()
		}
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
	if refused == len(out) {
		giveWay()
	}
}

// push queues m for s, or drops it: counted when the queue is full.
func push(s *subscriber, m *wire.Msg) { pushTo(s.p.Q, m) }

// giveWay is what deliver does when no subscriber took a message; a
// test counts it.
var giveWay = peer.Outrun

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
