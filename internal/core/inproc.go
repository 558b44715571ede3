package core

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"

	"github.com/zrouter/zrouter/peer"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/zmtp"
)

// inprocScheme is the prefix of an inproc endpoint.
const inprocScheme = "inproc://"

// inprocName returns the name of an inproc endpoint, or ok false when
// endpoint is of another transport. An inproc endpoint needs a name.
func inprocName(endpoint string) (name string, ok bool, err error) {
	name, ok = strings.CutPrefix(endpoint, inprocScheme)
	if !ok {
		return "", false, nil
	}
	if name == "" {
		err = fmt.Errorf("%w %q: an inproc endpoint needs a name", socket.ErrBadEndpoint, endpoint)
	}
	return name, ok, err
}

// inprocBound is a socket bound to an inproc name.
type inprocBound struct {
	s *Socket
	b *binding
}

// inprocs is the process's names of inproc endpoints. It is process-wide,
// as a libzmq program's one context is: any two sockets of the process
// reach each other by name, whichever package made them.
var inprocs struct {
	mu      sync.Mutex
	names   map[string]inprocBound
	waiting map[string]*inprocWait // connects waiting for a name's bind
}

// inprocWait is what the connects waiting for one name's bind share.
type inprocWait struct {
	bound chan struct{} // closed at the bind
	n     int           // connects waiting
}

// waitInprocLocked registers a wait for name's next bind and returns it;
// the caller holds inprocs.mu, and ends the wait with doneInproc.
func waitInprocLocked(name string) *inprocWait {
	w := inprocs.waiting[name]
	if w == nil {
		if inprocs.waiting == nil {
			inprocs.waiting = make(map[string]*inprocWait)
		}
		w = &inprocWait{bound: make(chan struct{})}
		inprocs.waiting[name] = w
	}
	w.n++
	return w
}

// doneInproc ends a wait of waitInprocLocked.
func doneInproc(name string, w *inprocWait) {
	inprocs.mu.Lock()
	if w.n--; w.n == 0 && inprocs.waiting[name] == w {
		delete(inprocs.waiting, name)
	}
	inprocs.mu.Unlock()
}

// bindInproc binds b's name to s, or fails with EADDRINUSE, as libzmq
// does, when another socket holds it.
func bindInproc(name string, s *Socket, b *binding) error {
	inprocs.mu.Lock()
	defer inprocs.mu.Unlock()
	if _, taken := inprocs.names[name]; taken {
		return fmt.Errorf("inproc name %q: %w", name, syscall.EADDRINUSE)
	}
	if inprocs.names == nil {
		inprocs.names = make(map[string]inprocBound)
	}
	inprocs.names[name] = inprocBound{s: s, b: b}
	if w := inprocs.waiting[name]; w != nil {
		close(w.bound)
		delete(inprocs.waiting, name)
	}
	return nil
}

// unbindInproc frees b's name, if b still holds it.
func unbindInproc(name string, b *binding) {
	inprocs.mu.Lock()
	if ib, ok := inprocs.names[name]; ok && ib.b == b {
		delete(inprocs.names, name)
	}
	inprocs.mu.Unlock()
}

// bindInprocEndpoint is Bind of an inproc endpoint: the name is taken at
// once, and the connections made to it before come up.
func (s *Socket) bindInprocEndpoint(endpoint, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return net.ErrClosed
	}
	b := &binding{endpoint: endpoint, addr: endpoint, inproc: name, pipes: make(map[*Pipe]struct{})}
	b.ctx, b.cancel = context.WithCancel(s.ctx)
	if err := bindInproc(name, s, b); err != nil {
		b.cancel()
		err = fmt.Errorf("bind %s: %w", endpoint, err)
		s.emit(socket.Event{Kind: socket.EventClosed, Endpoint: endpoint},
			socket.Event{Kind: socket.EventBindFailed, Endpoint: endpoint, Err: err})
		return err
	}
	s.binds = append(s.binds, b)
	s.log.Debug("listening", "endpoint", b.addr)
	s.emit(socket.Event{Kind: socket.EventListening, Endpoint: b.addr})
	return nil
}

// errInprocRefused is a connection to an inproc endpoint that its bound
// socket did not take: it was closing, unbinding, or refused the peer.
var errInprocRefused = fmt.Errorf("inproc: %w", syscall.ECONNREFUSED)

// errQuitting is an inproc connection not made because its Connect has
// been disconnected or its socket is closing.
var errQuitting = errors.New("inproc: disconnected")

// dialInproc is a connect loop's attempt on an inproc endpoint. It waits
// until the name is bound (libzmq's connect before bind), then brings up
// the bound socket's end of a new link on a pipe of its own, and returns
// the connecting end with what the bound socket would have said in its
// handshake. A bound socket that refuses the connection makes it fail.
func (s *Socket) dialInproc(cn *connecter) (net.Conn, *zmtp.Session, error) {
	for {
		inprocs.mu.Lock()
		ib, ok := inprocs.names[cn.inproc]
		inprocs.mu.Unlock()
		if ok && ib.s.serving(ib.b) {
			// What each side learns of the other in place of a handshake:
			// its socket type and routing id, as libzmq sends the id
			// down a new inproc pipe. Nothing is checked: libzmq checks
			// neither the socket types nor a security mechanism on
			// inproc.
			theirs := &zmtp.Session{SocketType: s.spec.Type, Identity: cn.cfg.RoutingID}
			cn.mu.Lock()
			if s.quittingLocked(cn) {
				cn.mu.Unlock()
				ib.s.loops.Done()
				return nil, nil, errQuitting
			}
			l := peer.NewLink(cn.endpoint)
			admitted := ib.s.serveInproc(ib.b, l.End(1), theirs)
			cn.mu.Unlock()
			ib.s.loops.Done()
			if !admitted {
				return nil, nil, errInprocRefused
			}
			return l.End(0), &zmtp.Session{SocketType: ib.s.spec.Type, Identity: ib.s.cfg.RoutingID}, nil
		}
		// Not bound, or bound to a socket that is closing or unbinding
		// (the name is about to be free): wait for the next bind, unless
		// one came meanwhile.
		inprocs.mu.Lock()
		if now, bound := inprocs.names[cn.inproc]; bound && now.b != ib.b {
			inprocs.mu.Unlock()
			continue
		}
		w := waitInprocLocked(cn.inproc)
		inprocs.mu.Unlock()
		select {
		case <-w.bound:
			doneInproc(cn.inproc, w)
		case <-cn.ctx.Done():
			doneInproc(cn.inproc, w)
			return nil, nil, cn.ctx.Err()
		}
	}
}

// serving reports whether s still takes connections on b; when it does,
// it counts the caller as one of its loops, to be ended with loops.Done,
// so that Close waits for the connection being brought up.
func (s *Socket) serving(b *binding) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() || b.ctx.Err() != nil {
		return false
	}
	s.loops.Add(1)
	return true
}

// serveInproc brings up the bound socket's end c of an inproc link made
// through b, as serveAccepted brings up an accepted connection, and
// reports whether it was admitted.
func (s *Socket) serveInproc(b *binding, c net.Conn, sess *zmtp.Session) bool {
	s.emit(socket.Event{Kind: socket.EventAccepted, Endpoint: b.addr, Remote: remoteAddr(c)})
	return s.admitAccepted(b, c, sess)
}
