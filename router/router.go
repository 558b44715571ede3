package router

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"

	"github.com/zrouter/zrouter/internal/config"
	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/internal/msgmeta"
	"github.com/zrouter/zrouter/peer"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// Router is a ZeroMQ ROUTER socket. Its endpoints, Send, Recv, counters,
// events and Close are those of the embedded socket.Socket. Recv returns
// [routing-id, frames...], and Send routes as the router's mode says:
//
// In Standard mode m is [routing-id, frames...]: the routing id picks the
// peer and only the frames go on the wire. A message for an unknown id, or
// for a peer whose queue is full, is dropped and counted; in mandatory mode
// Send returns *socket.UnroutableError instead, and waits for room while
// its context allows (TrySend returns socket.ErrWouldBlock).
//
// In LoadBalancer mode m is [frames...] and goes to the next peer whose
// queue has room. With no such peer it is dropped and counted; in mandatory
// mode Send returns socket.ErrHostUnreachable when there is no peer at all
// and waits on a full one while its context allows.
//
// A message with nothing to put on the wire (no frames, or only a routing
// id in Standard mode) is dropped and counted in Stats.DroppedEmpty, as
// libzmq drops it.
//
// All methods are safe for concurrent use. Messages passed to Send and
// returned by Recv are owned by whoever holds them: Send takes ownership on
// success, and the caller of Recv releases what it receives (or sends it on).
type Router struct {
	socket.Socket

	c   *core.Socket
	cfg *config.Config
	hub *hub

	tmu   sync.RWMutex
	table map[string]*core.Pipe // written by the hub only, under tmu
}

// New returns a Router with the given options: those of package socket and
// those of this package. It starts the hub goroutine; call Close to stop
// it.
func New(opts ...socket.Option) (*Router, error) {
	r := &Router{table: make(map[string]*core.Pipe)}
	c, err := core.New(core.Spec{Type: zmtp.ROUTER, IDFrame: true, Sender: (*sender)(r)}, opts, &r.Socket)
	if err != nil {
		return nil, err
	}
	r.c, r.cfg = c, c.Config()
	r.hub = newHub(r)
	skip := 1 // the routing id
	if r.cfg.LoadBalance {
		skip = 0
	}
	c.SetRouting(r.hub, skip)
	go r.hub.run()
	return r, nil
}

// Mode returns the router's routing mode.
func (r *Router) Mode() Mode {
	if r.cfg.LoadBalance {
		return LoadBalancer
	}
	return Standard
}

// Mandatory reports whether the router was made with WithMandatory(true).
func (r *Router) Mandatory() bool { return r.cfg.Mandatory }

// sender is the Router's core.Sender.
type sender Router

func (x *sender) Send(ctx context.Context, m *wire.Msg, wait bool) error {
	return (*Router)(x).send(ctx, m, wait)
}

func (r *Router) send(ctx context.Context, m *wire.Msg, wait bool) error {
	if r.c.Closing() {
		return net.ErrClosed
	}
	if r.cfg.LoadBalance {
		if len(m.Frames) == 0 {
			r.c.CountEmpty()
			m.Release()
			return nil
		}
		return r.sendLB(ctx, m, wait)
	}
	if len(m.Frames) < 2 {
		r.c.CountEmpty()
		m.Release()
		return nil
	}
	md := msgmeta.Of(m)
	if p := r.replyPipe(m, md); p != nil {
		return r.push(ctx, p, m, md.Drained, wait)
	}
	r.tmu.RLock()
	p := r.table[string(m.Frames[0])]
	r.tmu.RUnlock()
	if p == nil {
		if r.cfg.Mandatory {
			return &socket.UnroutableError{ID: append([]byte(nil), m.Frames[0]...)}
		}
		r.c.CountUnroutable()
		m.Release()
		return nil
	}
	return r.push(ctx, p, m, md.Drained, wait)
}

// replyPipe returns the pipe a message came from when it is one of this
// router's, still in the table, and the id frame still names it: a reply
// sent in the message it answers then needs no table lookup. It returns
// nil otherwise, and the table decides.
func (r *Router) replyPipe(m *wire.Msg, md *msgmeta.Meta) *core.Pipe {
	p, ok := md.Origin.(*core.Pipe)
	if !ok || p.Owner() != r.c || p.Removed() || !bytes.Equal(m.Frames[0], p.ID) {
		return nil
	}
	return p
}

// push queues m on p according to the mandatory setting. A drained message
// is written from the caller's goroutine when p's connection is idle.
func (r *Router) push(ctx context.Context, p *core.Pipe, m *wire.Msg, drained, wait bool) error {
	if drained && p.WriteNow(m) {
		return nil
	}
	if !r.cfg.Mandatory {
		err := p.Q.Offer(m)
		if err == nil {
			return nil
		}
		if err == peer.ErrQueueFull {
			p.Q.Drop()
		} else {
			r.c.CountUnroutable()
		}
		m.Release()
		return nil
	}
	err := p.Q.Push(m)
	if err == nil {
		return nil
	}
	if err != peer.ErrQueueFull {
		return &socket.UnroutableError{ID: append([]byte(nil), p.ID...)}
	}
	if !wait {
		return socket.ErrWouldBlock
	}
	// Waiting ends when the router begins to close, too.
	ctx, stop := r.c.WithClose(ctx)
	defer stop()
	err = p.Q.PushWait(ctx, m, p.Gone(), socket.ErrHostUnreachable)
	switch {
	case err != nil && r.c.Closing():
		return net.ErrClosed
	case errors.Is(err, net.ErrClosed) || errors.Is(err, socket.ErrHostUnreachable):
		return &socket.UnroutableError{ID: append([]byte(nil), p.ID...)}
	}
	return err
}

// replyChans recycles the channels on which the hub answers mandatory
// LoadBalancer sends; each is empty when put back.
var replyChans = sync.Pool{New: func() any { return make(chan *core.Pipe, 1) }}

func (r *Router) sendLB(ctx context.Context, m *wire.Msg, wait bool) error {
	if !r.cfg.Mandatory {
		select {
		case r.hub.lbq <- lbReq{m: m}:
			return nil
		case <-r.hub.done:
			return net.ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	reply := replyChans.Get().(chan *core.Pipe)
	select {
	case r.hub.lbq <- lbReq{reply: reply}:
	case <-r.hub.done:
		replyChans.Put(reply)
		return net.ErrClosed
	case <-ctx.Done():
		replyChans.Put(reply)
		return ctx.Err()
	}
	p := <-reply // the hub always answers a request it took
	replyChans.Put(reply)
	if p == nil {
		return socket.ErrHostUnreachable
	}
	return r.push(ctx, p, m, msgmeta.Of(m).Drained, wait)
}
