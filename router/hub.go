package router

import (
	"encoding/binary"
	"math/rand/v2"

	"github.com/zrouter/zrouter/internal/config"
	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/lb"
	"github.com/zrouter/zrouter/peer"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// hubReq asks the hub to take a pipe in (add, up) or out (remove); the
// hub answers on reply.
type hubReq struct {
	op    hubOp
	p     *core.Pipe
	sess  *zmtp.Session
	reply chan error
}

type hubOp int

const (
	opAdd hubOp = iota
	opUp
	opRemove
)

// lbReq asks the hub for the next pipe in round robin. With reply nil the
// hub queues m itself and drops it (counted) when no pipe can take it; with
// reply set it hands back the chosen pipe, or nil, and the sender queues.
type lbReq struct {
	m     *wire.Msg
	reply chan *core.Pipe
}

// hub is the goroutine that owns the routing table and the round robin. It
// is the router's core.Routing: the core calls it as pipes come and go.
//
// Owned by the hub goroutine: rr, nextID, and writes to r.table (made
// under r.tmu).
type hub struct {
	r      *Router
	reqs   chan hubReq
	lbq    chan lbReq
	quit   chan struct{} // closed by Close
	done   chan struct{} // closed when the hub goroutine has returned
	rr     lb.RoundRobin[*core.Pipe]
	nextID uint32
}

func newHub(r *Router) *hub {
	return &hub{
		r:      r,
		reqs:   make(chan hubReq),
		lbq:    make(chan lbReq, 1024),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
		nextID: rand.Uint32(),
	}
}

func (h *hub) run() {
	defer close(h.done)
	for {
		select {
		case req := <-h.reqs:
			var err error
			switch req.op {
			case opAdd:
				err = h.add(req.p)
			case opUp:
				err = h.up(req.p, req.sess)
			case opRemove:
				h.forget(req.p)
			}
			req.reply <- err
		case req := <-h.lbq:
			h.route(req)
		case <-h.quit:
			h.r.tmu.Lock()
			clear(h.r.table)
			h.r.tmu.Unlock()
			return
		}
	}
}

// ask runs req on the hub goroutine and returns its answer.
func (h *hub) ask(op hubOp, p *core.Pipe, sess *zmtp.Session) error {
	reply := make(chan error, 1)
	select {
	case h.reqs <- hubReq{op: op, p: p, sess: sess, reply: reply}:
		return <-reply
	case <-h.done:
		return core.Refusal("router closed")
	}
}

// AddPipe implements core.Routing: a pipe with a connect routing id takes
// that id at once, so that messages sent to it wait for the connection.
func (h *hub) AddPipe(p *core.Pipe) error {
	if p.Cfg.ConnectRoutingID == nil {
		return nil // its peer names it at the handshake
	}
	return h.ask(opAdd, p, nil)
}

// Up implements core.Routing: it gives the connection's pipe its routing
// id, when it has none yet, and admits it.
func (h *hub) Up(p *core.Pipe, sess *zmtp.Session) error {
	return h.ask(opUp, p, sess)
}

// Down implements core.Routing: the disconnect notification goes behind
// the connection's last message.
func (h *hub) Down(p *core.Pipe) {
	if h.r.cfg.Notify&config.NotifyDisconnect != 0 && p.ID != nil {
		h.notify(p)
	}
}

// RemovePipe implements core.Routing.
func (h *hub) RemovePipe(p *core.Pipe) {
	if p.ID != nil {
		_ = h.ask(opRemove, p, nil)
	}
}

// Close implements core.Routing: the hub goroutine ends.
func (h *hub) Close() {
	close(h.quit)
	<-h.done
}

// alive reports whether p is still the table's pipe for its id.
func (h *hub) alive(p *core.Pipe) bool {
	return h.r.table[string(p.ID)] == p
}

func usable(p *core.Pipe) bool { return !p.Q.Full() }

// add takes in a pipe with a connect routing id.
func (h *hub) add(p *core.Pipe) error {
	id := p.Cfg.ConnectRoutingID
	if h.r.table[string(id)] != nil {
		return socket.ErrRoutingIDTaken
	}
	p.ID = id
	h.insert(p)
	return nil
}

// up admits a connection on p, giving p its routing id if it has none: the
// peer's READY identity, or a fresh one. A pipe that has one keeps it
// across reconnects, as libzmq's does.
func (h *hub) up(p *core.Pipe, sess *zmtp.Session) error {
	r := h.r
	if p.ID == nil || !h.alive(p) {
		id := p.ID
		if id == nil && len(sess.Identity) > 0 {
			if len(sess.Identity) > 255 {
				// RFC 37: an identity is at most 255 bytes.
				return core.Refusal("identity longer than 255 bytes")
			}
			id = append([]byte(nil), sess.Identity...)
		}
		if id == nil {
			id = h.generateID()
		}
		if old := r.table[string(id)]; old != nil && old != p {
			if !r.cfg.Handover {
				return core.ErrDuplicateID
			}
			old.Close(socket.Replaced)
			h.forget(old)
		}
		p.ID = id
		h.insert(p)
	}
	if r.cfg.Notify&config.NotifyConnect != 0 {
		// Before the connection's reader starts, so that it comes ahead
		// of its messages.
		h.notify(p)
	}
	return nil
}

// notify queues a ROUTER_NOTIFY message for p's connection. At most the
// receive high-water mark of them wait in the inbox; beyond it they are
// dropped and counted in Stats.DroppedHWM, so that peers that come and go
// while the application does not read cannot grow the inbox for ever.
func (h *hub) notify(p *core.Pipe) {
	if !p.Src.PushNotify(wire.New(p.ID, nil), h.r.c.RecvHWM()) {
		h.r.c.CountDroppedHWM()
	}
}

// insert puts p in the table and the round robin.
func (h *hub) insert(p *core.Pipe) {
	r := h.r
	r.tmu.Lock()
	r.table[string(p.ID)] = p
	r.tmu.Unlock()
	h.rr.Add(p)
}

// generateID returns a fresh 5-byte id: 0x00 and a 32-bit counter that
// starts at a random value, as libzmq makes them.
func (h *hub) generateID() []byte {
	for {
		id := make([]byte, 5)
		binary.BigEndian.PutUint32(id[1:], h.nextID)
		h.nextID++
		if h.r.table[string(id)] == nil {
			return id
		}
	}
}

// forget removes p from the table if it still holds p's id. Dead entries
// leave the round robin lazily, when Next meets them; if nothing is sent
// for a while they could pile up, so it compacts when they outnumber the
// live ones.
func (h *hub) forget(p *core.Pipe) {
	r := h.r
	if r.table[string(p.ID)] != p {
		return
	}
	r.tmu.Lock()
	delete(r.table, string(p.ID))
	r.tmu.Unlock()
	if h.rr.Len() > 2*len(r.table)+64 {
		h.rr.Compact(h.alive)
	}
}

// route serves a LoadBalancer-mode send.
func (h *hub) route(req lbReq) {
	if req.reply != nil {
		p, ok := h.rr.Next(h.alive, usable)
		if !ok {
			// Every pipe is full: hand one back for the sender to
			// wait on, or nil when there is none.
			p, _ = h.rr.Next(h.alive, nil)
		}
		req.reply <- p
		return
	}
	p, ok := h.rr.Next(h.alive, usable)
	if !ok {
		h.r.c.CountUnroutable()
		req.m.Release()
		return
	}
	switch err := p.Q.Offer(req.m); err {
	case nil:
	case peer.ErrQueueFull:
		p.Q.Drop()
		req.m.Release()
	default:
		h.r.c.CountUnroutable()
		req.m.Release()
	}
}
