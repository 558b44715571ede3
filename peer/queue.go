package peer

import (
	"context"
	"encoding/binary"
	"net"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/zrouter/zrouter/internal/msgmeta"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// maxControl bounds the encoded control commands (PONG replies) waiting for
// the writer; a peer that floods PINGs while not reading gets no more PONGs.
const maxControl = 4 << 10

// Queue is a bounded outbound queue of messages for one writer.
//
// Push never blocks: it reports ErrQueueFull at the high-water mark and lets
// the caller decide whether to drop, report, or wait with PushWait. As in
// libzmq, the mark counts messages waiting for the writer; the writer takes
// them in batches of about 256 KiB, so the memory behind a queue is bounded
// by hwm messages plus one batch.
//
// All methods are safe for concurrent use.
type Queue struct {
	mu     sync.Mutex
	msgs   []*wire.Msg   // msgs[head:] wait for the writer, oldest first: messages and runs
	head   int           // first waiting message
	n      int           // messages waiting, each of a run counted
	taken  int           // taken by the writer and not yet written
	ctl    []byte        // encoded commands for the writer to send first
	space  chan struct{} // closed when room appears; nil without waiters
	closed bool
	// busy is set while the writer holds a batch or a sender writes a
	// message itself (Peer.WriteNow): one write at a time, in order.
	busy bool
	// pending is the tail of a message a direct write could not finish;
	// the writer sends it before anything else.
	pending []byte
	// conn counts the connections the queue served; a direct write's tail
	// is only kept for the connection it began on.
	conn uint64
	// tails counts direct writes that left a tail for the writer.
	tails uint64

	// wantRoom is set by WantRoom, guarded by mu: the next take that
	// makes room calls roomHook, once.
	wantRoom bool
	roomHook func()

	// refusing is set when Offer found the queue full and yielded in
	// vain, and cleared by the next message the queue takes; guarded by
	// mu.
	refusing bool

	hwm      int
	skip     int
	conflate bool // SetConflate: Push keeps only the newest message
	packing  bool // SetPacking: small messages wait in runs
	// small counts the messages at the back of msgs that could have gone
	// into a run and did not: a run starts only behind runStart of them.
	small int
	// spent holds messages packed into runs until there are enough of
	// them to go back to the pool in one step, or the queue is idle.
	spent []*wire.Msg
	// sink is the inproc peer serving the queue while its link is up:
	// Push then hands a message straight to the other end when nothing
	// waits before it.
	sink atomic.Pointer[Peer]
	wake chan struct{} // capacity 1: tells the writer there is work
	idle chan struct{} // closed when nothing is left to write; nil until Idle asks

	// pushed counts the messages accepted; it is guarded by mu, which
	// every push holds anyway, so that a push costs no atomic operation
	// of its own.
	pushed  uint64
	written atomic.Uint64
	direct  atomic.Uint64
	dropped atomic.Uint64
	lost    atomic.Uint64
	bytes   atomic.Uint64
}

// NewQueue returns a queue that holds at most hwm messages (0: no limit).
// The writer leaves out the first skip frames of every message: a ROUTER
// queues [routing-id, frames...] and puts only the frames on the wire.
func NewQueue(hwm, skip int) *Queue {
	return &Queue{hwm: hwm, skip: skip, wake: make(chan struct{}, 1)}
}

// Push appends m without blocking. It returns ErrQueueFull when the queue is
// at its high-water mark and net.ErrClosed when it is closed; in both cases
// the caller keeps ownership of m.
//
// On a queue served by an inproc peer, Push that finds nothing queued
// hands m straight to the other end's inbox when that has room, from the
// caller's goroutine, as WriteNow does; m counts as written at once.
func (q *Queue) Push(m *wire.Msg) error {
	if p := q.sink.Load(); p != nil && q.deliver(p, m) {
		return nil
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return net.ErrClosed
	}
	if q.conflate {
		old := append([]*wire.Msg(nil), q.msgs[q.head:]...)
		clear(q.msgs[q.head:])
		q.msgs, q.head, q.n = q.msgs[:0], 0, 0
		q.pushLocked(m)
		for _, o := range old {
			o.Release()
		}
		return nil
	}
	if q.fullLocked() {
		q.mu.Unlock()
		return ErrQueueFull
	}
	q.pushLocked(m)
	return nil
}

// PushAll appends the messages of ms in order without blocking, under one
// lock, as many as the high-water mark lets in, and returns how many it
// took; the caller keeps ms[n:]. It returns ErrQueueFull when the mark
// stopped it and net.ErrClosed when the queue is closed. A conflating
// queue, or one an inproc peer serves, takes them one Push at a time.
func (q *Queue) PushAll(ms []*wire.Msg) (int, error) {
	if q.conflate || q.sink.Load() != nil {
		for i, m := range ms {
			if err := q.Push(m); err != nil {
				return i, err
			}
		}
		return len(ms), nil
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return 0, net.ErrClosed
	}
	n := len(ms)
	if q.hwm > 0 {
		n = max(0, min(n, q.hwm-q.n))
	}
	first := q.n == 0 && n > 0
	for _, m := range ms[:n] {
		if q.packing && q.packLocked(m) {
			q.spendLocked(m)
			continue
		}
		q.appendLocked(m)
	}
	q.n += n
	q.pushed += uint64(n)
	if n > 0 {
		q.refusing = false
	}
	q.mu.Unlock()
	if first {
		q.signal()
	}
	if n < len(ms) {
		return n, ErrQueueFull
	}
	return n, nil
}

// offerYields is how many times Offer yields the P before it gives up: the
// scheduler takes one turn in 61 from the global run queue, where Gosched
// puts the caller, and a writer back from a system call may wait there
// too, so that one yield sometimes comes straight back.
const offerYields = 4

// Offer is Push for a sender that drops what the queue refuses (a PUB; a
// ROUTER without ROUTER_MANDATORY). When the queue has just filled, Offer
// first yields the processor a few times, and tries again after each: the
// writer that would empty the queue may be waiting for this P (under
// GOMAXPROCS=1 it always is), and a sender that never blocks would
// otherwise be refused until the scheduler preempts it, some 10 ms later,
// while the writer sat ready. Under GOMAXPROCS=1 the first of those yields
// waits for the runtime's next poll of the network, so that such a sender
// does not hold up other connections either. A queue that stays full (a
// peer that stopped reading) costs no more yields until it takes a message
// again.
func (q *Queue) Offer(m *wire.Msg) error {
	err := q.Push(m)
	if err != ErrQueueFull || !q.yieldable() {
		return err
	}
	for i := range offerYields {
		q.yield(i)
		if err = q.Push(m); err != ErrQueueFull {
			return err
		}
	}
	q.refuse()
	return err
}

// OfferAll is PushAll as Offer is Push.
func (q *Queue) OfferAll(ms []*wire.Msg) (int, error) {
	n, err := q.PushAll(ms)
	if err != ErrQueueFull || !q.yieldable() {
		return n, err
	}
	for i := range offerYields {
		q.yield(i)
		var k int
		k, err = q.PushAll(ms[n:])
		if n += k; err != ErrQueueFull {
			return n, err
		}
	}
	q.refuse()
	return n, err
}

// yield is Offer's i-th yield of the P. Under one P the first waits for
// the runtime's next poll of the network instead: while a sender that
// never blocks runs, nothing else polls it but sysmon, every 10 ms, and
// the connections that have bytes, or that are being accepted or
// handshaken, wait meanwhile (a SUB joining a flooding PUB took 130 ms,
// against 2 ms without the flood). With more Ps an idle one polls, and a
// wait for a poll could last while the others are busy.
func (q *Queue) yield(i int) {
	if i == 0 && runtime.GOMAXPROCS(0) == 1 {
		turns().wait(nil)
		return
	}
	runtime.Gosched()
}

// yieldable reports whether an Offer refused now is the first since the
// queue last took a message.
func (q *Queue) yieldable() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return !q.refusing
}

func (q *Queue) refuse() {
	q.mu.Lock()
	q.refusing = true
	q.mu.Unlock()
}

// SetConflate makes the queue keep only the newest message not yet taken
// by the writer (ZMQ_CONFLATE): Push replaces what waits, and is never
// full. It is set before the queue is used.
func (q *Queue) SetConflate() { q.conflate, q.packing = true, false }

func (q *Queue) fullLocked() bool { return q.hwm > 0 && q.n >= q.hwm }

// SetPacking lets the queue put small messages into runs (msgmeta's Run):
// in their ZMTP wire form, back to back, in a message of one frame that
// the writer writes as it is, while the messages go back to the pool at
// once. A message then crosses from the sender's core to the writer's in
// a few bytes instead of the three cache lines of its Msg, there and back.
// It is for a queue served only by network connections, whose writers
// take Codec frames, and is set before the queue is used.
func (q *Queue) SetPacking() { q.packing = !q.conflate }

// runFrame bounds the frames that go into runs: those whose header is two
// bytes. runMsg bounds the messages, in wire bytes, and runBytes a run.
// A run starts once runStart small messages wait: it costs a message and
// a buffer of its own, which a short burst would not pay for.
const (
	runFrame = 255
	runMsg   = 256
	runBytes = 4 << 10
	runStart = 8
)

// packLocked puts the wire form of m, its first skip frames left out, at
// the end of the run at the back of the queue, or of a new one, when m is
// small enough, and reports whether it did; the caller then releases m
// and counts it queued.
func (q *Queue) packLocked(m *wire.Msg) bool {
	if len(m.Frames) <= q.skip || msgmeta.Of(m).Command || m.Shared() {
		q.small = 0
		return false
	}
	frames := m.Frames[q.skip:]
	size := 0
	for _, f := range frames {
		size += 2 + len(f)
		if len(f) > runFrame || size > runMsg {
			q.small = 0
			return false
		}
	}
	var r *wire.Msg
	if k := len(q.msgs); k > q.head {
		last := q.msgs[k-1]
		if msgmeta.Of(last).Run > 0 && len(last.Frames[0])+size <= cap(last.Frames[0]) {
			r = last
		}
	}
	if r == nil && q.small < runStart {
		q.small++
		return false
	}
	if r == nil {
		r = wire.Get()
		r.Frames[0] = r.NewFrame(runBytes)[:0]
		q.appendLocked(r)
	}
	b := r.Frames[0]
	last := len(frames) - 1
	for i, f := range frames {
		var flags byte
		if i < last {
			flags = zmtp.FlagMore
		}
		b = append(b, flags, byte(len(f)))
		b = append(b, f...)
	}
	r.Frames[0] = b
	msgmeta.Of(r).Run++
	return true
}

// weight returns how many messages m stands for in a queue: those of a
// run, or one.
func weight(m *wire.Msg) int {
	if n := msgmeta.Of(m).Run; n > 0 {
		return int(n)
	}
	return 1
}

// weighAll returns how many messages ms stand for.
func weighAll(ms []*wire.Msg) int {
	n := 0
	for _, m := range ms {
		n += weight(m)
	}
	return n
}

// SetHWM changes the high-water mark to n (0: no limit). Messages already
// queued stay; Push refuses more until the queue is below the new mark,
// and senders waiting in PushWait go in when it is above what is queued.
func (q *Queue) SetHWM(n int) {
	q.mu.Lock()
	q.hwm = n
	if q.space != nil && !q.fullLocked() {
		close(q.space)
		q.space = nil
	}
	hook := q.roomLocked(!q.fullLocked())
	q.mu.Unlock()
	if hook != nil {
		hook()
	}
}

// SetRoomHook makes the queue call f, without its lock held, when it
// makes room for a sender that asked with WantRoom, or closes: a sender
// that waits for room in any of several queues (core.Balancer) is woken
// by whichever drains first.
func (q *Queue) SetRoomHook(f func()) {
	q.mu.Lock()
	q.roomHook = f
	q.mu.Unlock()
}

// WantRoom asks for the room hook to be called once the queue, now full,
// has room, and reports true: the caller may wait. It reports false,
// asking nothing, when the queue has room already: Push then goes in. A
// closed queue never has room, and is left to its owner to take away.
func (q *Queue) WantRoom() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return true
	}
	if !q.fullLocked() {
		return false
	}
	q.wantRoom = true
	return true
}

// roomLocked returns the room hook to call when made is set and a sender
// asked for room, and forgets the request; nil otherwise.
func (q *Queue) roomLocked(made bool) func() {
	if !made || !q.wantRoom {
		return nil
	}
	q.wantRoom = false
	return q.roomHook
}

// pushLocked queues m and unlocks q.mu.
func (q *Queue) pushLocked(m *wire.Msg) {
	first := q.n == 0
	packed := q.packing && q.packLocked(m)
	if !packed {
		q.appendLocked(m)
	}
	q.n++
	q.pushed++
	q.refusing = false
	if packed {
		q.spendLocked(m)
	}
	q.mu.Unlock()
	if first {
		q.signal()
	}
}

// spentMax is how many packed messages a queue keeps before it gives them
// back to the pool together.
const spentMax = 32

// spendLocked keeps m, packed into a run, for the pool, and gives back
// what the queue kept once it has spentMax.
func (q *Queue) spendLocked(m *wire.Msg) {
	q.spent = append(q.spent, m)
	if len(q.spent) >= spentMax {
		wire.ReleaseAll(q.spent)
		q.spent = q.spent[:0]
	}
}

// appendLocked appends m, a message or a run, to msgs.
func (q *Queue) appendLocked(m *wire.Msg) { q.msgs, q.head = pushBack(q.msgs, q.head, m) }

// pushBack appends v to a queue s whose items from head on are live. When
// s is full, the live items move to the front first, so that a queue
// drained as fast as it fills keeps reusing its array. It returns the
// queue and its new head.
func pushBack[T any](s []T, head int, v T) ([]T, int) {
	if head > 0 && len(s) == cap(s) {
		n := copy(s, s[head:])
		clear(s[n:])
		s, head = s[:n], 0
	}
	return append(s, v), head
}

func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// PushWait appends m, waiting for room while ctx allows. It gives up with
// net.ErrClosed when the queue closes, with gone's error when gone is closed
// first (nil gone: never), and with ctx's error when ctx ends. The caller
// keeps ownership of m on error.
func (q *Queue) PushWait(ctx context.Context, m *wire.Msg, gone <-chan struct{}, goneErr error) error {
	for {
		select {
		case <-gone:
			return goneErr
		default:
		}
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return net.ErrClosed
		}
		if !q.fullLocked() {
			q.pushLocked(m)
			return nil
		}
		if q.space == nil {
			q.space = make(chan struct{})
		}
		ch := q.space
		q.mu.Unlock()
		select {
		case <-ch:
		case <-gone:
			return goneErr
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Full reports whether Push would return ErrQueueFull.
func (q *Queue) Full() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.fullLocked()
}

// Len returns the number of messages queued or being written.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n + q.taken
}

// Replace drops every message queued, counted lost, and queues ms in their
// place, whatever the high-water mark, for a connection that is about to
// start: a SUB's subscriptions, which go first to every new connection and
// are bounded by what the application subscribed. It must not be called
// while a connection is up on the queue. It reports false, ms left with
// the caller, when the queue is closed.
func (q *Queue) Replace(ms []*wire.Msg) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	old, lost := q.msgs[q.head:], q.n
	q.msgs, q.head, q.n, q.small = append([]*wire.Msg(nil), ms...), 0, len(ms), 0
	q.pushed += uint64(len(ms))
	q.mu.Unlock()
	q.lost.Add(uint64(lost))
	for _, m := range old {
		m.Release()
	}
	q.signal()
	return true
}

// WaitRoom waits until Push would not return ErrQueueFull, while ctx
// allows and until gone closes (nil: never). It returns nil when there is
// room or the queue is closed (Push then says so), ctx's error, or
// net.ErrClosed when gone closes first.
func (q *Queue) WaitRoom(ctx context.Context, gone <-chan struct{}) error {
	for {
		q.mu.Lock()
		if q.closed || !q.fullLocked() {
			q.mu.Unlock()
			return nil
		}
		if q.space == nil {
			q.space = make(chan struct{})
		}
		ch := q.space
		q.mu.Unlock()
		select {
		case <-ch:
		case <-gone:
			return net.ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Drop counts a message the caller dropped because the queue was full.
func (q *Queue) Drop() { q.dropped.Add(1) }

// QueueStats are a queue's counters.
type QueueStats struct {
	Queued  int    // messages waiting or being written
	Pushed  uint64 // messages accepted
	Written uint64 // messages handed to the connection
	Bytes   uint64 // frame bytes of Written, the frames the writer skips left out
	Direct  uint64 // of Written, messages the sender wrote itself (Peer.WriteNow)
	Dropped uint64 // messages dropped at the high-water mark
	Lost    uint64 // messages the writer took whose write failed: lost with the connection
}

// Stats returns the queue's counters.
func (q *Queue) Stats() QueueStats {
	q.mu.Lock()
	queued, pushed := q.n+q.taken, q.pushed
	q.mu.Unlock()
	return QueueStats{Queued: queued, Pushed: pushed, Written: q.written.Load(), Bytes: q.bytes.Load(),
		Direct: q.direct.Load(), Dropped: q.dropped.Load(), Lost: q.lost.Load()}
}

// idleLocked reports whether nothing is queued, being written, or left of a
// direct write.
func (q *Queue) idleLocked() bool {
	return q.head == len(q.msgs) && q.taken == 0 && !q.busy && len(q.pending) == 0
}

// wakeIdleLocked closes the channel of Idle once the queue is idle.
func (q *Queue) wakeIdleLocked() {
	if q.idle != nil && (q.closed || q.idleLocked()) {
		close(q.idle)
		q.idle = nil
	}
}

// Idle returns a channel that is closed once every message pushed so far
// has been written, or the queue is closed; nil when that is so already.
func (q *Queue) Idle() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.idleLocked() {
		return nil
	}
	if q.idle == nil {
		q.idle = make(chan struct{})
	}
	return q.idle
}

// Close drops every queued message and makes Push fail from now on. Waiters
// in PushWait return net.ErrClosed.
func (q *Queue) Close() {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.closed = true
	wire.ReleaseAll(q.spent)
	q.spent = nil
	msgs := q.msgs[q.head:]
	q.msgs, q.head, q.n = nil, 0, 0
	q.ctl, q.pending = nil, nil
	if q.space != nil {
		close(q.space)
		q.space = nil
	}
	q.wakeIdleLocked()
	hook := q.roomLocked(true)
	q.mu.Unlock()
	if hook != nil {
		hook()
	}
	for _, m := range msgs {
		m.Release()
	}
	q.signal()
}

// pushControl queues the body of a command for the writer to encode and
// send ahead of messages. It reports false when the control buffer is
// full.
func (q *Queue) pushControl(body []byte) bool {
	q.mu.Lock()
	if q.closed || len(q.ctl)+4+len(body) > maxControl {
		q.mu.Unlock()
		return false
	}
	q.ctl = binary.BigEndian.AppendUint32(q.ctl, uint32(len(body)))
	q.ctl = append(q.ctl, body...)
	q.mu.Unlock()
	q.signal()
	return true
}

// take moves messages from the front of the queue into batch, about
// maxBytes worth (at least one message), and swaps the control bytes for the
// writer's empty buffer, so that neither side allocates in steady state. The
// tail of an unfinished direct write comes first in ctl, tail bytes long,
// encoded already; the commands to encode follow, each a 4-byte length and a
// body. take returns nothing while a direct write is under way: that writer
// signals when it is done.
func (q *Queue) take(batch []*wire.Msg, ctl []byte, maxBytes int) ([]*wire.Msg, []byte, int) {
	q.mu.Lock()
	if q.busy {
		q.mu.Unlock()
		return batch, ctl[:0], 0
	}
	size, k := 0, 0
	for q.head < len(q.msgs) && size < maxBytes {
		m := q.msgs[q.head]
		q.msgs[q.head] = nil
		q.head++
		batch = append(batch, m)
		size += m.Size()
		k += weight(m)
	}
	if q.head == len(q.msgs) {
		q.msgs, q.head, q.small = q.msgs[:0], 0, 0
	}
	q.n -= k
	q.taken += k
	tail := len(q.pending)
	if tail > 0 {
		ctl = append(append(ctl[:0], q.pending...), q.ctl...)
		q.pending, q.ctl = q.pending[:0], q.ctl[:0]
	} else {
		ctl, q.ctl = q.ctl, ctl[:0]
	}
	q.busy = len(batch) > 0 || len(ctl) > 0
	if q.space != nil && len(batch) > 0 {
		close(q.space)
		q.space = nil
	}
	hook := q.roomLocked(len(batch) > 0)
	q.mu.Unlock()
	if hook != nil {
		hook()
	}
	return batch, ctl, tail
}

// waitingLocked reports whether anything waits for the writer: messages,
// control bytes or the tail of a direct write.
func (q *Queue) waitingLocked() bool {
	return q.head < len(q.msgs) || len(q.ctl) > 0 || len(q.pending) > 0
}

// acquire gives the caller the write side for one message of its own when
// nothing waits for the writer and no write is under way. It returns the
// connection count to hand back to finish.
func (q *Queue) acquire() (uint64, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.busy || q.waitingLocked() {
		return 0, false
	}
	q.busy = true
	return q.conn, true
}

// finish ends a direct write begun by acquire on connection conn. When sent,
// the message, of bytes frame bytes, counts as written and rest is what the
// connection did not take, for the writer to send first. When not, nothing
// of it went out and the caller keeps it. finish wakes the writer when
// anything waits for it.
func (q *Queue) finish(conn uint64, rest []byte, sent bool, bytes int) {
	q.mu.Lock()
	q.busy = false
	if sent && len(rest) > 0 && conn == q.conn && !q.closed {
		q.pending = append(q.pending[:0], rest...)
		q.tails++
	}
	if sent {
		q.pushed++
	}
	work := q.waitingLocked()
	q.wakeIdleLocked()
	q.mu.Unlock()
	if sent {
		q.written.Add(1)
		q.direct.Add(1)
		q.bytes.Add(uint64(bytes))
	}
	if work {
		q.signal()
	}
}

// done records that the writer finished with k taken messages, of bytes
// frame bytes: written, or lost with the connection when err is set.
func (q *Queue) done(k, bytes int, err error) {
	q.mu.Lock()
	q.taken -= k
	q.busy = false
	q.wakeIdleLocked()
	if len(q.spent) > 0 && q.idleLocked() {
		// An idle queue keeps no messages for the pool.
		wire.ReleaseAll(q.spent)
		q.spent = q.spent[:0]
	}
	q.mu.Unlock()
	if err != nil {
		q.lost.Add(uint64(k))
		return
	}
	q.written.Add(uint64(k))
	q.bytes.Add(uint64(bytes))
}

// resetControl forgets control bytes and the tail of a direct write meant
// for a previous connection.
func (q *Queue) resetControl() {
	q.mu.Lock()
	q.ctl = q.ctl[:0]
	q.pending = q.pending[:0]
	q.conn++
	q.mu.Unlock()
}

// takeN moves up to n messages from the front of the queue into batch, for
// an inproc peer, which has no control bytes and no direct-write tails.
// It returns nothing while a direct write is under way: that writer
// signals when it is done.
func (q *Queue) takeN(batch []*wire.Msg, n int) []*wire.Msg {
	q.mu.Lock()
	if q.busy {
		q.mu.Unlock()
		return batch
	}
	k := len(batch)
	for q.head < len(q.msgs) && len(batch) < n {
		batch = append(batch, q.msgs[q.head])
		q.msgs[q.head] = nil
		q.head++
	}
	if q.head == len(q.msgs) {
		q.msgs, q.head = q.msgs[:0], 0
	}
	k = len(batch) - k // an inproc peer's queue holds no runs
	q.n -= k
	q.taken += k
	q.busy = len(batch) > 0
	if q.space != nil && len(batch) > 0 {
		close(q.space)
		q.space = nil
	}
	hook := q.roomLocked(len(batch) > 0)
	q.mu.Unlock()
	if hook != nil {
		hook()
	}
	return batch
}

// deliver hands m to the other end of p, the inproc peer serving q, when
// nothing waits in q before it and the other end's source has room, and
// reports whether it did. It holds q.mu throughout, which keeps the mover
// (the only other producer into that source) out, and takes the source's
// lock inside it: nothing takes the two the other way round.
func (q *Queue) deliver(p *Peer, m *wire.Msg) bool {
	far := p.end.l.far(p.end.i)
	if far == nil {
		return false
	}
	q.mu.Lock()
	if q.closed || q.busy || q.waitingLocked() {
		q.mu.Unlock()
		return false
	}
	select {
	case <-p.done:
		q.mu.Unlock()
		return false
	default:
	}
	bytes, ok := far.src.pushIfRoom(m, q.skip, far.cfg.ID)
	if ok {
		q.pushed++
	}
	q.mu.Unlock()
	if ok {
		q.written.Add(1)
		q.direct.Add(1)
		q.bytes.Add(uint64(bytes))
	}
	return ok
}
