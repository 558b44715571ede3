package rep

import (
	"context"
	"net"
	"slices"
	"sync"

	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/internal/msgmeta"
	"github.com/zrouter/zrouter/peer"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// Rep is a ZeroMQ REP socket. Its endpoints, counters, events and Close are
// those of the embedded socket.Socket; Recv and Send keep REP's order.
//
// Recv returns the next request, fair-queued across the peers, without its
// envelope: the frames up to and including the first empty one, which the
// Rep keeps. Send puts that envelope back in front of the reply and queues
// it for the peer the request came from. Recv then Send, in turn: a call
// out of turn returns socket.ErrState, and so does a Recv or a Send while
// another is in progress.
//
// A request with no empty delimiter frame followed by a body is dropped,
// as libzmq drops it. A reply whose peer has gone is dropped and counted in
// Stats.Unroutable, and one whose peer's queue is full in Stats.DroppedHWM;
// Send then succeeds, and the Rep takes the next request. A reply with no
// frames is dropped and counted in Stats.DroppedEmpty.
//
// All methods are safe for concurrent use. Messages passed to Send and
// returned by Recv are owned by whoever holds them: Send takes ownership on
// success, and the caller of Recv releases what it receives (or sends it on).
type Rep struct {
	socket.Socket

	c *core.Socket

	// mu guards the fields below; it is never held across I/O or a wait.
	mu       sync.Mutex
	busy     bool       // a Recv or a Send is in progress
	replying bool       // a request was taken: Send must answer it
	pipe     *core.Pipe // where the reply goes
	drained  bool       // nothing waited behind the request
	env      [][]byte   // the request's envelope, in envBuf
	envBuf   []byte
}

// New returns a Rep with the given options, those of package socket. It
// starts no goroutine until Bind or Connect.
func New(opts ...socket.Option) (*Rep, error) {
	r := &Rep{}
	c, err := core.New(core.Spec{Type: zmtp.REP, Sender: (*sender)(r), Receiver: (*receiver)(r)}, opts, &r.Socket)
	if err != nil {
		return nil, err
	}
	r.c = c
	c.SetRouting(routing{}, 0)
	return r, nil
}

// routing is the Rep's core.Routing: replies follow their request's pipe,
// so the pipes need no bookkeeping of the Rep's own.
type routing struct{}

func (routing) AddPipe(*core.Pipe) error           { return nil }
func (routing) Up(*core.Pipe, *zmtp.Session) error { return nil }
func (routing) Down(*core.Pipe)                    {}
func (routing) RemovePipe(*core.Pipe)              {}
func (routing) Close()                             {}

// sender is the Rep's core.Sender.
type sender Rep

func (x *sender) Send(ctx context.Context, m *wire.Msg, wait bool) error {
	return (*Rep)(x).send(m)
}

// receiver is the Rep's core.Receiver.
type receiver Rep

func (x *receiver) Recv(ctx context.Context) (*wire.Msg, error) { return (*Rep)(x).recv(ctx, true) }

func (x *receiver) TryRecv() (*wire.Msg, error) { return (*Rep)(x).recv(context.Background(), false) }

func (r *Rep) recv(ctx context.Context, wait bool) (*wire.Msg, error) {
	r.mu.Lock()
	if r.busy || r.replying {
		r.mu.Unlock()
		return nil, socket.ErrState
	}
	r.busy = true
	r.mu.Unlock()
	for {
		var m *wire.Msg
		var err error
		if wait {
			m, err = r.c.Inbox.Recv(ctx)
		} else {
			m, err = r.c.TryRecvInbox()
		}
		if err != nil {
			r.mu.Lock()
			r.busy = false
			r.mu.Unlock()
			return nil, err
		}
		// The envelope ends at the first empty frame, and a body follows.
		fs := m.Frames
		end := -1
		for i, f := range fs {
			if len(f) == 0 {
				end = i
				break
			}
		}
		if end < 0 || end == len(fs)-1 {
			m.Release()
			continue
		}
		md := msgmeta.Of(m)
		p, _ := md.Origin.(*core.Pipe)
		r.keepEnvelope(fs[:end+1])
		m.Frames = fs[end+1:]
		r.mu.Lock()
		r.pipe, r.drained = p, md.Drained
		r.replying, r.busy = true, false
		r.mu.Unlock()
		return m, nil
	}
}

// keepEnvelope copies env into the Rep's own storage, which it reuses.
func (r *Rep) keepEnvelope(env [][]byte) {
	n := 0
	for _, f := range env {
		n += len(f)
	}
	if cap(r.envBuf) < n {
		r.envBuf = make([]byte, 0, n)
	}
	buf := r.envBuf[:0]
	r.env = r.env[:0]
	for _, f := range env {
		at := len(buf)
		buf = append(buf, f...)
		r.env = append(r.env, buf[at:len(buf):len(buf)])
	}
	r.envBuf = buf
}

func (r *Rep) send(m *wire.Msg) error {
	if r.c.Closing() {
		return net.ErrClosed
	}
	r.mu.Lock()
	if r.busy || !r.replying {
		r.mu.Unlock()
		return socket.ErrState
	}
	r.busy = true
	p, drained := r.pipe, r.drained
	r.mu.Unlock()

	if len(m.Frames) == 0 {
		r.c.CountEmpty()
		m.Release()
	} else {
		r.deliver(p, m, drained)
	}

	r.mu.Lock()
	r.pipe = nil
	r.replying, r.busy = false, false
	r.mu.Unlock()
	return nil
}

// deliver puts the envelope back on m and hands it to p, or drops and
// counts it when p cannot take it; either way m is no longer the caller's.
func (r *Rep) deliver(p *core.Pipe, m *wire.Msg, drained bool) {
	if p == nil || p.Removed() {
		r.c.CountUnroutable()
		m.Release()
		return
	}
	n := len(m.Frames)
	for _, f := range r.env {
		if len(f) == 0 {
			m.AppendRef(nil)
		} else {
			m.AppendFrame(f)
		}
	}
	fs := m.Frames
	slices.Reverse(fs)
	slices.Reverse(fs[:len(fs)-n])
	slices.Reverse(fs[len(fs)-n:])
	// A reply to a request that had nothing behind it is written from
	// this goroutine when the connection is idle.
	if drained && p.WriteNow(m) {
		return
	}
	switch err := p.Q.Push(m); err {
	case nil:
		return
	case peer.ErrQueueFull:
		p.Q.Drop() // as libzmq's REP, which is a ROUTER inside
	default:
		r.c.CountUnroutable()
	}
	m.Release()
}
