package router

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/zrouter/zrouter/peer"
	"github.com/zrouter/zrouter/transport"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// Router is a ZeroMQ ROUTER socket.
//
// All methods are safe for concurrent use. Messages passed to Send and
// returned by Recv are owned by whoever holds them: Send takes ownership on
// success, and the caller of Recv releases what it receives (or sends it on).
type Router struct {
	cfg   config
	inbox *peer.Inbox
	hub   *hub

	tmu   sync.RWMutex
	table map[string]*peer.Peer // written by the hub only, under tmu

	ctx    context.Context // ends when Close starts
	cancel context.CancelFunc

	mu        sync.Mutex
	listeners []net.Listener
	closed    bool

	loops sync.WaitGroup // accept, handshake and connect goroutines
	peers sync.WaitGroup // peers until their exit has reached the hub

	connected    atomic.Uint64
	unroutable   atomic.Uint64
	refusedDup   atomic.Uint64
	refusedMax   atomic.Uint64
	handshakeErr atomic.Uint64
}

// New returns a Router with the given options. It starts the hub goroutine;
// call Close to stop it.
func New(opts ...Option) (*Router, error) {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.routingID != nil && !validUserID(cfg.routingID) {
		return nil, ErrBadRoutingID
	}
	if cfg.sendHWM < 0 || cfg.recvHWM < 0 || cfg.maxPeers < 0 {
		return nil, errors.New("router: negative high-water mark or peer limit")
	}
	r := &Router{cfg: cfg, inbox: peer.NewInbox(), table: make(map[string]*peer.Peer)}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.hub = newHub(r)
	go r.hub.run()
	return r, nil
}

func validUserID(id []byte) bool {
	return len(id) >= 1 && len(id) <= 255 && id[0] != 0
}

// Mode returns the router's routing mode.
func (r *Router) Mode() Mode { return r.cfg.mode }

func (r *Router) zmtpConfig() *zmtp.Config {
	return &zmtp.Config{
		SocketType: zmtp.ROUTER,
		Identity:   r.cfg.routingID,
		Timeout:    r.cfg.handshakeTimeout,
		MaxSize:    r.cfg.maxMsgSize,
	}
}

// Bind listens on endpoint (tcp://HOST:PORT, where HOST may be * and PORT
// may be 0 or * for any free port) and accepts peers there until Close.
// Addr reports the address actually bound.
func (r *Router) Bind(endpoint string) error {
	ep, err := transport.Parse(endpoint)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return net.ErrClosed
	}
	ln, err := transport.Listen(ep)
	if err != nil {
		return fmt.Errorf("router: bind %s: %w", endpoint, err)
	}
	r.listeners = append(r.listeners, ln)
	r.loops.Add(1)
	go func() {
		defer r.loops.Done()
		transport.Serve(r.ctx, ln, &r.loops, r.cfg.logger, func(c net.Conn) { r.start(c, nil) })
	}()
	return nil
}

// Addr returns the endpoint of the most recent Bind, with the port actually
// bound (like ZMQ_LAST_ENDPOINT), or "" before any Bind.
func (r *Router) Addr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.listeners) == 0 {
		return ""
	}
	return transport.FromAddr(r.listeners[len(r.listeners)-1].Addr()).String()
}

// start runs the handshake on c off the accept loop, then hands the peer to
// the hub. It returns the running peer, or nil.
func (r *Router) start(c net.Conn, id []byte) *peer.Peer {
	sess, err := peer.Handshake(r.ctx, c, r.zmtpConfig())
	if err != nil {
		if r.ctx.Err() == nil {
			r.handshakeErr.Add(1)
			r.cfg.logger.Info("router: handshake failed", "remote", c.RemoteAddr(), "err", err)
		}
		return nil
	}
	reply := make(chan *peer.Peer, 1)
	select {
	case r.hub.up <- upEvent{conn: c, sess: sess, id: id, reply: reply}:
		return <-reply
	case <-r.hub.quit:
		_ = c.Close()
		return nil
	}
}

// Connect connects to endpoint (tcp://HOST:PORT) in the background and keeps
// the connection up, reconnecting with the configured backoff until Close.
func (r *Router) Connect(endpoint string, opts ...ConnectOption) error {
	ep, err := transport.Parse(endpoint)
	if err != nil {
		return err
	}
	var cc connectConfig
	for _, o := range opts {
		o(&cc)
	}
	if cc.routingID != nil && !validUserID(cc.routingID) {
		return ErrBadRoutingID
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return net.ErrClosed
	}
	r.loops.Add(1)
	go r.connectLoop(ep, cc.routingID)
	return nil
}

func (r *Router) connectLoop(ep transport.Endpoint, id []byte) {
	defer r.loops.Done()
	b := transport.Backoff{Ivl: r.cfg.reconnectIvl, Max: r.cfg.reconnectIvlMax}
	transport.Redial(r.ctx, ep, b, r.cfg.logger, func(c net.Conn) <-chan struct{} {
		if p := r.start(c, id); p != nil {
			return p.Exited()
		}
		return nil
	})
}

// Recv returns the next message, [routing-id, frames...], fair-queued across
// peers. It waits while ctx allows and returns net.ErrClosed after Close.
// The routing-id frame is shared: do not modify it.
func (r *Router) Recv(ctx context.Context) (*wire.Msg, error) {
	return r.inbox.Recv(ctx)
}

// Send queues m for its peer and takes ownership of it.
//
// In Standard mode m is [routing-id, frames...]: the routing id picks the
// peer and only the frames go on the wire. A message for an unknown id, or
// for a peer whose queue is full, is dropped and counted; in mandatory mode
// Send returns *UnroutableError instead, and waits for room while ctx
// allows.
//
// In LoadBalancer mode m is [frames...] and goes to the next live peer whose
// queue has room. With no such peer it is dropped and counted; in mandatory
// mode Send returns ErrHostUnreachable when there is no peer at all and waits
// on a full one while ctx allows.
//
// When Send returns an error, the caller keeps ownership of m.
func (r *Router) Send(ctx context.Context, m *wire.Msg) error {
	return r.send(ctx, m, true)
}

// TrySend is Send that never waits: where mandatory-mode Send would wait for
// room it returns ErrWouldBlock.
func (r *Router) TrySend(m *wire.Msg) error {
	return r.send(context.Background(), m, false)
}

// SendFrames copies frames into a new message and sends it.
func (r *Router) SendFrames(ctx context.Context, frames ...[]byte) error {
	m := wire.New(frames...)
	err := r.Send(ctx, m)
	if err != nil {
		m.Release()
	}
	return err
}

func (r *Router) send(ctx context.Context, m *wire.Msg, wait bool) error {
	if r.cfg.mode == LoadBalancer {
		return r.sendLB(ctx, m, wait)
	}
	if len(m.Frames) == 0 {
		return ErrNoRoutingID
	}
	if p := replyPeer(m); p != nil {
		return r.push(ctx, p, m, wait)
	}
	r.tmu.RLock()
	p := r.table[string(m.Frames[0])]
	r.tmu.RUnlock()
	if p == nil {
		if r.cfg.mandatory {
			return &UnroutableError{ID: append([]byte(nil), m.Frames[0]...)}
		}
		r.unroutable.Add(1)
		m.Release()
		return nil
	}
	return r.push(ctx, p, m, wait)
}

// replyPeer returns the live peer a message came from when its id frame is
// still the one that peer's reader put there: a reply sent in the message
// it answers then needs no table lookup. It returns nil otherwise, and the
// table decides.
func replyPeer(m *wire.Msg) *peer.Peer {
	p, ok := m.Origin().(*peer.Peer)
	if !ok {
		return nil
	}
	id := m.Frames[0]
	if len(id) == 0 || len(id) != len(p.ID) || &id[0] != &p.ID[0] {
		return nil
	}
	select {
	case <-p.Done():
		return nil // gone, or replaced by handover: ask the table
	default:
		return p
	}
}

// push queues m on p according to the mandatory setting.
func (r *Router) push(ctx context.Context, p *peer.Peer, m *wire.Msg, wait bool) error {
	if m.Drained() && p.WriteNow(m) {
		return nil
	}
	q := p.Queue()
	err := q.Push(m)
	if err == nil {
		return nil
	}
	if !r.cfg.mandatory {
		if err == peer.ErrQueueFull {
			q.Drop()
		} else {
			r.unroutable.Add(1)
		}
		m.Release()
		return nil
	}
	if err != peer.ErrQueueFull {
		return &UnroutableError{ID: append([]byte(nil), p.ID...)}
	}
	if !wait {
		return ErrWouldBlock
	}
	err = q.PushWait(ctx, m, p.Done(), ErrHostUnreachable)
	if errors.Is(err, net.ErrClosed) || errors.Is(err, ErrHostUnreachable) {
		return &UnroutableError{ID: append([]byte(nil), p.ID...)}
	}
	return err
}

// replyChans recycles the channels on which the hub answers mandatory
// LoadBalancer sends; each is empty when put back.
var replyChans = sync.Pool{New: func() any { return make(chan *peer.Peer, 1) }}

func (r *Router) sendLB(ctx context.Context, m *wire.Msg, wait bool) error {
	if !r.cfg.mandatory {
		select {
		case r.hub.lbq <- lbReq{m: m}:
			return nil
		case <-r.hub.quit:
			return net.ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	reply := replyChans.Get().(chan *peer.Peer)
	select {
	case r.hub.lbq <- lbReq{reply: reply}:
	case <-r.hub.quit:
		replyChans.Put(reply)
		return net.ErrClosed
	case <-ctx.Done():
		replyChans.Put(reply)
		return ctx.Err()
	}
	p := <-reply // the hub always answers a request it took
	replyChans.Put(reply)
	if p == nil {
		return ErrHostUnreachable
	}
	return r.push(ctx, p, m, wait)
}

// Stats returns the router's counters, with one entry per live peer.
func (r *Router) Stats() Stats {
	ch := make(chan Stats, 1)
	select {
	case r.hub.stats <- ch:
		return <-ch
	case <-r.hub.done:
		return r.hub.totals
	}
}

// Close stops accepting and connecting, closes every peer, and returns when
// every goroutine the router started has ended. Messages still queued are
// dropped. Close is idempotent.
func (r *Router) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		<-r.hub.done
		return nil
	}
	r.closed = true
	r.cancel()
	for _, ln := range r.listeners {
		_ = ln.Close()
	}
	r.mu.Unlock()
	r.loops.Wait()
	close(r.hub.quit)
	<-r.hub.done
	r.peers.Wait()
	r.inbox.Close()
	return nil
}
