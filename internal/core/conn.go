package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/zrouter/zrouter/internal/config"
	"github.com/zrouter/zrouter/peer"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// ErrRefused is what a Routing's Up wraps to refuse a connection after its
// handshake. ErrDuplicateID, which wraps it, counts as a routing id taken.
var (
	ErrRefused     = errors.New("peer refused")
	ErrDuplicateID = &refusal{"routing id taken"}
	errMaxPeers    = &refusal{"too many peers"}
)

// Refusal returns an error that refuses a connection for the reason why.
func Refusal(why string) error { return &refusal{why} }

type refusal struct{ why string }

func (r *refusal) Error() string { return "peer refused: " + r.why }
func (r *refusal) Unwrap() error { return ErrRefused }

// zmtpConfig returns the handshake settings of a pipe's config.
func (s *Socket) zmtpConfig(cfg *config.Config) *zmtp.Config {
	return &zmtp.Config{
		SocketType: s.spec.Type,
		Identity:   cfg.RoutingID,
		Properties: cfg.Metadata,
		Mechanism:  cfg.Mechanism,
		Timeout:    cfg.HandshakeTimeout,
		MaxSize:    cfg.MaxMsgSize,
		Domain:     cfg.ZAPDomain,
	}
}

// handshake runs the ZMTP handshake on c; ctx ending aborts it, and ends
// the context an authenticator is given, as does the handshake timeout. A
// failure is counted, logged and reported to monitors, unless ctx ended.
func (s *Socket) handshake(ctx context.Context, c net.Conn, cfg *config.Config, endpoint string) (*zmtp.Session, error) {
	zc := s.zmtpConfig(cfg)
	if auth := cfg.Authenticate; auth != nil {
		actx, cancel := context.WithCancel(ctx)
		if cfg.HandshakeTimeout > 0 {
			actx, cancel = context.WithTimeout(ctx, cfg.HandshakeTimeout)
		}
		defer cancel()
		zc.Authenticate = func(r *zmtp.AuthRequest) zmtp.AuthReply { return auth(actx, r) }
	}
	sess, err := peer.Handshake(ctx, c, zc)
	if err == nil {
		return sess, nil
	}
	if ctx.Err() == nil {
		s.counters.handshakeFailed.Add(1)
		f, status := classify(err)
		cause := f.String()
		if f == socket.HandshakeNoDetail {
			cause = failureReason(err, f).String()
		}
		if ok, n := s.logs.allow(hostOf(remoteAddr(c)), "handshake failed: "+cause, time.Now()); ok {
			s.log.Info("handshake failed", "endpoint", endpoint, "remote", remoteAddr(c), "err", err, "suppressed", n)
		}
		// As libzmq, which reports every connection that fails as
		// disconnected too, after its handshake failure. Both go out in
		// one call, so that no event of a Close comes between them.
		s.emit(socket.Event{Kind: socket.EventHandshakeFailed, Endpoint: endpoint, Remote: remoteAddr(c), Err: err,
			Failure: f, Status: status},
			socket.Event{Kind: socket.EventDisconnected, Endpoint: endpoint, Remote: remoteAddr(c), Reason: failureReason(err, f)})
	}
	return nil, err
}

// failureReason is the close reason of a connection whose handshake failed
// with err, classified f.
func failureReason(err error, f socket.HandshakeFailure) socket.CloseReason {
	var pe *zmtp.PeerError
	switch {
	case errors.As(err, &pe):
		return socket.PeerSentError
	case f != socket.HandshakeNoDetail:
		return socket.ProtocolError
	case zmtp.IsTimeout(err):
		return socket.HandshakeTimeout
	}
	return socket.PeerClosed
}

// classify sorts a handshake error as libzmq's monitor events do, with
// the ZAP status of an authentication failure.
func classify(err error) (socket.HandshakeFailure, int) {
	var (
		pe *zmtp.ProtocolError
		ve *zmtp.VersionError
		me *zmtp.MechanismError
		te *zmtp.SocketTypeError
		ee *zmtp.PeerError
		ae *zmtp.AuthError
	)
	switch {
	case errors.As(err, &ae):
		return socket.HandshakeAuth, ae.Status
	case errors.As(err, &me):
		return socket.HandshakeMechanism, 0
	case errors.As(err, &te):
		return socket.HandshakeSocketType, 0
	case errors.As(err, &ee):
		// A server that refused our credentials says so with a ZAP status
		// (RFC 27) as the reason: 300, 400 or 500, as libzmq reads it.
		if r := ee.Reason; len(r) == 3 && r[0] >= '3' && r[0] <= '5' && r[1:] == "00" {
			return socket.HandshakeAuth, int(r[0]-'0') * 100
		}
		return socket.HandshakeProtocol, 0
	case errors.As(err, &pe), errors.As(err, &ve):
		return socket.HandshakeProtocol, 0
	}
	return socket.HandshakeNoDetail, 0
}

// addPipe makes p one of the socket's pipes, with the probe of
// ZMQ_PROBE_ROUTER in it first, as libzmq writes it when it attaches the
// pipe: ahead of anything a sender that waits for a pipe puts there.
func (s *Socket) addPipe(p *Pipe) error {
	if p.Cfg.Probe {
		m := wire.Get()
		for range s.spec.Skip {
			m.AppendRef(nil)
		}
		m.AppendFrame(nil)
		if p.Q.Push(m) != nil {
			m.Release()
		}
	}
	if err := s.routing.AddPipe(p); err != nil {
		p.Q.Close()
		return err
	}
	s.reg.add(p)
	return nil
}

// attach runs a connection whose handshake succeeded on p, once the routing
// admits it. It returns a channel that gets the connection's close reason
// once it has ended and the socket has recorded it, or nil when the
// connection was refused (and closed). A Connect's pipe that Disconnect
// took out of the routing still takes a connection, without the routing,
// for its linger.
func (s *Socket) attach(p *Pipe, c net.Conn, sess *zmtp.Session) <-chan socket.CloseReason {
	var err error
	p.beginAttach()
	switch {
	case p.accepted && (p.Removed() || s.closing.Load()):
		err = net.ErrClosed
	case p.Removed():
	case p.accepted:
		if n := s.accepted.Add(1); s.cfg.MaxPeers > 0 && n > int64(s.cfg.MaxPeers) {
			err = errMaxPeers
		} else {
			err = s.routing.Up(p, sess)
		}
		if err != nil {
			s.accepted.Add(-1)
		}
	default:
		err = s.routing.Up(p, sess)
	}
	if err != nil {
		p.endAttach(nil)
		s.refuse(p, c, sess, err)
		return nil
	}

	id := p.ID
	if id == nil {
		id = sess.Identity
	}
	p.props.Store(newProps(c, sess)) // before anything it sends is delivered
	s.reg.mu.Lock()
	p.remote = remoteAddr(c)
	p.peerType = sess.SocketType
	p.shownID = append([]byte(nil), id...)
	s.reg.mu.Unlock()

	pc := peer.Config{
		HeartbeatIvl:     p.Cfg.HeartbeatIvl,
		HeartbeatTTL:     p.Cfg.HeartbeatTTL,
		HeartbeatTimeout: p.Cfg.HeartbeatTimeout,
		WriteTimeout:     p.Cfg.SendTimeout,
		MaxMsgFrames:     p.Cfg.MaxMsgFrames,
		MaxMsgBytes:      max(p.Cfg.MaxMsgBytes, 0),
		Subscriptions:    s.spec.Subscriptions,
	}
	if s.spec.IDFrame {
		pc.ID = p.ID
	}
	ended := make(chan socket.CloseReason, 1)
	s.peers.Add(1)
	s.up.Add(1) // before the reader can deliver anything
	s.reg.connected()
	pr := peer.New(c, sess, p.Q, p.Src, pc, func(pr *peer.Peer) {
		s.exit(p, pr)
		ended <- pr.Reason()
	})
	// Known before it runs: Pipe.Close and Close see it from the start,
	// and one asked since the routing admitted it applies now (a ROUTER
	// handed its routing id to a newer connection meanwhile).
	ask := p.endAttach(pr)
	s.mu.Lock()
	s.live[pr] = struct{}{}
	stopped := s.stopped
	s.mu.Unlock()
	// Before the peer runs: its end, and the disconnect event of that,
	// may come at once.
	s.log.Debug("peer up", "endpoint", p.Endpoint, "remote", remoteAddr(c), "type", sess.SocketType, LogID("id", id))
	s.emit(socket.Event{Kind: socket.EventHandshakeSucceeded, Endpoint: p.Endpoint, Remote: remoteAddr(c), RoutingID: id})
	pr.Run()
	if stopped {
		pr.Close(socket.ClosedByOwner)
	}
	if ask != nil {
		pr.Close(*ask)
	}
	s.changed()
	return ended
}

// refuse closes a connection the socket would not admit, counting and
// reporting why, and removes its pipe unless the pipe outlives it.
func (s *Socket) refuse(p *Pipe, c net.Conn, sess *zmtp.Session, err error) {
	if errors.Is(err, ErrRefused) {
		switch err {
		case errMaxPeers:
			s.counters.refusedMax.Add(1)
		case ErrDuplicateID:
			s.counters.refusedDup.Add(1)
		default:
			s.counters.handshakeFailed.Add(1)
		}
		if ok, n := s.logs.allow(hostOf(remoteAddr(c)), err.Error(), time.Now()); ok {
			s.log.Warn("peer refused", "endpoint", p.Endpoint, "remote", remoteAddr(c), LogID("id", sess.Identity), "why", err, "suppressed", n)
		}
		s.emit(socket.Event{Kind: socket.EventHandshakeFailed, Endpoint: p.Endpoint, Remote: remoteAddr(c),
			RoutingID: sess.Identity, Err: err, Failure: socket.HandshakeRefused},
			socket.Event{Kind: socket.EventDisconnected, Endpoint: p.Endpoint, Remote: remoteAddr(c),
				RoutingID: sess.Identity, Reason: socket.Refused})
	}
	_ = c.Close() // after the counting: the peer may look at it at once
	if p.connectionOnly() {
		s.detach(p)
		s.retire(p)
	}
}

// exit records a connection of p that has ended.
func (s *Socket) exit(p *Pipe, pr *peer.Peer) {
	reason := pr.Reason()
	p.conn.Store(nil)
	s.mu.Lock()
	delete(s.live, pr)
	s.mu.Unlock()
	s.reg.ended(reason)
	s.log.Debug("peer down", "endpoint", p.Endpoint, "remote", pr.RemoteAddr(), LogID("id", p.ID), "reason", reason)
	if reason != socket.ClosedByOwner {
		// As libzmq, which reports no connection its own socket closes.
		s.emit(socket.Event{Kind: socket.EventDisconnected, Endpoint: p.Endpoint, Remote: pr.RemoteAddr().String(),
			RoutingID: p.ID, Reason: reason})
	}
	if !p.Removed() {
		s.routing.Down(p)
	}
	if p.connectionOnly() {
		s.detach(p)
		s.retire(p)
	}
	// Counted down once the routing has let go of the pipe, so that a
	// caller who saw Peers drop sends to a peer that is gone.
	s.up.Add(-1)
	if p.accepted {
		s.accepted.Add(-1)
	}
	s.changed()
	s.peers.Done()
}

// detach takes p out of the routing: no new message goes to it. Its queue
// keeps what it holds until retire.
func (s *Socket) detach(p *Pipe) {
	if p.removed.Swap(true) {
		return
	}
	s.routing.RemovePipe(p)
	close(p.gone)
}

// retire ends a detached pipe that has no connection: it drops and counts
// what is still queued, and keeps the pipe's counters in the socket's.
func (s *Socket) retire(p *Pipe) {
	if p.retired.Swap(true) {
		return
	}
	dropped := p.Q.Len()
	p.Q.Close()
	if p.bind != nil {
		s.mu.Lock()
		delete(p.bind.pipes, p)
		s.mu.Unlock()
	}
	s.reg.remove(p, dropped)
}

// drain waits until p's queue has been written, while ctx allows and while
// the messages can still go out: a connection is up, or one may come
// before more is closed (a Connect's pipe while its loop runs; nil for
// none).
func (s *Socket) drain(ctx context.Context, p *Pipe, more <-chan struct{}) {
	for {
		idle := p.Q.Idle()
		if idle == nil {
			return
		}
		var down, change <-chan struct{}
		if c := p.conn.Load(); c != nil {
			down = c.Done()
		} else {
			if more == nil {
				return
			}
			s.mu.Lock()
			change = s.change
			s.mu.Unlock()
			if p.Connected() {
				continue
			}
		}
		select {
		case <-idle:
			return
		case <-ctx.Done():
			return
		case <-down: // the connection ended; another may come
		case <-change: // a connection came (here, or elsewhere)
		case <-more:
			if !p.Connected() {
				return
			}
		}
	}
}

// LogID is a routing id as a log attribute: in hex, as
// socket.UnroutableError prints it, whatever the handler, so that an id
// reads the same in every log line of every package.
func LogID(key string, id []byte) slog.Attr {
	return slog.String(key, fmt.Sprintf("%x", id))
}
