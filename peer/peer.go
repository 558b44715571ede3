package peer

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/bytebufferpool"
	"github.com/zrouter/zrouter/internal/msgmeta"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// Config tunes a connection.
type Config struct {
	// ID, when not nil, is put in front of every message the reader
	// receives, as a ROUTER delivers them with the peer's routing id. Each
	// message gets a copy of its own.
	ID []byte
	// Origin is recorded with every message the reader receives, so that
	// the socket knows where a message it is given back came from.
	Origin any
	// Subscriptions makes the reader hand on the SUBSCRIBE and CANCEL
	// commands of ZMTP 3.1 as the messages ZMTP 3.0 sends for them, a
	// 0x01 or 0x00 byte before the topic, in order with the peer's
	// messages, and read them whole: a PUB or XPUB acts on them.
	Subscriptions bool
	// HeartbeatIvl is the interval between PINGs; zero sends none.
	HeartbeatIvl time.Duration
	// HeartbeatTTL is the TTL our PINGs ask the peer to apply (rounded down
	// to tenths of a second); zero asks for none.
	HeartbeatTTL time.Duration
	// HeartbeatTimeout is how long the connection may go without incoming
	// traffic once we ping; zero means HeartbeatIvl, as in libzmq.
	HeartbeatTimeout time.Duration
	// MaxMsgFrames bounds the frames of one message, and MaxMsgBytes its
	// frame bytes; a peer that goes over closes as socket.TooLarge. Zero
	// means no bound.
	MaxMsgFrames int
	MaxMsgBytes  int64
	// WriteTimeout bounds how long one write may wait for the peer to take
	// its bytes; past it the connection closes as socket.SlowConsumer.
	// With heartbeats on, a write waits at most the heartbeat timeout
	// too: a peer that takes nothing for that long cannot answer a PING.
	// Zero leaves only the heartbeat's bound, if any.
	WriteTimeout time.Duration
}

const (
	// batchMsgs bounds the messages a reader hands to its inbox at once.
	batchMsgs = 128
	// maxWriteBatch bounds the bytes the writer gathers before it writes.
	maxWriteBatch = 256 << 10
	// maxIovecs bounds the buffers in one writev, as Linux's IOV_MAX does.
	maxIovecs = 1024
	// idleCache is how many empty messages a reader may keep while it
	// waits for the network; beyond it they go back to the free list.
	idleCache = 8
)

var writeBufs bytebufferpool.Pool

// Peer is one connection after its handshake, with a reader goroutine and a
// writer goroutine. It ends when either goroutine fails or Close is called;
// then the onExit function given to Start runs once, after both goroutines
// have returned.
//
// All methods are safe for concurrent use.
type Peer struct {
	conn net.Conn
	sess *zmtp.Session
	q    *Queue
	src  *Source
	cfg  Config

	done      chan struct{} // closed when the peer starts to end
	exited    chan struct{} // closed when both goroutines have returned
	closeOnce sync.Once
	reason    atomic.Int32
	running   atomic.Int32 // goroutines not yet returned

	lastRecv  atomic.Int64 // unix nanoseconds of the latest read
	peerTTL   atomic.Int64 // TTL from the peer's latest PING, nanoseconds
	blocked   atomic.Bool  // the reader waits for inbox space, not the network
	onExit    func(*Peer)
	direct    *directWriter // nil when the conn cannot be written directly
	remote    net.Addr
	createdAt time.Time
	end       *inprocEnd // the end of an inproc link the peer serves, or nil

	rs    reading       // the read side, held by readLoop or a borrower
	lend  lendState     // guarded by src's inbox lock
	baton chan struct{} // capacity 1: a borrower handed the read side back
}

// New returns a peer over conn, whose handshake produced sess, ready for
// Run: messages from the peer will go into src, and messages in q to the
// peer. onExit, if not nil, runs after both goroutines have ended. Until Run,
// the socket can make the peer known (Close works on it from then on) before
// anything happens on the connection. A peer whose connection carries no
// commands (ZMTP 2.0, see zmtp.Session.Commands) has no heartbeats, as in
// libzmq, whatever cfg says: it is never sent a PING.
//
// Over an end of an inproc Link, the peer has no reader or writer: its one
// goroutine moves the messages of q into the source of the other end's
// peer, and sess only says what the other socket is.
func New(conn net.Conn, sess *zmtp.Session, q *Queue, src *Source, cfg Config, onExit func(*Peer)) *Peer {
	if e, ok := conn.(*inprocEnd); ok {
		p := &Peer{conn: conn, sess: sess, q: q, src: src, cfg: cfg, done: make(chan struct{}),
			exited: make(chan struct{}), onExit: onExit, remote: e.addr, createdAt: time.Now(), end: e}
		if !e.l.join(e.i, p) {
			p.Close(socket.PeerClosed)
		}
		return p
	}
	if !sess.Commands() {
		cfg.HeartbeatIvl, cfg.HeartbeatTTL, cfg.HeartbeatTimeout = 0, 0, 0
	}
	return &Peer{
		conn:      conn,
		sess:      sess,
		q:         q,
		src:       src,
		cfg:       cfg,
		done:      make(chan struct{}),
		exited:    make(chan struct{}),
		onExit:    onExit,
		remote:    conn.RemoteAddr(),
		createdAt: time.Now(),
		direct:    newDirect(conn),
		baton:     make(chan struct{}, 1),
	}
}

// Run starts the reader and the writer. It is called once.
func (p *Peer) Run() {
	if p.src != nil {
		p.src.in.join(1)
	}
	p.lastRecv.Store(time.Now().UnixNano())
	p.q.resetControl()
	p.q.signal() // the queue may outlive an earlier connection with messages waiting
	if p.end != nil {
		p.running.Store(1)
		go func() { defer p.exit(); p.moveLoop() }()
		return
	}
	p.running.Store(2)
	go func() { defer p.exit(); p.readLoop() }()
	go func() { defer p.exit(); p.writeLoop() }()
}

// exit runs as each goroutine returns; the second one to return finishes
// the peer, so no third goroutine waits for the two.
func (p *Peer) exit() {
	p.Close(socket.ClosedByOwner) // the first to end takes the other down
	if p.running.Add(-1) != 0 {
		return
	}
	if p.src != nil {
		p.src.in.join(-1)
	}
	_ = p.conn.Close()
	close(p.exited)
	if p.onExit != nil {
		p.onExit(p)
	}
}

// Session returns the handshake's outcome: the peer's socket type, identity
// and metadata.
func (p *Peer) Session() *zmtp.Session { return p.sess }

// Queue returns the peer's outbound queue.
func (p *Peer) Queue() *Queue { return p.q }

// Source returns the peer's share of the inbox.
func (p *Peer) Source() *Source { return p.src }

// RemoteAddr returns the peer's network address.
func (p *Peer) RemoteAddr() net.Addr { return p.remote }

// Done returns a channel that is closed when the peer starts to end.
func (p *Peer) Done() <-chan struct{} { return p.done }

// Wait blocks until both goroutines of the peer have returned.
func (p *Peer) Wait() { <-p.exited }

// Reason returns why the peer ended, or socket.Open while it runs.
func (p *Peer) Reason() socket.CloseReason { return socket.CloseReason(p.reason.Load()) }

// Close ends the peer with the given reason; the first reason given wins.
// It does not wait; use Wait for that.
func (p *Peer) Close(reason socket.CloseReason) {
	p.closeOnce.Do(func() {
		p.reason.Store(int32(reason))
		close(p.done)
		_ = p.conn.Close()
	})
}

// fail ends the peer with a reason derived from a read or write error.
func (p *Peer) fail(err error, whenWriting bool) {
	r := socket.PeerClosed
	var pe *zmtp.ProtocolError
	var ee *zmtp.PeerError
	switch {
	case errors.Is(err, zmtp.ErrMessageTooLarge):
		r = socket.TooLarge
	case errors.As(err, &pe):
		r = socket.ProtocolError
	case errors.As(err, &ee):
		r = socket.PeerSentError
	case whenWriting:
		r = socket.WriteError
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		r = socket.PeerClosed
	}
	p.Close(r)
}

// reading is the state of a connection's read side. Whoever holds it
// reads the connection with it: the reader goroutine, or a receiver it is
// lent to (lend.go).
type reading struct {
	rd     *zmtp.Reader
	m      *wire.Msg // the message being read, or nil
	size   uint64    // its frame bytes so far
	frames int       // its frames so far
	cache  wire.Cache
	// frameMax is the reader's own bound on one frame; limitBytes is set
	// when the message has a bound of its own (Config.MaxMsgBytes).
	frameMax   int64
	limitBytes bool
}

func (p *Peer) readLoop() {
	netReaders.Add(1)
	defer netReaders.Add(-1)
	rs := &p.rs
	rs.rd = p.sess.Reader
	rd := rs.rd
	if v := newVecReader(p.conn); v != nil {
		rd.SetSource(v)
	}
	batch := make([]*wire.Msg, 0, batchMsgs)
	var pushErr error
	var bytes uint64 // of batch
	flush := func() {
		if len(batch) == 0 || pushErr != nil {
			return
		}
		p.blocked.Store(true)
		pushErr = p.src.Push(batch, bytes, p.done)
		p.blocked.Store(false)
		batch, bytes = batch[:0], 0
	}
	var waiting waitMark
	defer waiting.set(false)
	rd.BeforeRead = func() {
		flush()
		if rs.cache.Len() > idleCache {
			rs.cache.Flush()
		}
		p.lastRecv.Store(time.Now().UnixNano())
		waiting.set(rd.Drained())
		if giveWay(rd.Streak(), netReaders.Load(), p.done) {
			rd.EndStreak()
		}
	}
	rd.KeepSubscriptions = p.cfg.Subscriptions
	rs.frameMax = rd.MaxSize
	rs.limitBytes = p.cfg.MaxMsgBytes > 0
	defer func() {
		rd.MaxSize = rs.frameMax
		rd.BeforeRead = nil
		if rs.m != nil {
			rs.m.Release()
			rs.m = nil
		}
		release(batch)
		rs.cache.Flush()
	}()
	// The reading is lent only between small messages: not when it came
	// back unused, until the reader has read a message itself, nor after a
	// large one, which the reader reads straight into its message.
	unused, large := false, false
	for pushErr == nil {
		if !unused && !large && rd.Drained() && !rd.Whole() {
			// The next frame needs the network. What was decoded goes
			// to the inbox first, as before any read; then a receiver
			// that waits may take the reading over.
			flush()
			if pushErr == nil && p.lendOut() {
				waiting.set(true)
				unused = p.waitLent()
				continue
			}
		}
		m, size, err := p.next(rs)
		if err != nil {
			p.fail(err, false)
			return
		}
		if m == nil {
			continue
		}
		unused, large = false, size >= wire.LargeFrame
		batch = append(batch, m)
		bytes += size
		if len(batch) == cap(batch) {
			flush()
		}
	}
	p.Close(socket.ClosedByOwner)
}

// next reads one frame with rs and returns the message it ends, with the
// message's frame bytes, or nil when the message goes on or the frame was a
// command that needs no more. The message form of a SUBSCRIBE or CANCEL
// (Config.Subscriptions) is a message, of no frame bytes.
func (p *Peer) next(rs *reading) (*wire.Msg, uint64, error) {
	rd := rs.rd
	if rs.m == nil {
		rs.m = rs.cache.Get()
		if p.cfg.ID != nil {
			rs.m.AppendFrame(p.cfg.ID)
		}
	}
	if rs.limitBytes {
		// What is left of the message's bound is the next frame's: the
		// reader refuses a bigger one at its header.
		left := p.cfg.MaxMsgBytes - int64(rs.size)
		if rs.frameMax >= 0 && rs.frameMax < left {
			left = rs.frameMax
		}
		rd.MaxSize = left
	}
	f, err := rd.ReadFrame(rs.m)
	if err != nil {
		return nil, 0, err
	}
	if f.Command != nil {
		if s := p.subscription(f.Command, &rs.cache); s != nil {
			return s, 0, nil
		}
		return nil, 0, p.command(f.Command)
	}
	rs.size += f.Size
	rs.frames++
	if p.cfg.MaxMsgFrames > 0 && rs.frames > p.cfg.MaxMsgFrames ||
		rs.limitBytes && rs.size > uint64(p.cfg.MaxMsgBytes) {
		// The second bound holds under an encrypting mechanism, whose
		// frames the reader sizes only once opened.
		return nil, 0, zmtp.ErrMessageTooLarge
	}
	if f.More {
		return nil, 0, nil
	}
	m, size := rs.m, rs.size
	rs.m, rs.size, rs.frames = nil, 0, 0
	return m, size, nil
}

// subscription returns the message form of a SUBSCRIBE or CANCEL command,
// for a peer that hands them on (Config.Subscriptions), or nil.
func (p *Peer) subscription(body []byte, cache *wire.Cache) *wire.Msg {
	if !p.cfg.Subscriptions {
		return nil
	}
	name, topic, err := zmtp.SplitCommand(body)
	if err != nil {
		return nil
	}
	var flag byte
	switch name {
	case zmtp.CmdSubscribe:
		flag = 1
	case zmtp.CmdCancel:
	default:
		return nil
	}
	m := cache.Get()
	f := m.NewFrame(1 + len(topic))
	f[0] = flag
	copy(f[1:], topic)
	return m
}

// command handles a command frame received after the handshake.
func (p *Peer) command(body []byte) error {
	name, data, err := zmtp.SplitCommand(body)
	if err != nil {
		return err
	}
	switch name {
	case zmtp.CmdPing:
		c, err := zmtp.ParseCommand(body)
		if err != nil {
			return err
		}
		ping := c.(*zmtp.Ping)
		p.peerTTL.Store(int64(ping.TTL) * int64(100*time.Millisecond))
		var buf [1 + 4 + zmtp.MaxPingContext]byte
		p.q.pushControl((&zmtp.Pong{Context: ping.Context}).Append(buf[:0]))
	case zmtp.CmdError:
		c, err := zmtp.ParseCommand(body)
		if err != nil {
			return err
		}
		return &zmtp.PeerError{Reason: c.(*zmtp.Error).Reason}
	default:
		_ = data // PONG is traffic enough; unknown commands are ignored (RFC 37).
	}
	return nil
}

func (p *Peer) writeLoop() {
	var (
		batch []*wire.Msg
		ctl   []byte
		w     = writer{conn: p.conn, codec: p.sess.Codec, skip: p.q.skip, timeout: p.writeTimeout()}
		hb    heartbeat
		timer = time.NewTimer(time.Hour)
	)
	timer.Stop()
	defer timer.Stop()
	defer w.free()
	armed := false
	arm := func(now time.Time) {
		if d, ok := hb.next(p, now); ok {
			timer.Reset(d)
			armed = true
		}
	}
	arm(time.Now())
	for {
		select {
		case <-p.q.wake:
			if !armed {
				arm(time.Now()) // the peer may have asked for a TTL
			}
			// The first message of a burst woke the writer; the sender
			// that pushed it is likely to push more. Letting it run once
			// before taking makes the batch, and each write, larger: a
			// PUB that queues each message for many subscribers woke
			// every writer for one or two messages a write, half the
			// runs of a fan-out at 16 B with two Ps, which then made 40%
			// more writes for half the messages.
			runtime.Gosched()
		case now := <-timer.C:
			armed = false
			if !hb.tick(p, now) {
				p.Close(socket.HeartbeatTimeout)
				return
			}
			arm(now)
		case <-p.done:
			return
		}
		for {
			select {
			case <-p.done:
				return
			default:
			}
			var tail int
			batch, ctl, tail = p.q.take(batch[:0], ctl, maxWriteBatch)
			if len(batch) == 0 && len(ctl) == 0 {
				break
			}
			bytes, err := w.write(batch, ctl, tail)
			n := weighAll(batch)
			wire.ReleaseAll(batch)
			p.q.done(n, bytes, err)
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					p.Close(socket.SlowConsumer)
				}
				p.fail(err, true)
				return
			}
		}
		w.free()
	}
}

// heartbeat is the writer's ZMTP 3.1 heartbeat state (RFC 37 "Connection
// Heartbeating"): it sends a PING every interval and declares the peer dead
// when nothing arrived within the timeout of an unanswered PING, or within
// the TTL the peer asked for in its own PING.
type heartbeat struct {
	nextPing   time.Time
	unanswered time.Time // when the oldest PING not followed by traffic went out
}

func (p *Peer) timeout() time.Duration {
	if p.cfg.HeartbeatTimeout > 0 {
		return p.cfg.HeartbeatTimeout
	}
	return p.cfg.HeartbeatIvl
}

// writeTimeout returns the bound on one write: the shorter of
// WriteTimeout and, with heartbeats on, the heartbeat timeout; 0 for none.
func (p *Peer) writeTimeout() time.Duration {
	d := p.cfg.WriteTimeout
	if p.cfg.HeartbeatIvl > 0 {
		if hb := p.timeout(); d == 0 || hb < d {
			d = hb
		}
	}
	return d
}

// next returns the time until the next heartbeat event, if any.
func (hb *heartbeat) next(p *Peer, now time.Time) (time.Duration, bool) {
	var at time.Time
	earliest := func(t time.Time) {
		if at.IsZero() || t.Before(at) {
			at = t
		}
	}
	if p.cfg.HeartbeatIvl > 0 {
		if hb.nextPing.IsZero() {
			hb.nextPing = now.Add(p.cfg.HeartbeatIvl)
		}
		earliest(hb.nextPing)
	}
	if !hb.unanswered.IsZero() {
		earliest(hb.unanswered.Add(p.timeout()))
	}
	if ttl := time.Duration(p.peerTTL.Load()); ttl > 0 {
		earliest(time.Unix(0, p.lastRecv.Load()).Add(ttl))
	}
	if at.IsZero() {
		return 0, false
	}
	d := at.Sub(now)
	if d < time.Millisecond {
		d = time.Millisecond
	}
	return d, true
}

// tick runs the heartbeat checks due at now. It returns false when the peer
// is to be considered dead.
func (hb *heartbeat) tick(p *Peer, now time.Time) bool {
	last := time.Unix(0, p.lastRecv.Load())
	if p.blocked.Load() {
		// We are not reading, so silence says nothing about the peer.
		last = now
	}
	if !hb.unanswered.IsZero() && last.After(hb.unanswered) {
		hb.unanswered = time.Time{}
	}
	if !hb.unanswered.IsZero() && now.Sub(hb.unanswered) >= p.timeout() {
		return false
	}
	if ttl := time.Duration(p.peerTTL.Load()); ttl > 0 && now.Sub(last) >= ttl {
		return false
	}
	if p.cfg.HeartbeatIvl > 0 && !now.Before(hb.nextPing) {
		ttl := p.cfg.HeartbeatTTL / (100 * time.Millisecond)
		if ttl > 0xFFFF {
			ttl = 0xFFFF
		}
		var buf [16]byte
		p.q.pushControl((&zmtp.Ping{TTL: uint16(ttl)}).Append(buf[:0]))
		if hb.unanswered.IsZero() {
			hb.unanswered = now
		}
		hb.nextPing = now.Add(p.cfg.HeartbeatIvl)
	}
	return true
}

// writer turns queued messages into as few writes as it can: small frames
// are copied into one buffer, large ones are sent from their own storage
// with writev.
type writer struct {
	conn    net.Conn
	codec   zmtp.Codec
	skip    int
	timeout time.Duration // bound on one flush; 0: none
	buf     *bytebufferpool.ByteBuffer
	iov     net.Buffers
}

func (w *writer) free() {
	if w.buf != nil {
		writeBufs.Put(w.buf)
		w.buf = nil
	}
	clear(w.iov)
	w.iov = w.iov[:0]
}

// write writes ctl, then batch, and returns the frame bytes of batch. ctl
// is what Queue.take gives: the tail of a direct write, already encoded,
// then commands to encode.
func (w *writer) write(batch []*wire.Msg, ctl []byte, tail int) (int, error) {
	if w.buf == nil {
		w.buf = writeBufs.Get()
	}
	b := append(w.buf.B[:0], ctl[:tail]...)
	for c := ctl[tail:]; len(c) >= 4; {
		n := int(binary.BigEndian.Uint32(c))
		b = w.codec.AppendCommand(b, c[4:4+n])
		c = c[4+n:]
	}
	mark := 0 // start of b not yet in iov
	plain := w.codec.Plain()
	bytes := 0
	for _, m := range batch {
		if msgmeta.Of(m).Run > 0 {
			var n int
			b, n = w.appendRun(b, m.Frames[0], plain)
			bytes += n
			if len(b)-mark >= maxWriteBatch {
				if err := w.flush(b[mark:]); err != nil {
					return bytes, err
				}
				b, mark = b[:0], 0
			}
			continue
		}
		frames := m.Frames
		if len(frames) <= w.skip {
			continue
		}
		frames = frames[w.skip:]
		if msgmeta.Of(m).Command {
			bytes += len(frames[0])
			b = w.codec.AppendCommand(b, frames[0])
			continue
		}
		last := len(frames) - 1
		for i, f := range frames {
			bytes += len(f)
			var flags byte
			if i < last {
				flags = zmtp.FlagMore
			}
			if plain && len(f) >= wire.LargeFrame {
				b = zmtp.AppendHeader(b, flags, len(f))
				w.iov = append(w.iov, b[mark:], f)
				mark = len(b)
			} else {
				b = w.codec.AppendFrame(b, flags, f)
			}
		}
		if len(b)-mark >= maxWriteBatch || len(w.iov) >= maxIovecs-2 {
			if err := w.flush(b[mark:]); err != nil {
				return bytes, err
			}
			b, mark = b[:0], 0
		}
	}
	err := w.flush(b[mark:])
	// Keep the length: the pool sizes its buffers from the lengths it is
	// given back, and would shrink them to nothing on empty ones.
	w.buf.B = b
	return bytes, err
}

// appendRun appends the frames of a run (Queue.SetPacking), each a
// two-byte header and its body, to b through the codec, as they are when
// it is plain, and returns b with the run's frame bytes.
func (w *writer) appendRun(b, run []byte, plain bool) ([]byte, int) {
	if plain {
		b = append(b, run...)
	}
	n := 0
	for len(run) >= 2 {
		size := int(run[1])
		if !plain {
			b = w.codec.AppendFrame(b, run[0], run[2:2+size])
		}
		n += size
		run = run[2+size:]
	}
	return b, n
}

// flush writes tail after what w.iov holds, within the write timeout. The
// deadline is cleared afterwards: WriteNow's direct writes, which never
// wait, must not find it passed.
func (w *writer) flush(tail []byte) error {
	if len(w.iov) == 0 && len(tail) == 0 {
		return nil
	}
	if w.timeout <= 0 {
		return w.writeOut(tail)
	}
	if err := w.conn.SetWriteDeadline(time.Now().Add(w.timeout)); err != nil {
		return err
	}
	err := w.writeOut(tail)
	if err2 := w.conn.SetWriteDeadline(time.Time{}); err == nil {
		err = err2
	}
	return err
}

func (w *writer) writeOut(tail []byte) error {
	if len(w.iov) == 0 {
		if len(tail) == 0 {
			return nil
		}
		_, err := w.conn.Write(tail)
		return err
	}
	if len(tail) > 0 {
		w.iov = append(w.iov, tail)
	}
	bufs := w.iov
	_, err := bufs.WriteTo(w.conn)
	clear(w.iov)
	w.iov = w.iov[:0]
	return err
}

// Exited returns a channel that is closed when both goroutines of the peer
// have returned and its connection is closed.
func (p *Peer) Exited() <-chan struct{} { return p.exited }
