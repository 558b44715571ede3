package peer

import (
	"context"
	"net"
	"sync"
	"sync/atomic"

	"github.com/zrouter/zrouter/internal/msgmeta"
	"github.com/zrouter/zrouter/wire"
)

// Inbox is a socket's inbound queue, fair-queued across its sources (one
// source per connection): Recv takes one message from the source at the
// front and moves that source to the back, so a chatty peer cannot starve
// the others.
//
// Each source holds at most its high-water mark of messages. A reader that
// pushes into a full source waits until the receivers have taken it down to
// half its bound, as libzmq's pipes let a writer go on, and stops reading
// its connection meanwhile, so TCP pushes back on the sender and nothing
// buffers without bound.
//
// All methods are safe for concurrent use.
type Inbox struct {
	// cache holds the messages a receiver took in one go, in fair order:
	// those of index chead up to ctail wait there, at index modulo
	// recvBatch. A receiver claims the one at chead by moving chead on
	// with a compare-and-swap, which costs one atomic operation per
	// message; only a refill, under mu and with the cache empty, writes
	// slots and moves ctail. A receiver that read a slot which a refill
	// then overwrote fails its compare-and-swap (chead has moved past it)
	// and reads again. Claimed slots keep their pointer until a refill
	// overwrites it or Close clears it.
	cache        [recvBatch]atomic.Pointer[wire.Msg]
	chead, ctail atomic.Uint64

	mu       sync.Mutex
	ready    []*Source // sources with messages, in turn order
	head     int       // index of the front of ready
	waiters  int
	closed   bool
	notifies int           // PushNotify's messages waiting
	notify   chan struct{} // capacity 1: wakes one Recv waiter
	done     chan struct{} // closed by Close
	peers    int           // connections that feed the sources (Peer.Run)
	lender   *Peer         // the peer whose reading is lent (lend.go), or nil
}

// NewInbox returns an empty inbox.
func NewInbox() *Inbox {
	return &Inbox{notify: make(chan struct{}, 1), done: make(chan struct{})}
}

// Source is one producer's share of an Inbox.
type Source struct {
	in       *Inbox
	origin   any
	hwm      int
	msgs     []*wire.Msg
	head     int
	queued   bool          // in in.ready
	space    chan struct{} // capacity 1: wakes the producer
	waiting  bool          // the producer waits for space
	held     bool          // Hold: no room until Release
	dropping bool          // SetDropping: Push drops what it is given
	ended    bool          // Discard: Push releases what it is given
	filter   func(*wire.Msg) bool
	filterMu sync.Locker // held around filter's calls on a batch, if set
	conflate bool        // SetConflate: Push keeps only the newest message

	received atomic.Uint64
	bytes    atomic.Uint64
	dropped  atomic.Uint64
}

// NewSource returns a source that holds at most hwm messages (0: no limit).
// Every message Recv returns from it carries origin in its msgmeta.Meta, so
// that the socket knows where a message it is given back came from.
func (in *Inbox) NewSource(hwm int, origin any) *Source {
	return &Source{in: in, hwm: hwm, origin: origin, space: make(chan struct{}, 1)}
}

func (s *Source) len() int { return len(s.msgs) - s.head }

// SetDropping makes Push drop every message it is given, counting it in
// Received and Dropped, without ever waiting: for a socket type that cannot
// receive (PUSH), whose connections must still be read so that commands
// such as PING get through. It is called before the first Push.
func (s *Source) SetDropping() { s.dropping = true }

// SetFilter makes Push give every message to keep first, before the
// source is set to work: a message keep rejects is released instead of
// queued (and counted received, not dropped). keep runs on the producer's
// goroutine, once per message, with no lock of the inbox held: a socket
// type acts on what it is sent there (subscriptions) or filters what it
// receives (topics). lock, when not nil, is held around keep's calls on
// each batch: a filter that reads shared state locks it once a batch, not
// once a message.
func (s *Source) SetFilter(keep func(*wire.Msg) bool, lock sync.Locker) {
	s.filter, s.filterMu = keep, lock
}

// SetConflate makes the source keep only the newest message it was given
// (ZMQ_CONFLATE): Push replaces what waits instead of waiting for room. It
// is set before the source is used.
func (s *Source) SetConflate() { s.conflate = true }

// Dropped returns the number of messages Push dropped (SetDropping).
func (s *Source) Dropped() uint64 { return s.dropped.Load() }

// Hold gives s no room until Release: a Push waits, and its connection's
// reader with it, so the peer's messages stay on its side, as libzmq
// leaves those of a PAIR's second peer. Messages already queued stay.
func (s *Source) Hold() {
	s.in.mu.Lock()
	s.held = true
	s.in.mu.Unlock()
}

// Release undoes Hold: a Push that waits goes on.
func (s *Source) Release() {
	in := s.in
	in.mu.Lock()
	s.held = false
	s.wakeLocked()
	in.mu.Unlock()
}

// Received returns the number of messages pushed into s.
func (s *Source) Received() uint64 { return s.received.Load() }

// Bytes returns the frame bytes that Push was told its messages hold.
func (s *Source) Bytes() uint64 { return s.bytes.Load() }

// SetHWM changes the source's bound to n (0: no limit). Messages already
// queued stay; a producer waiting for room goes on as soon as there is
// some under the new bound.
func (s *Source) SetHWM(n int) {
	in := s.in
	in.mu.Lock()
	s.hwm = n
	s.wakeLocked()
	in.mu.Unlock()
}

// wakeLocked wakes the producer when it waits and there is room.
func (s *Source) wakeLocked() {
	if s.waiting && !s.held && (s.hwm == 0 || s.len() < s.hwm) {
		s.wake()
	}
}

// drainedLocked wakes the producer, after a receiver took messages from
// s, when it waits and s has drained to its low-water mark: half its
// bound, as libzmq's pipes tell a writer of reads once per (hwm+1)/2
// messages. A producer woken whenever a receiver takes from a full source
// would wake once per refill of the receive cache, for the few messages
// that refill made room for, for as long as its peer outruns the
// application.
func (s *Source) drainedLocked() {
	if s.waiting && !s.held && (s.hwm == 0 || s.len() <= s.hwm/2) {
		s.wake()
	}
}

// wake wakes the waiting producer; the caller holds s.in.mu.
func (s *Source) wake() {
	s.waiting = false
	select {
	case s.space <- struct{}{}:
	default:
	}
}

// Discard drops the messages waiting in s, and every message pushed into
// it from then on, as zmq_disconnect drops what was received and not yet
// read: it is for a source whose pipe is ending. Messages a receiver has
// already taken from the fair queue in its batch are not affected.
func (s *Source) Discard() {
	in := s.in
	in.mu.Lock()
	s.ended = true
	for _, m := range s.msgs[s.head:] {
		in.unnotifyLocked(m)
	}
	release(s.msgs[s.head:])
	clear(s.msgs)
	s.msgs, s.head = s.msgs[:0], 0
	s.wakeLocked()
	in.mu.Unlock()
}

// PushNotify appends m, ahead of nothing the producer pushes after it and
// behind everything it pushed before, without regard to the source's
// bound: it is for the few messages the socket makes itself
// (ROUTER_NOTIFY). Those messages have a bound of their own across the
// inbox, max (0: none), as if they came from one more source: with max of
// them waiting, m is dropped and PushNotify reports false. It never
// blocks, and drops m when the inbox is closed.
func (s *Source) PushNotify(m *wire.Msg, max int) bool {
	in := s.in
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		m.Release()
		return true
	}
	if max > 0 && in.notifies >= max {
		in.mu.Unlock()
		m.Release()
		return false
	}
	msgmeta.Of(m).Notify = true
	in.notifies++
	s.appendLocked([]*wire.Msg{m})
	wake := in.waiters > 0
	in.mu.Unlock()
	if wake {
		in.wakeOne()
	}
	return true
}

// unnotifyLocked takes m out of the count of PushNotify's messages, if it
// is one of them.
func (in *Inbox) unnotifyLocked(m *wire.Msg) {
	if in.notifies == 0 {
		return
	}
	if mm := msgmeta.Of(m); mm.Notify {
		mm.Notify = false
		in.notifies--
	}
}

// pushConflated puts the last message of batch in s in place of what
// waits there, and releases the others, for a conflating source.
func (s *Source) pushConflated(batch []*wire.Msg) {
	if len(batch) == 0 {
		return
	}
	in := s.in
	s.received.Add(uint64(len(batch)))
	last := len(batch) - 1
	old := append([]*wire.Msg(nil), batch[:last]...)
	in.mu.Lock()
	if in.closed || s.ended {
		in.mu.Unlock()
		release(batch)
		clear(batch)
		return
	}
	old = append(old, s.msgs[s.head:]...)
	clear(s.msgs[s.head:])
	s.msgs = s.msgs[:s.head]
	s.appendLocked(batch[last:])
	wake := in.waiters > 0
	in.mu.Unlock()
	clear(batch)
	release(old)
	if wake {
		in.wakeOne()
	}
}

// keep runs s's filter on m, under its lock if it has one.
func (s *Source) keep(m *wire.Msg) bool {
	if s.filterMu != nil {
		s.filterMu.Lock()
		defer s.filterMu.Unlock()
	}
	return s.filter(m)
}

// filterBatch releases the messages of batch that s's filter rejects, and
// returns the others, in order, at the front of batch.
func (s *Source) filterBatch(batch []*wire.Msg) []*wire.Msg {
	if s.filterMu != nil {
		s.filterMu.Lock()
		defer s.filterMu.Unlock()
	}
	k := 0
	for _, m := range batch {
		if s.filter(m) {
			batch[k] = m
			k++
			continue
		}
		m.Release()
		s.received.Add(1)
	}
	clear(batch[k:])
	return batch[:k]
}

// appendLocked queues ms in s and puts s in the fair queue's turn.
func (s *Source) appendLocked(ms []*wire.Msg) {
	if s.head > 0 && len(s.msgs)+len(ms) > cap(s.msgs) {
		n := copy(s.msgs, s.msgs[s.head:])
		clear(s.msgs[n:])
		s.msgs = s.msgs[:n]
		s.head = 0
	}
	s.msgs = append(s.msgs, ms...)
	if !s.queued {
		s.queued = true
		s.in.ready = append(s.in.ready, s)
	}
	if l := s.in.lender; l != nil {
		l.interruptLocked() // the receiver reading for itself looks here again
	}
}

// Len returns the number of messages waiting in s.
func (s *Source) Len() int {
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	return s.len()
}

// Push appends the messages of batch, which hold bytes frame bytes in all,
// in order, waiting for room while the source is full. Once the inbox is
// closed it releases them instead: the connection stays up, so that what
// it still has to write (the socket's linger) goes out. It returns the
// error of gone's closing (errGone) when gone closes first; the messages
// not yet pushed are then released. Push clears batch.
func (s *Source) Push(batch []*wire.Msg, bytes uint64, gone <-chan struct{}) error {
	in := s.in
	s.bytes.Add(bytes)
	if s.filter != nil {
		batch = s.filterBatch(batch)
	}
	if s.dropping {
		s.received.Add(uint64(len(batch)))
		s.dropped.Add(uint64(len(batch)))
		release(batch)
		clear(batch)
		return nil
	}
	if s.conflate {
		s.pushConflated(batch)
		return nil
	}
	i := 0
	for i < len(batch) {
		in.mu.Lock()
		if in.closed || s.ended {
			in.mu.Unlock()
			s.received.Add(uint64(len(batch) - i))
			release(batch[i:])
			clear(batch)
			return nil
		}
		room := len(batch) - i
		if s.hwm > 0 && s.hwm-s.len() < room {
			room = s.hwm - s.len()
		}
		if s.held {
			room = 0
		}
		if room > 0 {
			s.appendLocked(batch[i : i+room])
			i += room
			s.received.Add(uint64(room))
			wake := in.waiters > 0
			in.mu.Unlock()
			if wake {
				in.wakeOne()
			}
			continue
		}
		s.waiting = true
		in.mu.Unlock()
		select {
		case <-s.space:
		case <-gone:
			in.mu.Lock()
			s.waiting = false
			in.mu.Unlock()
			release(batch[i:])
			clear(batch)
			return errGone
		case <-in.done:
		}
	}
	clear(batch)
	return nil
}

// errGone is returned by Push when its gone channel closed.
var errGone = net.ErrClosed

func release(ms []*wire.Msg) {
	for _, m := range ms {
		m.Release()
	}
}

func (in *Inbox) wakeOne() {
	select {
	case in.notify <- struct{}{}:
	default:
	}
}

// popLocked takes the next message in fair order, or nil.
//
// It records the source's origin in the message's meta.
func (in *Inbox) popLocked() *wire.Msg {
	if in.head == len(in.ready) {
		return nil
	}
	s := in.ready[in.head]
	in.ready[in.head] = nil
	in.head++
	for s.head == len(s.msgs) {
		// Emptied by Discard while it waited for its turn.
		s.queued = false
		if in.head == len(in.ready) {
			in.ready, in.head = in.ready[:0], 0
			return nil
		}
		s = in.ready[in.head]
		in.ready[in.head] = nil
		in.head++
	}
	m := s.msgs[s.head]
	s.msgs[s.head] = nil
	s.head++
	in.unnotifyLocked(m)
	if s.origin != nil {
		msgmeta.Of(m).Origin = s.origin
	}
	if s.head == len(s.msgs) {
		s.msgs = s.msgs[:0]
		s.head = 0
		s.queued = false
	} else {
		in.ready, in.head = pushBack(in.ready, in.head, s)
	}
	if in.head == len(in.ready) {
		in.ready = in.ready[:0]
		in.head = 0
	}
	if s.waiting {
		s.drainedLocked()
	}
	return m
}

// recvBatch is how many messages a receiver takes from the fair queue
// under one lock. It stretches each source's bound by at most that much.
const recvBatch = 32

// fromCache pops a message taken earlier, or returns nil. It marks the
// message drained when nothing else waits behind it.
func (in *Inbox) fromCache() *wire.Msg {
	m, last := in.claim()
	if last {
		in.mu.Lock()
		if in.head == len(in.ready) {
			msgmeta.Of(m).Drained = true
		}
		in.mu.Unlock()
	}
	return m
}

// claim takes the message at the front of the cache, or returns nil, and
// reports whether it was the cache's last.
func (in *Inbox) claim() (*wire.Msg, bool) {
	for {
		h, t := in.chead.Load(), in.ctail.Load()
		if h >= t {
			return nil, false
		}
		m := in.cache[h%recvBatch].Load()
		if in.chead.CompareAndSwap(h, h+1) {
			return m, h+1 == t
		}
	}
}

// refillLocked returns the next message in fair order, or nil when the
// inbox is empty. When the cache is empty it also takes up to recvBatch-1
// more into the cache; when another receiver filled it meanwhile, the cache
// comes first, so that concurrent receivers never see messages out of
// order. It marks the message drained when nothing else waits behind it.
// The caller holds in.mu.
func (in *Inbox) refillLocked() *wire.Msg {
	if m, last := in.claim(); m != nil {
		if last && in.head == len(in.ready) {
			msgmeta.Of(m).Drained = true
		}
		return m
	}
	// The cache is empty, and stays so: only a refill, under in.mu,
	// fills it.
	first := in.popLocked()
	if first == nil {
		return nil
	}
	t := in.ctail.Load()
	k := in.runLocked(t)
	for k < recvBatch-1 {
		m := in.popLocked()
		if m == nil {
			break
		}
		in.cache[(t+k)%recvBatch].Store(m)
		k++
	}
	in.ctail.Store(t + k)
	if k == 0 && in.head == len(in.ready) {
		msgmeta.Of(first).Drained = true
	}
	return first
}

// runLocked moves up to recvBatch-1 messages into the cache from index t
// on, when one source alone has messages waiting: its run, in one go,
// which is what taking them one at a time in fair order would give. It
// returns how many it moved. The caller holds in.mu and fills the cache.
func (in *Inbox) runLocked(t uint64) uint64 {
	if in.head != len(in.ready)-1 || in.notifies > 0 {
		return 0
	}
	s := in.ready[in.head]
	n := min(recvBatch-1, s.len())
	if n == 0 {
		return 0
	}
	run := s.msgs[s.head : s.head+n]
	for j, m := range run {
		if s.origin != nil {
			msgmeta.Of(m).Origin = s.origin
		}
		in.cache[(t+uint64(j))%recvBatch].Store(m)
	}
	clear(run)
	s.head += n
	if s.head == len(s.msgs) {
		s.msgs, s.head = s.msgs[:0], 0
		s.queued = false
		in.ready[in.head] = nil
		in.ready, in.head = in.ready[:0], 0
	}
	if s.waiting {
		s.drainedLocked()
	}
	return uint64(n)
}

// TryRecv returns the next message without waiting, or nil.
func (in *Inbox) TryRecv() *wire.Msg {
	if m := in.fromCache(); m != nil {
		return m
	}
	in.mu.Lock()
	m := in.refillLocked()
	if m == nil && !in.closed {
		if l := in.borrowLocked(false); l != nil {
			in.mu.Unlock()
			return l.borrow(context.Background(), false)
		}
	}
	in.mu.Unlock()
	return m
}

// borrowLocked takes up the lent reading of a peer (lend.go), when there
// is one, and returns the peer; the caller then reads with Peer.borrow. A
// receiver that will read the network counts as a use (the reader takes
// back a reading nobody uses). A reading lent while the inbox had one peer
// goes back to its reader once there are more. The caller holds in.mu.
func (in *Inbox) borrowLocked(use bool) *Peer {
	l := in.lender
	if l == nil || l.lend.state != lendIdle {
		return nil
	}
	if in.peers != 1 {
		l.handBackLocked()
		return nil
	}
	l.lend.state = lendReading
	if use {
		l.lend.seq++
	}
	return l
}

// join adds n to the count of peers that feed the inbox: 1 as one starts,
// -1 as it stops.
func (in *Inbox) join(n int) {
	in.mu.Lock()
	in.peers += n
	in.mu.Unlock()
}

// Recv returns the next message in fair order, waiting while ctx allows. It
// returns net.ErrClosed once the inbox is closed. The message is marked
// drained (msgmeta.Meta.Drained) when no other message waited behind it.
func (in *Inbox) Recv(ctx context.Context) (*wire.Msg, error) {
	for {
		if m := in.fromCache(); m != nil {
			return m, nil
		}
		in.mu.Lock()
		if m := in.refillLocked(); m != nil {
			more := in.waiters > 0
			in.mu.Unlock()
			if more {
				in.wakeOne()
			}
			return m, nil
		}
		if in.closed {
			in.mu.Unlock()
			return nil, net.ErrClosed
		}
		if l := in.borrowLocked(true); l != nil {
			if err := ctx.Err(); err != nil {
				l.leaveLocked()
				in.mu.Unlock()
				return nil, err
			}
			in.mu.Unlock()
			if m := l.borrow(ctx, true); m != nil {
				return m, nil
			}
			continue
		}
		in.waiters++
		in.mu.Unlock()
		var err error
		select {
		case <-in.notify:
		case <-in.done:
		case <-ctx.Done():
			err = ctx.Err()
		}
		in.mu.Lock()
		in.waiters--
		in.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
}

// Close makes Recv fail and Push give up, and releases every queued message.
func (in *Inbox) Close() {
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		return
	}
	in.closed = true
	if in.lender != nil {
		in.lender.interruptLocked()
	}
	for _, s := range in.ready[in.head:] {
		release(s.msgs[s.head:])
		s.msgs, s.head, s.queued = nil, 0, false
	}
	in.ready, in.head = nil, 0
	for {
		m, _ := in.claim()
		if m == nil {
			break
		}
		m.Release()
	}
	for i := range in.cache {
		in.cache[i].Store(nil)
	}
	in.mu.Unlock()
	close(in.done)
}

// room returns how many messages s takes before it is full, at most max.
func (s *Source) room(max int) int {
	in := s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed || s.hwm == 0 {
		return max
	}
	return min(max, s.hwm-s.len())
}

// waitRoom waits until s has room, the inbox closes, or gone closes; it
// reports false for the last.
func (s *Source) waitRoom(gone <-chan struct{}) bool {
	in := s.in
	in.mu.Lock()
	if in.closed || s.hwm == 0 || s.len() < s.hwm {
		in.mu.Unlock()
		return true
	}
	s.waiting = true
	in.mu.Unlock()
	select {
	case <-s.space:
		return true
	case <-in.done:
		return true
	case <-gone:
		in.mu.Lock()
		s.waiting = false
		in.mu.Unlock()
		return false
	}
}

// pushIfRoom readies m for s with prepare (skip frames off, id in front)
// and appends it, when s has room, for a producer that holds its queue's
// write side; it reports false, m untouched, when s is full or held. It
// returns m's frame bytes, and releases m once the inbox is closed or s
// discarded, or drops and counts it when s is dropping.
func (s *Source) pushIfRoom(m *wire.Msg, skip int, id []byte) (int, bool) {
	if s.filter != nil {
		// The filter may act on m, and must see it once: it does in Push,
		// where the mover brings m.
		return 0, false
	}
	if s.dropping {
		// As Push drops it: counted, with its bytes.
		prepare(m, skip, id)
		bytes := m.Size() - len(id)
		m.Release()
		s.bytes.Add(uint64(bytes))
		s.received.Add(1)
		s.dropped.Add(1)
		return bytes, true
	}
	in := s.in
	in.mu.Lock()
	if in.closed || s.ended {
		in.mu.Unlock()
		m.Release()
		s.received.Add(1)
		return 0, true
	}
	if s.held || s.hwm > 0 && s.len() >= s.hwm {
		in.mu.Unlock()
		return 0, false
	}
	if !prepare(m, skip, id) {
		in.mu.Unlock()
		m.Release()
		return 0, true
	}
	bytes := m.Size() - len(id)
	one := [1]*wire.Msg{m}
	s.appendLocked(one[:])
	wake := in.waiters > 0
	in.mu.Unlock()
	s.received.Add(1)
	s.bytes.Add(uint64(bytes))
	if wake {
		in.wakeOne()
	}
	return bytes, true
}
