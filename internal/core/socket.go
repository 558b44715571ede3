package core

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/zrouter/zrouter/internal/bridge"
	"github.com/zrouter/zrouter/internal/config"
	"github.com/zrouter/zrouter/peer"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// Routing is what a socket type adds to the core: where its pipes go as
// they come and go. The core calls these methods from its own goroutines,
// concurrently for different pipes, and in order for one pipe: AddPipe,
// then for each connection Up and (when Up admitted it) Down, then
// RemovePipe.
type Routing interface {
	// AddPipe takes a new pipe: one made by Connect, before any
	// connection, or one made for a connection whose handshake has just
	// succeeded (then Up follows at once). An error refuses the pipe:
	// Connect returns it.
	AddPipe(p *Pipe) error
	// Up admits the connection whose handshake succeeded on p; sess is
	// what the handshake learnt. An error wrapping ErrRefused refuses it,
	// and the core closes the connection. The connection's reader starts
	// after Up returns.
	Up(p *Pipe, sess *zmtp.Session) error
	// Down tells that p's connection has ended and its goroutines have
	// returned. A persistent pipe stays; any other is removed next.
	Down(p *Pipe)
	// RemovePipe takes p out for good. Its queue is closed after.
	RemovePipe(p *Pipe)
	// Close runs when the socket has no pipe left, at the end of Close.
	Close()
}

// Spec describes a socket type to the core.
type Spec struct {
	// Type is the socket type.
	Type zmtp.SocketType
	// Skip is set by SetRouting.
	Skip int
	// IDFrame makes the reader put the pipe's ID in front of every
	// message it receives (ROUTER).
	IDFrame bool
	// Sender is the socket type's Send; nil for a type that cannot send,
	// whose Send returns errors.ErrUnsupported.
	Sender Sender
	// Receiver is the socket type's Recv, for a type that reshapes or
	// filters what the inbox holds (REQ, REP) or cannot receive; nil to
	// receive straight from the inbox.
	Receiver Receiver
	// DropIn makes the readers drop every message a peer sends, counted
	// in Stats.DroppedIn, for a type that cannot receive (PUSH): the
	// connection is still read, so commands such as PING get through,
	// and nothing is kept.
	DropIn bool
	// Filter, when set, sees every message a pipe receives before the
	// inbox does, on the reader's goroutine (peer.Source.SetFilter), and
	// keeps it (true) or has it released: PUB and XPUB act on the
	// subscriptions they are sent, SUB drops the topics it did not ask
	// for.
	Filter func(p *Pipe, m *wire.Msg) bool
	// FilterLock, when set, is held around Filter's calls on each batch
	// a reader hands on, in place of a lock Filter would take for every
	// message.
	FilterLock sync.Locker
	// Subscriptions makes the readers hand ZMTP 3.1 SUBSCRIBE and CANCEL
	// commands on as 3.0's subscription messages (peer.Config), for a
	// Filter to act on.
	Subscriptions bool
}

// Receiver is a socket type's Recv. Recv waits while ctx allows; TryRecv
// never waits, returning socket.ErrWouldBlock instead. Both return
// net.ErrClosed once the socket is closed.
type Receiver interface {
	Recv(ctx context.Context) (*wire.Msg, error)
	TryRecv() (*wire.Msg, error)
}

// CannotRecv is the Receiver of a socket type that cannot receive: its
// Recv and TryRecv return errors.ErrUnsupported.
type CannotRecv struct{}

// Recv returns errors.ErrUnsupported.
func (CannotRecv) Recv(context.Context) (*wire.Msg, error) { return nil, errors.ErrUnsupported }

// TryRecv returns errors.ErrUnsupported.
func (CannotRecv) TryRecv() (*wire.Msg, error) { return nil, errors.ErrUnsupported }

// Sender is a socket type's routing of what Send is given: it takes m, or
// waits for room when wait is set while ctx allows, or returns an error and
// leaves m with the caller.
type Sender interface {
	Send(ctx context.Context, m *wire.Msg, wait bool) error
}

// cannotSend is the Sender of a socket type that cannot send.
type cannotSend struct{}

func (cannotSend) Send(context.Context, *wire.Msg, bool) error { return errors.ErrUnsupported }

// Socket is the socket core: options, endpoints, the accept, handshake
// and connect loops, pipes, the inbox, counters, events, linger and Close.
// A socket type embeds the public socket.Socket, which forwards to this,
// and adds its Routing and its Send.
//
// All methods are safe for concurrent use.
type Socket struct {
	// Inbox is the fair queue that Recv reads.
	Inbox *peer.Inbox

	cfg     config.Config
	spec    Spec
	routing Routing
	log     *slog.Logger
	logs    *logLimiter // the lines a remote peer can cause at will
	sndhwm  atomic.Int64
	rcvhwm  atomic.Int64

	ctx    context.Context // ends when Close has drained the pipes
	cancel context.CancelFunc

	mu       sync.Mutex // guards the fields up to closing, and closing's changes
	binds    []*binding
	conns    []*connecter
	live     map[*peer.Peer]struct{} // connections up
	stopped  bool                    // Close has drained: no connection may stay up
	change   chan struct{}           // closed and replaced when a connection comes or goes
	closing  atomic.Bool
	loops    sync.WaitGroup  // accept, handshake, connect and linger goroutines
	peers    sync.WaitGroup  // connections until their exit is recorded
	doneCtx  context.Context // ends when Close begins
	doneStop context.CancelFunc
	closed   chan struct{} // closed when Close has finished
	up       atomic.Int64  // connections up
	accepted atomic.Int64  // accepted connections up, for the peer limit
	// handshaking counts accepted connections in their handshake, for
	// the handshake limit.
	handshaking atomic.Int64

	reg      registry
	counters counters
	mon      monitors
}

// counters are the socket's own counts, beside its pipes'.
type counters struct {
	handshakeFailed, refusedDup, refusedMax, refusedFilter atomic.Uint64
	unroutable, droppedEmpty                               atomic.Uint64
	refusedSubs, droppedCancels                            atomic.Uint64
	droppedHWM                                             atomic.Uint64 // drops made outside any pipe's queue
	eventsDropped                                          atomic.Uint64
}

// New returns the core of a socket of the given spec, with opts applied,
// attached to pub, the socket type's embedded *socket.Socket. The routing
// is set with SetRouting before the first Bind or Connect.
func New(spec Spec, opts []socket.Option, pub *socket.Socket) (*Socket, error) {
	cfg := config.Defaults(spec.Type)
	if err := config.Apply(&cfg, false, unwrap(opts), socket.ErrBadOption); err != nil {
		return nil, err
	}
	s := &Socket{
		Inbox:  peer.NewInbox(),
		cfg:    cfg,
		spec:   spec,
		log:    cfg.Logger,
		logs:   newLogLimiter(logEvery, maxLogKeys),
		change: make(chan struct{}),
		closed: make(chan struct{}),
		live:   make(map[*peer.Peer]struct{}),
	}
	s.sndhwm.Store(int64(cfg.SendHWM))
	s.rcvhwm.Store(int64(cfg.RecvHWM))
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.doneCtx, s.doneStop = context.WithCancel(context.Background())
	bridge.Attach(pub, s)
	return s, nil
}

func unwrap(opts []socket.Option) []config.Opt {
	out := make([]config.Opt, len(opts))
	for i, o := range opts {
		out[i] = bridge.UnwrapOption(o)
	}
	return out
}

// Option makes a socket.Option of a socket type's own.
func Option(o config.Opt) socket.Option { return bridge.WrapOption(o).(socket.Option) }

// SetRouting sets the socket type's routing, and how many frames at the
// front of each outbound message stay off the wire (1 for a ROUTER's
// routing id). It must be called before the first Bind or Connect.
func (s *Socket) SetRouting(r Routing, skip int) { s.routing, s.spec.Skip = r, skip }

// Config returns the socket's settings. They do not change, except the
// high-water marks, which SendHWM and RecvHWM return.
func (s *Socket) Config() *config.Config { return &s.cfg }

// Log returns the socket's logger.
func (s *Socket) Log() *slog.Logger { return s.log }

// Type returns the socket type.
func (s *Socket) Type() string { return string(s.spec.Type) }

// Closing reports whether Close has begun: Send must then fail with
// net.ErrClosed.
func (s *Socket) Closing() bool { return s.closing.Load() }

// Done returns a channel that is closed when Close begins.
func (s *Socket) Done() <-chan struct{} { return s.doneCtx.Done() }

// WithClose returns a context that ends with ctx, or with cause
// net.ErrClosed when Close begins, for a Send that waits.
func (s *Socket) WithClose(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(s.doneCtx, func() { cancel(net.ErrClosed) })
	return ctx, func() { stop(); cancel(nil) }
}

// Up returns the number of connections up.
func (s *Socket) Up() int { return int(s.up.Load()) }

// Sender returns the socket type's Send.
func (s *Socket) Sender() interface {
	Send(ctx context.Context, m *wire.Msg, wait bool) error
} {
	if s.spec.Sender == nil {
		return cannotSend{}
	}
	return s.spec.Sender
}

// Receiver returns what the public Socket's Recv calls: the socket
// type's Receiver, or else the inbox.
func (s *Socket) Receiver() interface {
	Recv(ctx context.Context) (*wire.Msg, error)
} {
	if s.spec.Receiver != nil {
		return s.spec.Receiver
	}
	return s.Inbox
}

// TryRecv returns the next message, or ErrWouldBlock: from the socket
// type's Receiver, or else from the inbox.
func (s *Socket) TryRecv() (*wire.Msg, error) {
	if s.spec.Receiver != nil {
		return s.spec.Receiver.TryRecv()
	}
	return s.TryRecvInbox()
}

// TryRecvInbox returns the next message from the inbox, or ErrWouldBlock.
func (s *Socket) TryRecvInbox() (*wire.Msg, error) {
	if m := s.Inbox.TryRecv(); m != nil {
		return m, nil
	}
	if s.closing.Load() {
		return nil, net.ErrClosed
	}
	return nil, socket.ErrWouldBlock
}

// CountUnroutable counts a message dropped for want of a peer.
func (s *Socket) CountUnroutable() { s.counters.unroutable.Add(1) }

// CountEmpty counts a message dropped for having nothing to put on the
// wire.
func (s *Socket) CountEmpty() { s.counters.droppedEmpty.Add(1) }

// CountRefusedSubscription counts a subscription refused at the
// subscriber's bound.
func (s *Socket) CountRefusedSubscription() { s.counters.refusedSubs.Add(1) }

// CountDroppedCancel counts a cancel made for a subscriber that left and
// dropped at the bound of those waiting.
func (s *Socket) CountDroppedCancel() { s.counters.droppedCancels.Add(1) }

// CountDroppedHWM counts a message dropped at a high-water mark outside
// any pipe's queue.
func (s *Socket) CountDroppedHWM() { s.counters.droppedHWM.Add(1) }

// RecvHWM returns the current receive high-water mark.
func (s *Socket) RecvHWM() int { return int(s.rcvhwm.Load()) }

// SendHWM returns the current send high-water mark.
func (s *Socket) SendHWM() int { return int(s.sndhwm.Load()) }

// SetSendHWM changes the send high-water mark of the socket and its pipes.
func (s *Socket) SetSendHWM(n int) error {
	if n < 0 {
		return socket.ErrBadOption
	}
	s.sndhwm.Store(int64(n))
	for _, p := range s.reg.snapshot() {
		p.Q.SetHWM(n)
	}
	return nil
}

// SetRecvHWM changes the receive high-water mark of the socket and its
// pipes.
func (s *Socket) SetRecvHWM(n int) error {
	if n < 0 {
		return socket.ErrBadOption
	}
	s.rcvhwm.Store(int64(n))
	for _, p := range s.reg.snapshot() {
		p.Src.SetHWM(n)
	}
	return nil
}

// WaitPeers waits until n connections are up.
func (s *Socket) WaitPeers(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		ch := s.change
		s.mu.Unlock()
		if int(s.up.Load()) >= n {
			return nil
		}
		if s.closing.Load() {
			return net.ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closed:
		}
	}
}

// changed wakes WaitPeers.
func (s *Socket) changed() {
	s.mu.Lock()
	close(s.change)
	s.change = make(chan struct{})
	s.mu.Unlock()
}
