package dealer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/zrouter/zrouter/lb"
	"github.com/zrouter/zrouter/peer"
	"github.com/zrouter/zrouter/transport"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// pipe is one outbound queue in the round robin. A pipe made by Connect
// lives until Close and carries every connection to its endpoint in turn; a
// pipe made for an accepted connection lives as long as that connection.
//
// Fields other than q are guarded by Dealer.mu.
type pipe struct {
	q          *peer.Queue
	persistent bool       // made by Connect
	dead       bool       // left the dealer; the round robin drops it
	conn       *peer.Peer // the running connection, or nil
}

// Dealer is a ZeroMQ DEALER socket.
//
// All methods are safe for concurrent use. Messages passed to Send and
// returned by Recv are owned by whoever holds them: Send takes ownership on
// success, and the caller of Recv releases what it receives (or sends it on).
type Dealer struct {
	cfg   config
	inbox *peer.Inbox

	ctx    context.Context // ends when Close starts
	cancel context.CancelFunc

	// mu guards the fields below; it is never held across I/O.
	mu        sync.Mutex
	listeners []net.Listener
	closed    bool
	rr        lb.RoundRobin[*pipe]
	pipes     map[*pipe]struct{}
	live      map[*peer.Peer]struct{}
	change    chan struct{} // closed and replaced when pipes or connections change
	totals    Stats         // counters of pipes and connections that have gone

	loops  sync.WaitGroup // accept, handshake and connect goroutines
	peers  sync.WaitGroup // connections until their exit has been recorded
	closeD chan struct{}  // closed when Close has finished
}

// New returns a Dealer with the given options. It starts no goroutine until
// Bind or Connect.
func New(opts ...Option) (*Dealer, error) {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.routingID != nil && !validUserID(cfg.routingID) {
		return nil, ErrBadRoutingID
	}
	if cfg.sendHWM < 0 || cfg.recvHWM < 0 {
		return nil, errors.New("dealer: negative high-water mark")
	}
	d := &Dealer{
		cfg:    cfg,
		inbox:  peer.NewInbox(),
		pipes:  make(map[*pipe]struct{}),
		live:   make(map[*peer.Peer]struct{}),
		change: make(chan struct{}),
		closeD: make(chan struct{}),
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	return d, nil
}

func validUserID(id []byte) bool {
	return len(id) >= 1 && len(id) <= 255 && id[0] != 0
}

func (d *Dealer) zmtpConfig() *zmtp.Config {
	return &zmtp.Config{
		SocketType: zmtp.DEALER,
		Identity:   d.cfg.routingID,
		Timeout:    d.cfg.handshakeTimeout,
		MaxSize:    d.cfg.maxMsgSize,
	}
}

// Bind listens on endpoint (tcp://HOST:PORT, where HOST may be * and PORT
// may be 0 or * for any free port) and accepts peers there until Close.
// Addr reports the address actually bound.
func (d *Dealer) Bind(endpoint string) error {
	ep, err := transport.Parse(endpoint)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return net.ErrClosed
	}
	ln, err := transport.Listen(ep)
	if err != nil {
		return fmt.Errorf("dealer: bind %s: %w", endpoint, err)
	}
	d.listeners = append(d.listeners, ln)
	d.loops.Add(1)
	go func() {
		defer d.loops.Done()
		transport.Serve(d.ctx, ln, &d.loops, d.cfg.logger, func(c net.Conn) { d.start(c, nil) })
	}()
	return nil
}

// Addr returns the endpoint of the most recent Bind, with the port actually
// bound (like ZMQ_LAST_ENDPOINT), or "" before any Bind.
func (d *Dealer) Addr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.listeners) == 0 {
		return ""
	}
	return transport.FromAddr(d.listeners[len(d.listeners)-1].Addr()).String()
}

// Connect connects to endpoint (tcp://HOST:PORT) in the background and keeps
// the connection up, reconnecting with the configured backoff until Close.
// The endpoint's pipe joins the round robin at once: messages sent to it
// before the connection is up wait in its queue.
func (d *Dealer) Connect(endpoint string) error {
	ep, err := transport.Parse(endpoint)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return net.ErrClosed
	}
	pp := &pipe{q: peer.NewQueue(d.cfg.sendHWM, 0), persistent: true}
	d.addPipeLocked(pp)
	d.loops.Add(1)
	go d.connectLoop(ep, pp)
	return nil
}

func (d *Dealer) connectLoop(ep transport.Endpoint, pp *pipe) {
	defer d.loops.Done()
	b := transport.Backoff{Ivl: d.cfg.reconnectIvl, Max: d.cfg.reconnectIvlMax}
	transport.Redial(d.ctx, ep, b, d.cfg.logger, func(c net.Conn) <-chan struct{} {
		// The pipe's queue outlives the connection: waiting for the
		// connection to exit lets the old writer finish before a new one
		// takes over.
		if p := d.start(c, pp); p != nil {
			return p.Exited()
		}
		return nil
	})
}

// start runs the handshake on c, then starts a connection on pp (nil: a new
// pipe of its own). It returns the running peer, or nil.
func (d *Dealer) start(c net.Conn, pp *pipe) *peer.Peer {
	sess, err := peer.Handshake(d.ctx, c, d.zmtpConfig())
	if err != nil {
		if d.ctx.Err() == nil {
			d.cfg.logger.Info("dealer: handshake failed", "remote", c.RemoteAddr(), "err", err)
		}
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		_ = c.Close()
		return nil
	}
	if pp == nil {
		pp = &pipe{q: peer.NewQueue(d.cfg.sendHWM, 0)}
		d.addPipeLocked(pp)
	}
	pcfg := peer.Config{
		HeartbeatIvl:     d.cfg.heartbeatIvl,
		HeartbeatTTL:     d.cfg.heartbeatTTL,
		HeartbeatTimeout: d.cfg.heartbeatTimeout,
	}
	d.peers.Add(1)
	p := peer.Start(c, sess, nil, pp.q, d.inbox.NewSource(d.cfg.recvHWM), pcfg, func(p *peer.Peer) {
		defer d.peers.Done()
		d.exit(pp, p)
	})
	pp.conn = p
	d.live[p] = struct{}{}
	d.changedLocked()
	d.cfg.logger.Debug("dealer: peer up", "remote", c.RemoteAddr(), "type", sess.SocketType, "id", sess.Identity)
	return p
}

// exit records a connection whose goroutines have ended.
func (d *Dealer) exit(pp *pipe, p *peer.Peer) {
	d.cfg.logger.Debug("dealer: peer down", "remote", p.RemoteAddr(), "reason", p.Reason())
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.live, p)
	d.totals.Received += p.Source().Received()
	if pp.conn == p {
		pp.conn = nil
	}
	if !pp.persistent {
		d.removePipeLocked(pp)
	}
	d.changedLocked()
}

func (d *Dealer) addPipeLocked(pp *pipe) {
	d.pipes[pp] = struct{}{}
	d.rr.Add(pp)
	d.changedLocked()
}

// removePipeLocked takes pp out of the dealer and drops what it still holds.
func (d *Dealer) removePipeLocked(pp *pipe) {
	pp.dead = true
	delete(d.pipes, pp)
	d.totals.Dropped += uint64(pp.q.Len())
	pp.q.Close()
	qs := pp.q.Stats()
	d.totals.Sent += qs.Written
	d.totals.SentDirect += qs.Direct
	// Dead pipes leave the round robin lazily, when Next meets them; if
	// nothing is sent for a while they could pile up, so compact when they
	// outnumber the live ones.
	if d.rr.Len() > 2*len(d.pipes)+64 {
		d.rr.Compact(alive)
	}
}

// changedLocked wakes the senders that wait for a pipe to appear or to
// change.
func (d *Dealer) changedLocked() {
	close(d.change)
	d.change = make(chan struct{})
}

func alive(pp *pipe) bool { return !pp.dead }

func connected(pp *pipe) bool { return pp.conn != nil }

// Recv returns the next message, fair-queued across connections. It waits
// while ctx allows and returns net.ErrClosed after Close.
func (d *Dealer) Recv(ctx context.Context) (*wire.Msg, error) {
	return d.inbox.Recv(ctx)
}

// Send queues m on the next pipe in round robin whose queue has room, and
// takes ownership of it. When no pipe has room, or there is no pipe yet,
// Send waits while ctx allows; it never drops m. When Send returns an error
// (ctx's, ErrNoFrames, or net.ErrClosed after Close), the caller keeps
// ownership of m.
func (d *Dealer) Send(ctx context.Context, m *wire.Msg) error {
	return d.send(ctx, m, true)
}

// TrySend is Send that never waits: where Send would wait it returns
// ErrWouldBlock, and the caller keeps m.
func (d *Dealer) TrySend(m *wire.Msg) error {
	return d.send(context.Background(), m, false)
}

// SendFrames copies frames into a new message and sends it.
func (d *Dealer) SendFrames(ctx context.Context, frames ...[]byte) error {
	m := wire.New(frames...)
	err := d.Send(ctx, m)
	if err != nil {
		m.Release()
	}
	return err
}

// errChanged ends a wait on one pipe when the set of pipes changes.
var errChanged = errors.New("dealer: pipes changed")

func (d *Dealer) send(ctx context.Context, m *wire.Msg, wait bool) error {
	if len(m.Frames) == 0 {
		return ErrNoFrames
	}
	if m.Drained() && d.sendNow(m) {
		return nil
	}
	for {
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return net.ErrClosed
		}
		if d.pushLocked(m) {
			d.mu.Unlock()
			return nil
		}
		if !wait {
			d.mu.Unlock()
			return ErrWouldBlock
		}
		target, others := d.waitTargetLocked()
		change := d.change
		d.mu.Unlock()

		if target == nil {
			select {
			case <-change:
				continue
			case <-ctx.Done():
				return ctx.Err()
			case <-d.ctx.Done():
				return net.ErrClosed
			}
		}
		wctx, cancel := ctx, context.CancelFunc(nil)
		if others {
			// Another connected pipe may drain first: look again soon.
			wctx, cancel = context.WithTimeout(ctx, recheck)
		}
		err := target.q.PushWait(wctx, m, change, errChanged)
		if cancel != nil {
			cancel()
		}
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The pipe closed, the pipes changed, or it is time to look
		// again: go round.
	}
}

// sendNow hands m to the next live pipe in round robin, for a message that
// Recv returned with nothing waiting behind it (typically a reply). When
// that pipe is connected and its queue idle, m is written from the caller's
// goroutine (Peer.WriteNow), saving the hand-off to the writer; otherwise it
// is queued there as usual. It reports whether the pipe took m; when not,
// Send goes on to the other pipes.
func (d *Dealer) sendNow(m *wire.Msg) bool {
	d.mu.Lock()
	pp, ok := d.rr.Next(alive, nil)
	if !ok || d.closed {
		d.mu.Unlock()
		return false
	}
	p := pp.conn
	if p == nil {
		ok = pp.q.Push(m) == nil
		d.mu.Unlock()
		return ok
	}
	d.mu.Unlock()
	// Outside the lock: the write is a system call. Should the connection
	// end meanwhile, m is lost with it, as one the writer had taken would
	// be.
	return p.WriteNow(m) || pp.q.Push(m) == nil
}

// pushLocked queues m on the next live pipe with room, and reports whether
// one took it.
func (d *Dealer) pushLocked(m *wire.Msg) bool {
	for tries := d.rr.Len(); tries > 0; tries-- {
		pp, ok := d.rr.Next(alive, nil)
		if !ok {
			return false
		}
		if pp.q.Push(m) == nil {
			return true
		}
	}
	return false
}

// waitTargetLocked picks the full pipe for a Send to wait on: a connected
// one when there is one, since only those drain. others reports whether
// another connected pipe could drain first.
func (d *Dealer) waitTargetLocked() (target *pipe, others bool) {
	n := 0
	for pp := range d.pipes {
		if pp.conn != nil {
			n++
		}
	}
	if pp, ok := d.rr.Next(alive, connected); ok {
		return pp, n > 1
	}
	if pp, ok := d.rr.Next(alive, nil); ok {
		return pp, false
	}
	return nil, false
}

// Stats returns the dealer's counters.
func (d *Dealer) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.totals
	s.Peers = len(d.live)
	s.Pipes = len(d.pipes)
	for pp := range d.pipes {
		qs := pp.q.Stats()
		s.Queued += qs.Queued
		s.Sent += qs.Written
		s.SentDirect += qs.Direct
	}
	for p := range d.live {
		s.Received += p.Source().Received()
	}
	return s
}

// Close stops accepting and connecting, closes every connection, drops the
// messages still queued (they are counted in Stats.Dropped), and returns when
// every goroutine the dealer started has ended. Recv and Send calls that wait
// return net.ErrClosed, and so does every later call. Close is idempotent.
func (d *Dealer) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		<-d.closeD
		return nil
	}
	d.closed = true
	d.cancel()
	for _, ln := range d.listeners {
		_ = ln.Close()
	}
	d.mu.Unlock()
	d.loops.Wait() // no connection starts after this

	d.mu.Lock()
	ps := make([]*peer.Peer, 0, len(d.live))
	for p := range d.live {
		ps = append(ps, p)
	}
	d.mu.Unlock()
	for _, p := range ps {
		p.Close(peer.ClosedByOwner)
	}
	d.peers.Wait()

	d.mu.Lock()
	for pp := range d.pipes {
		d.removePipeLocked(pp)
	}
	d.rr.Compact(alive)
	d.changedLocked()
	d.mu.Unlock()
	d.inbox.Close()
	close(d.closeD)
	return nil
}
