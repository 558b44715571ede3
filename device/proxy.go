package device

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/zrouter/zrouter/wire"
)

// Socket is what a device needs of a socket. Every zrouter socket
// (router.Router, dealer.Dealer and the other types) has these methods
// through the socket.Socket it embeds.
type Socket interface {
	Recv(ctx context.Context) (*wire.Msg, error)
	Send(ctx context.Context, m *wire.Msg) error
}

// Proxy is libzmq's zmq_proxy and zmq_proxy_steerable: it receives
// messages on either socket and sends them on the other, unchanged, until
// it is terminated, its context ends, or a socket closes.
//
// Each direction has a goroutine of its own, so a side that cannot take a
// message (a DEALER with no worker, say) holds up only the messages going
// its way, never those coming back; and each direction keeps the order in
// which it received its messages. A socket that cannot receive (PUSH) or
// cannot send (PULL) makes its direction idle and leaves the other
// running. When frontend and backend are the same socket, what it
// receives is sent back on it, as zmq_proxy does.
//
// A Proxy can be paused and resumed, by its methods or by the commands of
// a control socket (WithControl), and copies what it receives to a capture
// socket (WithCapture). Pausing loses nothing: the messages that arrive
// meanwhile wait in the sockets, within their receive high-water marks,
// and move once it resumes. A socket closed during a pause is noticed, and
// ends Run, when the proxy resumes.
//
// All methods are safe for concurrent use.
type Proxy struct {
	front, back Socket
	same        bool // front and back are one socket
	o           options
	g           gate

	mu         sync.Mutex
	started    bool
	terminated bool
	stop       context.CancelFunc // ends Run's context while Run runs

	fs, bs                               counters // the frontend's and the backend's
	dropped, captureDropped, badCommands atomic.Uint64
}

// counters are one side's figures, written by the direction that moves a
// message.
type counters struct{ msgsIn, bytesIn, msgsOut, bytesOut atomic.Uint64 }

func (c *counters) load() SideStats {
	return SideStats{MsgsIn: c.msgsIn.Load(), BytesIn: c.bytesIn.Load(), MsgsOut: c.msgsOut.Load(), BytesOut: c.bytesOut.Load()}
}

// NewProxy returns a Proxy between frontend and backend, which Run starts.
// Options: WithCapture, WithControl and WithLogger.
func NewProxy(frontend, backend Socket, opts ...Option) (*Proxy, error) {
	if frontend == nil || backend == nil {
		return nil, fmt.Errorf("%w: nil frontend or backend", ErrBadSocket)
	}
	p := &Proxy{front: frontend, back: backend, o: defaults()}
	if err := apply(&p.o, "Proxy", opts); err != nil {
		return nil, err
	}
	p.same = canCompare(frontend, backend) && frontend == backend
	return p, nil
}

// canCompare reports whether a == b can be asked without a panic.
func canCompare(a, b Socket) bool {
	return reflect.TypeOf(a).Comparable() && reflect.TypeOf(b).Comparable()
}

// batchMax bounds the messages a direction takes at once, when its
// sending socket takes many at once (SendAll, as xpub.XPub and pub.Pub
// have) and its receiving one has more waiting (TryRecv).
const batchMax = 256

// tryReceiver is a socket that receives without waiting; every zrouter
// socket is one.
type tryReceiver interface {
	TryRecv() (*wire.Msg, error)
}

// allSender is a socket that sends many messages at once.
type allSender interface {
	SendAll(ctx context.Context, ms []*wire.Msg) (int, error)
}

// errOneWay ends a direction whose sockets cannot pass messages that way.
var errOneWay = errors.New("device: one-way")

// Run moves messages until Terminate is called (or the control socket
// says TERMINATE), ctx ends, or a socket fails. It returns nil after a
// terminate, ctx's error when ctx ended, and otherwise the error that
// ended it: one wrapping net.ErrClosed when a socket was closed. When it
// returns, every goroutine it started has ended. A message received but
// still waiting for room on the other side when Run ends is dropped and
// counted in ProxyStats.Dropped. Run may be called once; a second call
// returns ErrRunning. The sockets stay open.
func (p *Proxy) Run(ctx context.Context) error {
	parent := ctx
	p.mu.Lock()
	if p.started {
		p.mu.Unlock()
		return ErrRunning
	}
	p.started = true
	if p.terminated {
		p.mu.Unlock()
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.stop = cancel
	p.g.start(ctx)
	p.mu.Unlock()

	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	fail := func(err error) {
		if err != nil {
			once.Do(func() { first = err })
			cancel()
		}
	}
	wg.Go(func() { fail(p.pump(ctx, p.front, p.back, &p.fs, &p.bs)) })
	if !p.same {
		wg.Go(func() { fail(p.pump(ctx, p.back, p.front, &p.bs, &p.fs)) })
	}
	if p.o.control != nil {
		wg.Go(func() { fail(p.steer(ctx)) })
	}
	wg.Wait()

	p.mu.Lock()
	terminated := p.terminated
	p.stop = nil
	p.mu.Unlock()
	switch {
	case first != nil:
		return first
	case terminated:
		return nil
	case parent.Err() != nil:
		return parent.Err()
	}
	return fmt.Errorf("%w: neither socket can send what the other receives", ErrBadSocket)
}

// pump moves messages from one socket to the other until ctx ends or a
// socket fails; it returns nil when ctx ended or the sockets cannot pass
// messages this way. Without a capture socket, a direction whose sockets
// allow it moves what is waiting in batches: one Recv, then up to
// batchMax-1 TryRecvs, and one SendAll.
func (p *Proxy) pump(ctx context.Context, from, to Socket, in, out *counters) error {
	tr, _ := from.(tryReceiver)
	as, _ := to.(allSender)
	var batch []*wire.Msg
	if tr != nil && as != nil && p.o.capture == nil {
		batch = make([]*wire.Msg, 0, batchMax)
	}
	for {
		rctx, ok := p.g.enter(ctx)
		if !ok {
			return nil
		}
		m, err := from.Recv(rctx)
		if err != nil {
			p.g.leave()
			switch {
			case ctx.Err() != nil:
				return nil
			case rctx.Err() != nil && errors.Is(err, context.Canceled): // a pause began
				continue
			case errors.Is(err, errors.ErrUnsupported):
				return nil
			}
			return fmt.Errorf("device: receive: %w", err)
		}
		if batch != nil {
			batch = append(batch[:0], m)
			for len(batch) < batchMax {
				m, err := tr.TryRecv()
				if err != nil {
					break // nothing more now; a closed socket fails the next Recv
				}
				batch = append(batch, m)
			}
			err = p.forwardAll(ctx, batch, as, in, out)
			clear(batch)
		} else {
			err = p.forward(ctx, m, to, in, out)
		}
		p.g.leave()
		switch {
		case err == errOneWay:
			return nil
		case err != nil:
			return err
		}
	}
}

// forward copies m to the capture socket and sends it to to, counting it
// on both sides as zmq_proxy does: one message, and the bytes of all its
// frames, once the send has taken it.
func (p *Proxy) forward(ctx context.Context, m *wire.Msg, to Socket, in, out *counters) error {
	n := uint64(m.Size())
	if err := p.copyToCapture(ctx, m); err != nil {
		m.Release()
		p.dropped.Add(1)
		return err
	}
	if err := to.Send(ctx, m); err != nil {
		m.Release()
		p.dropped.Add(1)
		return p.sendFailed(ctx, err)
	}
	p.count(in, out, 1, n)
	return nil
}

// forwardAll sends ms to to at once, counting what it took as forward
// counts each message; there is no capture socket.
func (p *Proxy) forwardAll(ctx context.Context, ms []*wire.Msg, to allSender, in, out *counters) error {
	var size uint64
	for _, m := range ms {
		size += uint64(m.Size())
	}
	n, err := to.SendAll(ctx, ms)
	if err == nil {
		p.count(in, out, uint64(len(ms)), size)
		return nil
	}
	rest := ms[n:]
	for _, m := range rest {
		size -= uint64(m.Size())
	}
	p.count(in, out, uint64(n), size)
	p.dropped.Add(uint64(len(rest)))
	wire.ReleaseAll(rest)
	return p.sendFailed(ctx, err)
}

// count adds msgs messages of size bytes to the counters of a direction.
func (p *Proxy) count(in, out *counters, msgs, size uint64) {
	if msgs == 0 {
		return
	}
	in.msgsIn.Add(msgs)
	in.bytesIn.Add(size)
	out.msgsOut.Add(msgs)
	out.bytesOut.Add(size)
}

// sendFailed says what a failed send means for the direction: nil to go
// on (the message is dropped), errOneWay, or the error that ends Run.
func (p *Proxy) sendFailed(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return nil
	case errors.Is(err, net.ErrClosed):
		return fmt.Errorf("device: send: %w", err)
	case errors.Is(err, errors.ErrUnsupported):
		return errOneWay
	}
	p.o.log.Debug("device: message dropped", "err", err)
	return nil
}

// copyToCapture sends a copy of m to the capture socket, if there is one.
// It returns an error only when the capture socket has closed.
func (p *Proxy) copyToCapture(ctx context.Context, m *wire.Msg) error {
	c := p.o.capture
	if c == nil {
		return nil
	}
	cp := m.Clone()
	err := c.Send(ctx, cp)
	if err == nil {
		return nil
	}
	cp.Release()
	p.captureDropped.Add(1)
	if errors.Is(err, net.ErrClosed) && ctx.Err() == nil {
		return fmt.Errorf("device: capture: %w", err)
	}
	p.o.log.Debug("device: capture copy dropped", "err", err)
	return nil
}

// Control commands, as zmq_proxy_steerable spells them.
const (
	cmdPause      = "PAUSE"
	cmdResume     = "RESUME"
	cmdTerminate  = "TERMINATE"
	cmdStatistics = "STATISTICS"
)

// steer serves the control socket until ctx ends, a TERMINATE, or the
// control socket fails.
func (p *Proxy) steer(ctx context.Context) error {
	ctl := p.o.control
	for {
		m, err := ctl.Recv(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("device: control: %w", err)
		}
		if err := p.copyToCapture(ctx, m); err != nil {
			m.Release()
			return err
		}
		cmd, frames := "", len(m.Frames)
		if frames == 1 {
			cmd = string(m.Frames[0])
		}
		m.Release()
		switch cmd {
		case cmdPause:
			p.g.pause()
		case cmdResume:
			p.g.resume()
		case cmdTerminate:
			p.Terminate()
			return nil
		case cmdStatistics:
			if err := p.replyStats(ctx); err != nil {
				return err
			}
		default:
			p.badCommands.Add(1)
			if len(cmd) > 32 {
				cmd = cmd[:32]
			}
			p.o.log.Warn("device: control message ignored", "frames", frames, "command", fmt.Sprintf("%q", cmd))
		}
	}
}

// replyStats answers STATISTICS with 8 frames of little-endian uint64s.
func (p *Proxy) replyStats(ctx context.Context) error {
	st := p.Stats()
	out := wire.Get()
	for _, v := range [8]uint64{
		st.Frontend.MsgsIn, st.Frontend.BytesIn, st.Frontend.MsgsOut, st.Frontend.BytesOut,
		st.Backend.MsgsIn, st.Backend.BytesIn, st.Backend.MsgsOut, st.Backend.BytesOut,
	} {
		binary.LittleEndian.PutUint64(out.NewFrame(8), v)
	}
	err := p.o.control.Send(ctx, out)
	if err == nil {
		return nil
	}
	out.Release()
	if errors.Is(err, net.ErrClosed) && ctx.Err() == nil {
		return fmt.Errorf("device: control: %w", err)
	}
	p.o.log.Debug("device: statistics reply dropped", "err", err)
	return nil
}

// Pause stops the proxy taking messages from either socket, and waits
// while ctx allows until the messages it had already taken have been
// sent on: then nothing moves until Resume, and Stats holds still. It
// returns ctx's error if ctx ended first, with the pause begun all the
// same. Pause before Run makes Run start paused. A Resume meanwhile ends
// the wait.
func (p *Proxy) Pause(ctx context.Context) error {
	select {
	case <-p.g.pause():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Resume ends a pause.
func (p *Proxy) Resume() { p.g.resume() }

// Paused reports whether the proxy is paused.
func (p *Proxy) Paused() bool {
	p.g.mu.Lock()
	defer p.g.mu.Unlock()
	return p.g.paused
}

// Terminate ends Run, which returns nil. A Terminate before Run makes Run
// return at once.
func (p *Proxy) Terminate() {
	p.mu.Lock()
	p.terminated = true
	stop := p.stop
	p.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// SideStats are the figures of one side of a device, as
// zmq_proxy_steerable counts them: a message counts once however many
// frames it has, and its bytes are those of all its frames, a ROUTER's
// routing id included (socket.Stats leaves that out).
type SideStats struct {
	// MsgsIn and BytesIn count what the device received on this side
	// and sent on.
	MsgsIn, BytesIn uint64
	// MsgsOut and BytesOut count what the device sent out on this side.
	MsgsOut, BytesOut uint64
}

// ProxyStats are a Proxy's counters since it was made.
type ProxyStats struct {
	// Frontend and Backend are the figures STATISTICS reports.
	Frontend, Backend SideStats
	// Dropped counts messages received that the other side did not
	// take: its Send refused them (a mandatory ROUTER with no such peer),
	// or Run ended while they waited for room.
	Dropped uint64
	// CaptureDropped counts copies the capture socket did not take.
	CaptureDropped uint64
	// IgnoredCommands counts control messages that were no command.
	IgnoredCommands uint64
}

// Stats returns the proxy's counters. It never waits for the proxy's
// goroutines.
func (p *Proxy) Stats() ProxyStats {
	return ProxyStats{
		Frontend:        p.fs.load(),
		Backend:         p.bs.load(),
		Dropped:         p.dropped.Load(),
		CaptureDropped:  p.captureDropped.Load(),
		IgnoredCommands: p.badCommands.Load(),
	}
}

// gate lets the directions of a Proxy take messages while it is not
// paused, and tells a pause when none holds a message any more.
type gate struct {
	mu     sync.Mutex
	paused bool
	base   context.Context    // Run's; nil before Run
	epoch  context.Context    // the receives' context: ends when a pause begins
	cancel context.CancelFunc // of epoch
	wake   chan struct{}      // closed when the pause ends
	busy   int                // directions between enter and leave
	idle   chan struct{}      // closed when busy drops to 0, or at resume
}

// closedChan is a channel that is always closed.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// start begins Run's part: receives end with ctx.
func (g *gate) start(ctx context.Context) {
	g.mu.Lock()
	g.base = ctx
	if !g.paused {
		g.epoch, g.cancel = context.WithCancel(ctx)
	}
	g.mu.Unlock()
}

// enter waits while the proxy is paused, and returns the context for the
// next receive; false when ctx ended.
func (g *gate) enter(ctx context.Context) (context.Context, bool) {
	g.mu.Lock()
	for g.paused {
		w := g.wake
		g.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return nil, false
		}
		g.mu.Lock()
	}
	if ctx.Err() != nil {
		g.mu.Unlock()
		return nil, false
	}
	g.busy++
	e := g.epoch
	g.mu.Unlock()
	return e, true
}

// leave ends what enter began.
func (g *gate) leave() {
	g.mu.Lock()
	g.busy--
	if g.busy == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
	g.mu.Unlock()
}

// pause begins a pause, ending the receives in progress, and returns a
// channel that is closed once no direction holds a message.
func (g *gate) pause() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.paused {
		g.paused = true
		g.wake = make(chan struct{})
		if g.cancel != nil {
			g.cancel()
		}
	}
	if g.busy == 0 {
		return closedChan
	}
	if g.idle == nil {
		g.idle = make(chan struct{})
	}
	return g.idle
}

// resume ends a pause.
func (g *gate) resume() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.paused {
		return
	}
	g.paused = false
	if g.base != nil {
		g.epoch, g.cancel = context.WithCancel(g.base)
	}
	close(g.wake)
	if g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
}
