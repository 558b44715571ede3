package router

import (
	"encoding/binary"
	"math/rand/v2"
	"net"

	"github.com/zrouter/zrouter/lb"
	"github.com/zrouter/zrouter/peer"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// upEvent asks the hub to admit a connection whose handshake succeeded.
type upEvent struct {
	conn  net.Conn
	sess  *zmtp.Session
	id    []byte          // forced routing id (ConnectRoutingID), or nil
	reply chan *peer.Peer // the running peer, or nil when refused
}

// lbReq asks the hub for the next peer in round robin. With reply nil the
// hub queues m itself and drops it (counted) when no peer can take it; with
// reply set it hands back the chosen peer, or nil, and the sender queues.
type lbReq struct {
	m     *wire.Msg
	reply chan *peer.Peer
}

// hub is the goroutine that owns the routing table and the round robin.
//
// Owned by the hub goroutine: rr, nextID, closedTotals, and writes to
// r.table (made under r.tmu).
type hub struct {
	r      *Router
	up     chan upEvent
	down   chan *peer.Peer
	lbq    chan lbReq
	stats  chan chan Stats
	quit   chan struct{} // closed by Router.Close
	done   chan struct{} // closed when the hub goroutine has returned
	rr     lb.RoundRobin[*peer.Peer]
	nextID uint32
	totals Stats // counters of peers that have gone
}

func newHub(r *Router) *hub {
	return &hub{
		r:      r,
		up:     make(chan upEvent),
		down:   make(chan *peer.Peer, 64),
		lbq:    make(chan lbReq, 1024),
		stats:  make(chan chan Stats),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
		nextID: rand.Uint32(),
		totals: Stats{CloseReasons: map[peer.CloseReason]uint64{}},
	}
}

func (h *hub) run() {
	defer close(h.done)
	for {
		select {
		case ev := <-h.up:
			ev.reply <- h.admit(ev)
		case p := <-h.down:
			h.remove(p)
		case req := <-h.lbq:
			h.route(req)
		case ch := <-h.stats:
			ch <- h.snapshot()
		case <-h.quit:
			h.shutdown()
			return
		}
	}
}

// alive reports whether p is still the table's peer for its id.
func (h *hub) alive(p *peer.Peer) bool {
	return h.r.table[string(p.ID)] == p
}

func usable(p *peer.Peer) bool { return !p.Queue().Full() }

// admit gives a new connection its routing id and starts its peer, or
// refuses it.
func (h *hub) admit(ev upEvent) *peer.Peer {
	r := h.r
	log := r.cfg.logger
	if r.cfg.maxPeers > 0 && len(r.table) >= r.cfg.maxPeers {
		log.Warn("router: peer refused: too many peers", "remote", ev.conn.RemoteAddr(), "max", r.cfg.maxPeers)
		r.refusedMax.Add(1)
		_ = ev.conn.Close()
		return nil
	}
	id := ev.id
	if len(id) == 0 && len(ev.sess.Identity) > 0 {
		if len(ev.sess.Identity) > 255 {
			// RFC 37: an identity is at most 255 bytes.
			log.Warn("router: peer refused: identity longer than 255 bytes", "remote", ev.conn.RemoteAddr(), "len", len(ev.sess.Identity))
			r.handshakeErr.Add(1)
			_ = ev.conn.Close()
			return nil
		}
		id = ev.sess.Identity
	}
	if len(id) == 0 {
		id = h.generateID()
	}
	if old := r.table[string(id)]; old != nil {
		if !r.cfg.handover {
			log.Warn("router: peer refused: routing id taken", "remote", ev.conn.RemoteAddr(), "id", id)
			r.refusedDup.Add(1)
			_ = ev.conn.Close()
			return nil
		}
		old.Close(peer.Replaced)
		h.forget(old)
	}
	skip := 1
	if r.cfg.mode == LoadBalancer {
		skip = 0
	}
	q := peer.NewQueue(r.cfg.sendHWM, skip)
	src := r.inbox.NewSource(r.cfg.recvHWM)
	pcfg := peer.Config{
		IDFrame:          true,
		HeartbeatIvl:     r.cfg.heartbeatIvl,
		HeartbeatTTL:     r.cfg.heartbeatTTL,
		HeartbeatTimeout: r.cfg.heartbeatTimeout,
	}
	r.peers.Add(1)
	// The table entry must exist before the reader can deliver anything, or
	// an immediate reply to the first message would be unroutable; a Send
	// racing with admission waits on the read lock until it does.
	r.tmu.Lock()
	if r.cfg.notify {
		// Before the peer starts, so that it comes ahead of its messages.
		r.inbox.Deliver(wire.New(id, nil))
	}
	p := peer.Start(ev.conn, ev.sess, id, q, src, pcfg, func(p *peer.Peer) {
		defer r.peers.Done()
		p.Queue().Close() // Send fails fast from now on
		select {
		case h.down <- p:
		case <-h.done:
		}
	})
	r.table[string(id)] = p
	r.tmu.Unlock()
	h.rr.Add(p)
	r.connected.Add(1)
	log.Debug("router: peer up", "remote", ev.conn.RemoteAddr(), "id", id, "type", ev.sess.SocketType)
	if r.cfg.probe {
		m := wire.Get()
		if skip == 1 {
			m.AppendRef(p.ID)
		}
		m.AppendFrame(nil)
		if q.Push(m) != nil {
			m.Release()
		}
	}
	return p
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

// remove handles a peer whose goroutines have ended.
func (h *hub) remove(p *peer.Peer) {
	h.forget(p)
	r := h.r
	h.totals.MsgsIn += p.Source().Received()
	qs := p.Queue().Stats()
	h.totals.MsgsOut += qs.Written
	h.totals.MsgsDirect += qs.Direct
	h.totals.DroppedHWM += qs.Dropped
	h.totals.Disconnected++
	h.totals.CloseReasons[p.Reason()]++
	p.Queue().Close()
	r.cfg.logger.Debug("router: peer down", "remote", p.RemoteAddr(), "id", p.ID, "reason", p.Reason())
	if r.cfg.notify {
		r.inbox.Deliver(wire.New(p.ID, nil))
	}
	// Dead entries leave the round robin lazily, when Next meets them; if
	// nothing is sent for a while they could pile up, so compact when they
	// outnumber the live ones.
	if h.rr.Len() > 2*len(r.table)+64 {
		h.rr.Compact(h.alive)
	}
}

// forget removes p from the table if it still holds p's id.
func (h *hub) forget(p *peer.Peer) {
	r := h.r
	if r.table[string(p.ID)] == p {
		r.tmu.Lock()
		delete(r.table, string(p.ID))
		r.tmu.Unlock()
	}
}

// route serves a LoadBalancer-mode send.
func (h *hub) route(req lbReq) {
	if req.reply != nil {
		p, ok := h.rr.Next(h.alive, usable)
		if !ok {
			// Every live peer is full: hand one back for the sender
			// to wait on, or nil when there is none.
			p, _ = h.rr.Next(h.alive, nil)
		}
		req.reply <- p
		return
	}
	p, ok := h.rr.Next(h.alive, usable)
	if !ok {
		h.r.unroutable.Add(1)
		req.m.Release()
		return
	}
	switch err := p.Queue().Push(req.m); err {
	case nil:
	case peer.ErrQueueFull:
		p.Queue().Drop()
		req.m.Release()
	default:
		h.r.unroutable.Add(1)
		req.m.Release()
	}
}

// shutdown closes every peer and waits for their goroutines.
func (h *hub) shutdown() {
	r := h.r
	ps := make([]*peer.Peer, 0, len(r.table))
	for _, p := range r.table {
		ps = append(ps, p)
		p.Close(peer.ClosedByOwner)
	}
	for _, p := range ps {
		p.Wait()
		p.Queue().Close()
	}
	r.tmu.Lock()
	clear(r.table)
	r.tmu.Unlock()
}
