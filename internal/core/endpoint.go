package core

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"time"

	"github.com/zrouter/zrouter/internal/config"
	"github.com/zrouter/zrouter/internal/transport"
	"github.com/zrouter/zrouter/socket"
)

// acceptRetry is the pause after an accept error other than closing, such
// as running out of file descriptors.
const acceptRetry = 100 * time.Millisecond

// binding is one bound endpoint.
type binding struct {
	endpoint string // as Bind was given it
	addr     string // as bound
	ln       net.Listener
	ctx      context.Context // ends at Unbind or Close: handshakes stop
	cancel   context.CancelFunc
	pipes    map[*Pipe]struct{} // of accepted connections; guarded by Socket.mu
}

// connecter is one Connect: its loop, and its pipe unless immediate.
type connecter struct {
	endpoint string
	ep       transport.Endpoint
	cfg      *config.Config
	pipe     *Pipe           // nil when immediate
	ctx      context.Context // ends at Disconnect or Close
	cancel   context.CancelFunc
}

func transportOptions(c *config.Config) transport.Options {
	return transport.Options{
		IPv6:              c.IPv6,
		Keepalive:         c.Keepalive.Mode,
		KeepaliveIdle:     c.Keepalive.Idle,
		KeepaliveInterval: c.Keepalive.Interval,
		KeepaliveCount:    c.Keepalive.Count,
	}
}

// Bind listens on endpoint.
func (s *Socket) Bind(endpoint string) error {
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
		s.emit(socket.Event{Kind: socket.EventBindFailed, Endpoint: endpoint, Err: err})
		return err
	}
	b := &binding{endpoint: endpoint, addr: transport.FromAddr(ln.Addr()).String(), ln: ln, pipes: make(map[*Pipe]struct{})}
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
			s.log.Warn("accept failed", "endpoint", b.addr, "err", err)
			s.emit(socket.Event{Kind: socket.EventAcceptFailed, Endpoint: b.addr, Err: err})
			if !sleep(b.ctx, acceptRetry) {
				return
			}
			continue
		}
		s.emit(socket.Event{Kind: socket.EventAccepted, Endpoint: b.addr, Remote: remoteAddr(c)})
		s.loops.Add(1)
		go func() {
			defer s.loops.Done()
			s.serveAccepted(b, c)
		}()
	}
}

// serveAccepted runs the handshake of an accepted connection, off the
// accept loop so that a slow peer never delays the next accept, and
// admits it.
func (s *Socket) serveAccepted(b *binding, c net.Conn) {
	sess, err := s.handshake(b.ctx, c, &s.cfg, b.addr)
	if err != nil {
		return
	}
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
		return
	}
	if err := s.addPipe(p); err != nil {
		s.refuse(p, c, sess, err)
		return
	}
	s.attach(p, c, sess)
}

// Unbind stops listening on endpoint and closes its connections.
func (s *Socket) Unbind(endpoint string) error {
	s.mu.Lock()
	i := slices.IndexFunc(s.binds, func(b *binding) bool { return b.endpoint == endpoint || b.addr == endpoint })
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
	go func() {
		defer s.loops.Done()
		for _, p := range pipes {
			s.end(p)
		}
	}()
	return nil
}

// closeListener stops b's accept loop and the handshakes it started.
func (s *Socket) closeListener(b *binding) {
	b.cancel()
	_ = b.ln.Close()
	s.emit(socket.Event{Kind: socket.EventClosed, Endpoint: b.addr})
}

// end removes a pipe as zmq_disconnect and zmq_unbind do: no new message
// goes to it, what it received and was not read is dropped, what is queued
// has the linger time to go out on the connection that is up, and then the
// connection closes. The pipe is retired when its connection has ended: by
// the connection's exit, or by the connect loop of a persistent pipe.
func (s *Socket) end(p *Pipe) {
	s.detach(p)
	p.Src.Discard()
	ctx, cancel := s.lingerContext(s.ctx)
	s.drain(ctx, p, false)
	cancel()
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
	ep, err := transport.Parse(endpoint, false)
	if err != nil {
		return err
	}
	cfg := s.cfg
	cfg.SendHWM, cfg.RecvHWM = s.SendHWM(), int(s.rcvhwm.Load())
	if err := config.Apply(&cfg, true, unwrap(opts), socket.ErrBadOption); err != nil {
		return err
	}
	cn := &connecter{endpoint: endpoint, ep: ep, cfg: &cfg}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return net.ErrClosed
	}
	if !cfg.Immediate {
		cn.pipe = newPipe(s, cn.cfg, endpoint, cfg.SendHWM, cfg.RecvHWM, cfg.ReconnectIvl >= 0)
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
		cn.cancel() // no more attempts; the connection that is up stays for the linger
	}
	go func() {
		defer s.loops.Done()
		for _, cn := range cns {
			if cn.pipe != nil {
				s.end(cn.pipe)
			}
		}
	}()
	return nil
}

// connectLoop keeps cn's connection up until cn.ctx ends, then retires
// cn's pipe.
func (s *Socket) connectLoop(cn *connecter) {
	defer s.loops.Done()
	var (
		failures int
		warned   string // the failure last logged at WARN, until a connection comes up
	)
	for cn.ctx.Err() == nil {
		s.emit(socket.Event{Kind: socket.EventConnectDelayed, Endpoint: cn.endpoint})
		c, err := transport.Dial(cn.ctx, cn.ep, transportOptions(cn.cfg))
		if err == nil {
			s.emit(socket.Event{Kind: socket.EventConnected, Endpoint: cn.endpoint, Remote: remoteAddr(c)})
			if ended := s.connected(cn, c); ended != nil {
				if warned != "" {
					s.log.Info("connected", "endpoint", cn.endpoint)
					warned = ""
				}
				failures = 0
				<-ended
			} else {
				failures++
			}
		} else if cn.ctx.Err() == nil {
			failures++
			if why := err.Error(); why != warned {
				s.log.Warn("connect failed; retrying", "endpoint", cn.endpoint, "err", err)
				warned = why
			} else {
				s.log.Debug("connect failed", "endpoint", cn.endpoint, "err", err)
			}
		}
		if cn.ctx.Err() != nil || cn.cfg.ReconnectIvl < 0 {
			break
		}
		ivl := backoff(cn.cfg, max(failures, 1))
		s.emit(socket.Event{Kind: socket.EventConnectRetried, Endpoint: cn.endpoint, Interval: ivl, Err: err})
		if !sleep(cn.ctx, ivl) {
			break
		}
	}
	s.mu.Lock()
	s.conns = slices.DeleteFunc(s.conns, func(x *connecter) bool { return x == cn })
	s.mu.Unlock()
	if cn.pipe != nil {
		s.detach(cn.pipe)
		s.retire(cn.pipe)
	}
}

// connected runs the handshake of a connection cn made and admits it on
// cn's pipe, or on a pipe of its own when immediate. It returns what
// attach returns.
func (s *Socket) connected(cn *connecter, c net.Conn) <-chan struct{} {
	sess, err := s.handshake(cn.ctx, c, cn.cfg, cn.endpoint)
	if err != nil {
		return nil
	}
	p := cn.pipe
	if p == nil {
		p = newPipe(s, cn.cfg, cn.endpoint, s.SendHWM(), int(s.rcvhwm.Load()), false)
		if err := s.addPipe(p); err != nil {
			s.refuse(p, c, sess, err)
			return nil
		}
	}
	return s.attach(p, c, sess)
}

// backoff returns the wait after the n-th consecutive failure (n >= 1), as
// libzmq's ZMQ_RECONNECT_IVL and ZMQ_RECONNECT_IVL_MAX define it: the
// interval, doubling up to the maximum when the maximum is larger, with
// random jitter of up to a quarter so that many sockets do not reconnect
// in step.
func backoff(c *config.Config, n int) time.Duration {
	d := c.ReconnectIvl
	if d <= 0 {
		d = 100 * time.Millisecond
	}
	if m := c.ReconnectIvlMax; m > d {
		for i := 1; i < n && d < m; i++ {
			d *= 2
		}
		d = min(d, m)
	}
	return d + time.Duration(rand.Int64N(int64(d)/4+1))
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
