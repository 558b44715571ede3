package core

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/zrouter/zrouter/internal/config"
	"github.com/zrouter/zrouter/internal/transport"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/zmtp"
)

// acceptRetry is the pause after an accept error other than closing, such
// as running out of file descriptors.
const acceptRetry = 100 * time.Millisecond

// binding is one bound endpoint.
type binding struct {
	endpoint string          // as Bind was given it
	addr     string          // as bound
	ln       net.Listener    // nil for inproc
	inproc   string          // the name, for inproc
	ctx      context.Context // ends at Unbind or Close: handshakes stop
	cancel   context.CancelFunc
	pipes    map[*Pipe]struct{} // of accepted connections; guarded by Socket.mu
}

// connecter is one Connect: its loop, and its pipe unless immediate.
type connecter struct {
	endpoint string
	ep       transport.Endpoint
	inproc   string // the name, for inproc; ep is then unset
	cfg      *config.Config
	pipe     *Pipe           // nil when immediate
	ctx      context.Context // ends at Disconnect or Close
	cancel   context.CancelFunc
	done     chan struct{} // closed when the loop has returned

	// mu orders Disconnect's halt with an inproc connection being brought
	// up, so that none comes up after Disconnect has returned.
	mu     sync.Mutex
	halted bool // by Disconnect: no new connections, unless lingering
}

// halt is Disconnect's stop of cn's attempts. The connect loop's context
// ends only after the linger time, when cn's pipe has drained; until
// then a connection that ends must not be made again, or it comes up
// beside the next Connect's as a second connection of the same routing
// id, and a ROUTER with handover then hands that id to the one that is
// going away.
func (cn *connecter) halt() {
	cn.mu.Lock()
	cn.halted = true
	cn.mu.Unlock()
}

// quitting reports whether cn makes no more connections: its socket is
// closing or Disconnect halted it, and its pipe has nothing to deliver
// in a linger time. A lingering pipe with messages still reconnects to
// deliver them, as libzmq's session does while it terminates. The caller
// holds cn.mu.
func (s *Socket) quittingLocked(cn *connecter) bool {
	if !cn.halted && !s.closing.Load() {
		return false
	}
	return s.cfg.Linger == 0 || cn.pipe == nil || cn.pipe.Q.Len() == 0
}

// quitting is quittingLocked for a caller that does not hold cn.mu.
func (s *Socket) quitting(cn *connecter) bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return s.quittingLocked(cn)
}

func transportOptions(c *config.Config) transport.Options {
	return transport.Options{
		IPv6:              c.IPv6,
		Keepalive:         c.Keepalive.Mode,
		KeepaliveIdle:     c.Keepalive.Idle,
		KeepaliveInterval: c.Keepalive.Interval,
		KeepaliveCount:    c.Keepalive.Count,
		IPCPerm:           c.IPCPerm,
		IPCFilter:         transport.IPCFilter{UIDs: c.IPCFilter.UIDs, GIDs: c.IPCFilter.GIDs, PIDs: c.IPCFilter.PIDs},
	}
}

// Bind listens on endpoint.
func (s *Socket) Bind(endpoint string) error {
	if name, ok, err := inprocName(endpoint); ok {
		if err != nil {
			return err
		}
		return s.bindInprocEndpoint(endpoint, name)
	}
	ep, err := transport.Parse(endpoint, true)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return net.ErrClosed
	}
	ln, err := transport.Listen(s.ctx, ep, transportOptions(&s.cfg))
	if err != nil {
		err = fmt.Errorf("bind %s: %w", endpoint, err)
		// As libzmq reports it: the socket it made is closed, then the
		// bind fails.
		s.emit(socket.Event{Kind: socket.EventClosed, Endpoint: endpoint},
			socket.Event{Kind: socket.EventBindFailed, Endpoint: endpoint, Err: err})
		return err
	}
	b := &binding{endpoint: endpoint, addr: transport.Bound(ep, ln).String(), ln: ln, pipes: make(map[*Pipe]struct{})}
	b.ctx, b.cancel = context.WithCancel(s.ctx)
	s.binds = append(s.binds, b)
	s.log.Debug("listening", "endpoint", b.addr)
	s.emit(socket.Event{Kind: socket.EventListening, Endpoint: b.addr})
	s.loops.Add(1)
	go s.acceptLoop(b)
	return nil
}

// Addr returns the endpoint of the most recent Bind still bound.
func (s *Socket) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.binds) == 0 {
		return ""
	}
	return s.binds[len(s.binds)-1].addr
}

func (s *Socket) acceptLoop(b *binding) {
	defer s.loops.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			if b.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			if errors.Is(err, transport.ErrPeerFiltered) {
				// Closed already; as libzmq, an accept failure, and
				// the next accept at once.
				s.counters.refusedFilter.Add(1)
				s.log.Warn("peer refused by the IPC filters", "endpoint", b.addr, "err", err)
				s.emit(socket.Event{Kind: socket.EventAcceptFailed, Endpoint: b.addr, Err: err})
				continue
			}
			s.log.Warn("accept failed", "endpoint", b.addr, "err", err)
			s.emit(socket.Event{Kind: socket.EventAcceptFailed, Endpoint: b.addr, Err: err})
			if !sleep(b.ctx, acceptRetry) {
				return
			}
			continue
		}
		s.emit(socket.Event{Kind: socket.EventAccepted, Endpoint: b.addr, Remote: remoteAddr(c)})
		if max := s.cfg.MaxHandshakes; max > 0 && s.handshaking.Load() >= int64(max) {
			s.tooManyHandshakes(b, c)
			continue
		}
		s.handshaking.Add(1)
		s.loops.Add(1)
		go func() {
			defer s.loops.Done()
			s.serveAccepted(b, c)
		}()
	}
}

// errTooManyHandshakes is the failure of a connection closed at once
// because the socket had its maximum of handshakes under way.
var errTooManyHandshakes = errors.New("too many handshakes under way")

// tooManyHandshakes closes an accepted connection at once, the socket
// having its maximum of handshakes under way, and counts it as a failed
// handshake.
func (s *Socket) tooManyHandshakes(b *binding, c net.Conn) {
	_ = c.Close()
	s.counters.handshakeFailed.Add(1)
	remote := remoteAddr(c)
	if ok, n := s.logs.allow(hostOf(remote), errTooManyHandshakes.Error(), time.Now()); ok {
		s.log.Warn("handshake refused", "endpoint", b.addr, "remote", remote, "why", errTooManyHandshakes,
			"max", s.cfg.MaxHandshakes, "suppressed", n)
	}
	s.emit(socket.Event{Kind: socket.EventHandshakeFailed, Endpoint: b.addr, Remote: remote, Err: errTooManyHandshakes,
		Failure: socket.HandshakeRefused},
		socket.Event{Kind: socket.EventDisconnected, Endpoint: b.addr, Remote: remote, Reason: socket.Refused})
}

// serveAccepted runs the handshake of an accepted connection, off the
// accept loop so that a slow peer never delays the next accept, and
// admits it.
func (s *Socket) serveAccepted(b *binding, c net.Conn) {
	sess, err := s.handshake(b.ctx, c, &s.cfg, b.addr)
	s.handshaking.Add(-1)
	if err != nil {
		return
	}
	s.admitAccepted(b, c, sess)
}

// admitAccepted makes the pipe of a connection accepted through b whose
// handshake succeeded (or, for inproc, that needs none), and runs the
// connection on it once the routing admits it. It reports whether the
// connection was admitted; when not, it is closed.
func (s *Socket) admitAccepted(b *binding, c net.Conn, sess *zmtp.Session) bool {
	p := newPipe(s, &s.cfg, b.addr, s.SendHWM(), int(s.rcvhwm.Load()), false)
	p.accepted, p.bind = true, b
	s.mu.Lock()
	unbound := b.ctx.Err() != nil
	if !unbound {
		b.pipes[p] = struct{}{}
	}
	s.mu.Unlock()
	if unbound {
		_ = c.Close()
		return false
	}
	if err := s.addPipe(p); err != nil {
		s.refuse(p, c, sess, err)
		return false
	}
	return s.attach(p, c, sess) != nil
}

// Unbind stops listening on endpoint and closes its connections.
func (s *Socket) Unbind(endpoint string) error {
	s.mu.Lock()
	i := slices.IndexFunc(s.binds, func(b *binding) bool { return b.matches(endpoint) })
	if i < 0 {
		s.mu.Unlock()
		if s.closing.Load() {
			return net.ErrClosed
		}
		return fmt.Errorf("%w: %s", socket.ErrUnknownEndpoint, endpoint)
	}
	b := s.binds[i]
	s.binds = slices.Delete(s.binds, i, i+1)
	var pipes []*Pipe
	for p := range b.pipes {
		pipes = append(pipes, p)
	}
	s.loops.Add(1)
	s.mu.Unlock()
	s.closeListener(b)
	for _, p := range pipes {
		s.detach(p)
	}
	go func() {
		defer s.loops.Done()
		for _, p := range pipes {
			s.end(p, nil, nil)
		}
	}()
	return nil
}

// matches reports whether Unbind(endpoint) names b: by the endpoint Addr
// reported, as libzmq looks it up, or by the one Bind was given when that
// had no wildcard.
func (b *binding) matches(endpoint string) bool {
	if endpoint == b.addr {
		return true
	}
	ep, err := transport.Parse(b.endpoint, true)
	return err == nil && endpoint == b.endpoint && !ep.Wildcard()
}

// closeListener stops b's accept loop and the handshakes it started.
func (s *Socket) closeListener(b *binding) {
	b.cancel()
	if b.ln != nil {
		_ = b.ln.Close()
	} else {
		unbindInproc(b.inproc, b)
	}
	s.emit(socket.Event{Kind: socket.EventClosed, Endpoint: b.addr})
}

// end finishes a pipe that Disconnect or Unbind has detached, as
// zmq_disconnect and zmq_unbind do: no new message goes to it, what it
// received and was not read is dropped, what is queued has the linger time
// to go out, and then its connection closes. more is
// as for drain: a Connect's pipe may still connect, as libzmq's connecter
// goes on during the linger; stop, when set, ends those attempts before the
// connection closes. The pipe is retired when its connection has ended: by
// the connection's exit, or by the connect loop.
func (s *Socket) end(p *Pipe, more <-chan struct{}, stop func()) {
	s.detach(p)
	p.Src.Discard()
	ctx, cancel := s.lingerContext(s.ctx)
	s.drain(ctx, p, more)
	cancel()
	if stop != nil {
		stop()
	}
	p.Close(socket.ClosedByOwner)
}

// lingerContext returns a context that ends when the linger time has
// passed (at once for 0), or when parent ends.
func (s *Socket) lingerContext(parent context.Context) (context.Context, context.CancelFunc) {
	switch l := s.cfg.Linger; {
	case l < 0:
		return context.WithCancel(parent)
	case l == 0:
		ctx, cancel := context.WithCancel(parent)
		cancel()
		return ctx, cancel
	default:
		return context.WithTimeout(parent, l)
	}
}

// Connect connects to endpoint in the background.
func (s *Socket) Connect(endpoint string, opts []socket.Option) error {
	var ep transport.Endpoint
	name, inproc, err := inprocName(endpoint)
	if !inproc {
		ep, err = transport.Parse(endpoint, false)
	}
	if err != nil {
		return err
	}
	cfg := s.cfg
	cfg.SendHWM, cfg.RecvHWM = s.SendHWM(), int(s.rcvhwm.Load())
	if err := config.Apply(&cfg, true, unwrap(opts), socket.ErrBadOption); err != nil {
		return err
	}
	cn := &connecter{endpoint: endpoint, ep: ep, inproc: name, cfg: &cfg, done: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return net.ErrClosed
	}
	if !cfg.Immediate {
		// The pipe outlives its connections unless it never reconnects;
		// it is made at once, as libzmq makes it in zmq_connect.
		cn.pipe = newPipe(s, cn.cfg, endpoint, cfg.SendHWM, cfg.RecvHWM, cfg.ReconnectIvl > 0)
		cn.pipe.more = cn.done
		if err := s.addPipe(cn.pipe); err != nil {
			return err
		}
	}
	cn.ctx, cn.cancel = context.WithCancel(s.ctx)
	s.conns = append(s.conns, cn)
	s.loops.Add(1)
	go s.connectLoop(cn)
	return nil
}

// Disconnect stops connecting to endpoint and removes its pipes.
func (s *Socket) Disconnect(endpoint string) error {
	s.mu.Lock()
	var cns []*connecter
	s.conns = slices.DeleteFunc(s.conns, func(cn *connecter) bool {
		if cn.endpoint == endpoint {
			cns = append(cns, cn)
			return true
		}
		return false
	})
	if len(cns) == 0 {
		s.mu.Unlock()
		if s.closing.Load() {
			return net.ErrClosed
		}
		return fmt.Errorf("%w: %s", socket.ErrUnknownEndpoint, endpoint)
	}
	s.loops.Add(1)
	s.mu.Unlock()
	for _, cn := range cns {
		cn.halt()
		if cn.pipe != nil {
			s.detach(cn.pipe)
		}
	}
	go func() {
		defer s.loops.Done()
		for _, cn := range cns {
			if cn.pipe != nil {
				s.end(cn.pipe, cn.done, cn.cancel)
			}
			cn.cancel()
			<-cn.done
			if cn.pipe != nil {
				s.retire(cn.pipe)
			}
		}
	}()
	return nil
}

// connectLoop keeps cn's connection up until cn.ctx ends, and retires
// cn's pipe when it stops, as libzmq's session does:
//
//   - after Disconnect or Close;
//   - after a protocol error, when it does not reconnect either: the pipe
//     goes, and the endpoint stays until Disconnect;
//   - without reconnects (ZMQ_RECONNECT_IVL -1 or 0), after its connection
//     ended: the endpoint goes with the pipe. When the one attempt failed
//     instead, both stay, the pipe holding what is sent to it.
func (s *Socket) connectLoop(cn *connecter) {
	defer s.loops.Done()
	defer close(cn.done)
	var (
		failures int
		refused  int    // of the failures, those of authentication
		warned   string // the failure last logged at WARN, until a connection comes up
		ended    bool   // a connection came up and ended
		stop     bool   // a protocol error: no more attempts
	)
	for cn.ctx.Err() == nil && !stop && !s.quitting(cn) {
		var (
			c    net.Conn
			err  error
			ep   transport.Endpoint
			sess *zmtp.Session // an inproc connection's, in place of a handshake
		)
		if cn.inproc != "" {
			c, sess, err = s.dialInproc(cn)
		} else {
			ep, err = transport.Resolve(cn.ctx, cn.ep, transportOptions(cn.cfg))
		}
		if err == nil && c == nil {
			s.emit(socket.Event{Kind: socket.EventConnectDelayed, Endpoint: cn.endpoint})
			if c, err = transport.Dial(cn.ctx, ep, transportOptions(cn.cfg)); err != nil {
				s.emit(socket.Event{Kind: socket.EventClosed, Endpoint: cn.endpoint})
			}
		}
		if err == nil {
			s.emit(socket.Event{Kind: socket.EventConnected, Endpoint: cn.endpoint, Remote: remoteAddr(c)})
			done, next := s.connected(cn, c, sess)
			if done != nil {
				if warned != "" {
					s.log.Info("connected", "endpoint", cn.endpoint)
					warned = ""
				}
				failures, refused = 0, 0
				stop = protocolClose(<-done)
				ended = true
			} else {
				failures++
				if next == retrySlower {
					refused++
				}
				stop = next == retryNever
			}
		} else if cn.ctx.Err() == nil && !errors.Is(err, errQuitting) {
			failures++
			if why := err.Error(); why != warned {
				s.log.Warn("connect failed; retrying", "endpoint", cn.endpoint, "err", err)
				warned = why
			} else {
				s.log.Debug("connect failed", "endpoint", cn.endpoint, "err", err)
			}
		}
		if cn.ctx.Err() != nil || stop || cn.cfg.ReconnectIvl <= 0 || s.quitting(cn) {
			break
		}
		ivl := backoff(cn.cfg, max(failures, 1), cn.cfg.ReconnectIvlMax)
		if refused > 0 {
			ivl = backoff(cn.cfg, refused, refusedBackoffMax(cn.cfg))
		}
		s.emit(socket.Event{Kind: socket.EventConnectRetried, Endpoint: cn.endpoint, Interval: ivl, Err: err})
		if !sleep(cn.ctx, ivl) {
			break
		}
	}
	switch {
	case cn.ctx.Err() != nil, s.quitting(cn):
		// Disconnect or Close retires the pipe.
	case stop:
		s.log.Warn("not reconnecting after a protocol error", "endpoint", cn.endpoint)
		s.retirePipe(cn)
	case ended:
		// The endpoint goes first, so that nobody sees the pipe gone and
		// the endpoint still there.
		s.mu.Lock()
		s.conns = slices.DeleteFunc(s.conns, func(x *connecter) bool { return x == cn })
		s.mu.Unlock()
		s.retirePipe(cn)
	}
}

// retirePipe retires cn's pipe, if it has one.
func (s *Socket) retirePipe(cn *connecter) {
	if cn.pipe != nil {
		s.detach(cn.pipe)
		s.retire(cn.pipe)
	}
}

// protocolClose reports whether a connection that ended for reason r is
// one after which libzmq does not reconnect.
func protocolClose(r socket.CloseReason) bool {
	switch r {
	case socket.ProtocolError, socket.TooLarge, socket.PeerSentError:
		return true
	}
	return false
}

// connected runs the handshake of a connection cn made and admits it on
// cn's pipe, or on a pipe of its own when immediate. It returns what
// attach returns, and, when the handshake failed, what to do next. An
// inproc connection comes with its session, and starts once admitted.
func (s *Socket) connected(cn *connecter, c net.Conn, sess *zmtp.Session) (<-chan socket.CloseReason, retry) {
	if sess != nil {
		done, next := s.admit(cn, c, sess)
		if done != nil {
			c.(interface{ Start() }).Start()
		}
		return done, next
	}
	sess, err := s.handshake(cn.ctx, c, cn.cfg, cn.endpoint)
	if err != nil {
		f, _ := classify(err)
		switch {
		case f == socket.HandshakeProtocol, f == socket.HandshakeMechanism, f == socket.HandshakeSocketType:
			return nil, retryNever
		case f == socket.HandshakeAuth, cn.cfg.Mechanism != nil:
			// Refused, or hung up on by a server that checks
			// credentials (which is how libzmq refuses a wrong key).
			return nil, retrySlower
		}
		return nil, retryAgain
	}
	return s.admit(cn, c, sess)
}

// admit admits a connection whose handshake succeeded on cn's pipe, or
// on a pipe of its own when immediate.
func (s *Socket) admit(cn *connecter, c net.Conn, sess *zmtp.Session) (<-chan socket.CloseReason, retry) {
	p := cn.pipe
	if p == nil {
		p = newPipe(s, cn.cfg, cn.endpoint, s.SendHWM(), int(s.rcvhwm.Load()), false)
		if err := s.addPipe(p); err != nil {
			s.refuse(p, c, sess, err)
			return nil, retryAgain
		}
	}
	return s.attach(p, c, sess), retryAgain
}

// retry is what a connect loop does after a failed handshake.
type retry int

const (
	retryAgain  retry = iota // after the reconnect interval, as any failure
	retrySlower              // after a wait that doubles while the server refuses us
	retryNever               // a protocol error: libzmq does not reconnect
)

// backoff returns the wait after the n-th consecutive failure (n >= 1), as
// libzmq's ZMQ_RECONNECT_IVL and ZMQ_RECONNECT_IVL_MAX define it: the
// interval, doubling after each failure up to limit when limit is larger,
// plus random jitter of up to one interval, so that many sockets do not
// reconnect in step.
func backoff(c *config.Config, n int, limit time.Duration) time.Duration {
	base := c.ReconnectIvl
	if base <= 0 {
		base = 100 * time.Millisecond
	}
	d := base
	if limit > d {
		for i := 1; i < n && d < limit; i++ {
			d *= 2
		}
		d = min(d, limit)
	}
	return d + time.Duration(rand.Int64N(int64(base)))
}

// refusedBackoff is how long the wait between attempts grows to, by
// default, while a server refuses our credentials.
const refusedBackoff = 30 * time.Second

// refusedBackoffMax returns how long the wait between attempts grows to
// while a server refuses our credentials or hangs up on them: the
// reconnect maximum when one is set, or else refusedBackoff. libzmq stops
// for good after an ERROR, and retries at the reconnect interval after a
// hang-up (libzmq issues 882 and 883), which turns one bad key into a
// stream of handshakes. Doubling the wait bounds what that costs both
// sides, and an attempt still comes once the server lets us in.
func refusedBackoffMax(c *config.Config) time.Duration {
	if c.ReconnectIvlMax > c.ReconnectIvl {
		return c.ReconnectIvlMax
	}
	return max(refusedBackoff, c.ReconnectIvl)
}

// sleep waits for d or until ctx ends, and reports whether the full wait
// elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
