package req

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"slices"
	"sync"

	"github.com/zrouter/zrouter/internal/config"
	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/internal/msgmeta"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// Req is a ZeroMQ REQ socket. Its endpoints, counters, events and Close are
// those of the embedded socket.Socket; Send and Recv keep REQ's order.
//
// Send puts an empty delimiter frame (and, with WithCorrelate, the request
// id before it) in front of the message and queues it on the next pipe in
// round robin whose queue has room, waiting while its context allows when
// none has; TrySend returns socket.ErrWouldBlock instead. Recv returns the
// reply with those frames taken off. Send then Recv, in turn: a call out of
// turn returns socket.ErrState, and so does a Send or a Recv while another
// is in progress. A message with no frames asks nothing: it is dropped and
// counted in Stats.DroppedEmpty, and no request is then out.
//
// All methods are safe for concurrent use. Messages passed to Send and
// returned by Recv are owned by whoever holds them: Send takes ownership on
// success, and the caller of Recv releases what it receives (or sends it on).
type Req struct {
	socket.Socket

	c         *core.Socket
	b         core.Balancer
	correlate bool
	strict    bool

	// mu guards the fields below; it is never held across I/O or a wait.
	mu        sync.Mutex
	sending   bool          // a Send is in progress
	sent      chan struct{} // made by a Recv that waits for that Send; closed when it returns
	awaiting  bool          // a request is out: Recv may take its reply
	receiving bool          // a Recv is in progress
	replyPipe *core.Pipe    // the pipe the request went to
	id        uint32        // the request id, with WithCorrelate
}

// New returns a Req with the given options: those of package socket and
// those of this package. It starts no goroutine until Bind or Connect.
func New(opts ...socket.Option) (*Req, error) {
	r := &Req{}
	c, err := core.New(core.Spec{Type: zmtp.REQ, Sender: (*sender)(r), Receiver: (*receiver)(r)}, opts, &r.Socket)
	if err != nil {
		return nil, err
	}
	r.c = c
	r.correlate = c.Config().Correlate
	r.strict = !c.Config().Relaxed
	// As libzmq, request ids start at a random value.
	r.id = rand.Uint32()
	r.b.Init(c)
	c.SetRouting(&r.b, 0)
	return r, nil
}

var reqOnly = []zmtp.SocketType{zmtp.REQ}

// WithCorrelate puts a request id frame in front of every request, and
// takes only the reply that carries the id of the latest request
// (ZMQ_REQ_CORRELATE). The id is 4 bytes, in the host's byte order as
// libzmq writes it, and goes before the empty delimiter; it counts up from
// a random value. Peers must send it back, as REP and a ROUTER that
// returns the envelope do.
func WithCorrelate(on bool) socket.Option {
	return core.Option(config.Opt{Name: "ZMQ_REQ_CORRELATE", Types: reqOnly, Socket: true, Set: func(c *config.Config) error {
		c.Correlate = on
		return nil
	}})
}

// WithRelaxed lets Send go before the reply to the previous request has
// come (ZMQ_REQ_RELAXED): the new request abandons the old one, whose reply
// is then dropped if it comes from another peer than the new request's.
// Use it with WithCorrelate, so that a late reply from the same peer is
// told apart from the new one too. As with libzmq, a Send that fails has
// still abandoned the old request; the Req may then send again.
func WithRelaxed(on bool) socket.Option {
	return core.Option(config.Opt{Name: "ZMQ_REQ_RELAXED", Types: reqOnly, Socket: true, Set: func(c *config.Config) error {
		c.Relaxed = on
		return nil
	}})
}

// sender is the Req's core.Sender.
type sender Req

func (x *sender) Send(ctx context.Context, m *wire.Msg, wait bool) error {
	return (*Req)(x).send(ctx, m, wait)
}

// receiver is the Req's core.Receiver.
type receiver Req

func (x *receiver) Recv(ctx context.Context) (*wire.Msg, error) { return (*Req)(x).recv(ctx, true) }

func (x *receiver) TryRecv() (*wire.Msg, error) { return (*Req)(x).recv(context.Background(), false) }

func (r *Req) send(ctx context.Context, m *wire.Msg, wait bool) error {
	if r.c.Closing() {
		return net.ErrClosed
	}
	if len(m.Frames) == 0 {
		// Nothing to ask: as DEALER does, drop and count it.
		r.c.CountEmpty()
		m.Release()
		return nil
	}
	r.mu.Lock()
	if r.sending || (r.awaiting && r.strict) {
		r.mu.Unlock()
		return socket.ErrState
	}
	// A new request abandons the old one (relaxed): from here on, no reply
	// is taken until this request is out.
	r.awaiting = false
	r.sending = true
	id := r.id + 1
	r.mu.Unlock()

	// Eat the replies that wait, as libzmq does: a late reply to an
	// earlier request must not pass for the answer to this one.
	r.dropWaiting()

	n := 1
	if r.correlate {
		n = 2
		binary.NativeEndian.PutUint32(m.NewFrame(4), id)
	}
	m.AppendRef(nil) // the delimiter
	rotate(m.Frames, n)
	// One request at a time: nothing waits behind it, so it may be written
	// from this goroutine when its pipe is idle.
	msgmeta.Of(m).Drained = true
	p, err := r.b.SendPipe(ctx, m, wait)

	r.mu.Lock()
	r.sending = false
	if r.sent != nil {
		close(r.sent)
		r.sent = nil
	}
	if err != nil {
		m.Frames = m.Frames[n:]
		r.mu.Unlock()
		return err
	}
	r.id = id
	r.replyPipe = p
	r.awaiting = true
	r.mu.Unlock()
	return nil
}

// rotate moves the last n frames of fs to the front, keeping the order of
// both parts.
func rotate(fs [][]byte, n int) {
	slices.Reverse(fs)
	slices.Reverse(fs[:n])
	slices.Reverse(fs[n:])
}

// dropWaiting releases every message that waits in the inbox.
func (r *Req) dropWaiting() {
	for {
		m := r.c.Inbox.TryRecv()
		if m == nil {
			return
		}
		r.checkShape(m)
		m.Release()
	}
}

// checkShape closes the connection of a message that no REQ could take:
// one that is not [id?, "", body...], with a 4-byte id and at least one body
// frame. libzmq's REQ session treats such a message as a protocol error.
// It reports whether m has the shape.
func (r *Req) checkShape(m *wire.Msg) bool {
	fs := m.Frames
	ok := (len(fs) >= 2 && len(fs[0]) == 0) || (len(fs) >= 3 && len(fs[0]) == 4 && len(fs[1]) == 0)
	if !ok {
		if p, isPipe := msgmeta.Of(m).Origin.(*core.Pipe); isPipe {
			p.Close(socket.ProtocolError)
		}
	}
	return ok
}

// verdict is what recv does with a message.
type verdict int

const (
	take verdict = iota // the reply: strip the envelope and return it
	skip                // not the reply: drop it and wait for another
	hold                // a Send is in progress: decide once it returns
	stop                // the request was abandoned and none is out
)

func (r *Req) recv(ctx context.Context, wait bool) (*wire.Msg, error) {
	r.mu.Lock()
	if !r.awaiting || r.receiving {
		r.mu.Unlock()
		return nil, socket.ErrState
	}
	r.receiving = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.receiving = false
		r.mu.Unlock()
	}()
	for {
		var m *wire.Msg
		if wait {
			var err error
			if m, err = r.c.Inbox.Recv(ctx); err != nil {
				return nil, err
			}
		} else {
			var err error
			if m, err = r.c.TryRecvInbox(); err != nil {
				return nil, err
			}
		}
		if !r.checkShape(m) {
			m.Release()
			continue
		}
		for {
			r.mu.Lock()
			v, sent := r.judgeLocked(m)
			r.mu.Unlock()
			switch v {
			case take:
				return m, nil
			case skip:
				m.Release()
			case stop:
				m.Release()
				return nil, socket.ErrState
			case hold:
				select {
				case <-sent:
					continue
				case <-ctx.Done():
					m.Release()
					return nil, ctx.Err()
				}
			}
			break
		}
	}
}

// judgeLocked decides what becomes of m, which has REQ's shape. On take it
// has stripped m's envelope and ended the wait for the reply.
func (r *Req) judgeLocked(m *wire.Msg) (verdict, chan struct{}) {
	if r.sending {
		if r.sent == nil {
			r.sent = make(chan struct{})
		}
		return hold, r.sent
	}
	if !r.awaiting {
		return stop, nil
	}
	// Replies come only from the peer asked, while its pipe lasts; once it
	// has gone any peer may answer, as with libzmq.
	if p := r.replyPipe; p != nil && !p.Removed() && msgmeta.Of(m).Origin != p {
		return skip, nil
	}
	fs := m.Frames
	n := 1
	if r.correlate {
		if len(fs[0]) != 4 || binary.NativeEndian.Uint32(fs[0]) != r.id {
			return skip, nil
		}
		n = 2
	} else if len(fs[0]) != 0 {
		return skip, nil
	}
	m.Frames = fs[n:]
	r.awaiting = false
	r.replyPipe = nil
	return take, nil
}
