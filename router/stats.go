package router

import "github.com/zrouter/zrouter/peer"

// Stats are a router's counters since it was created.
type Stats struct {
	Peers        int    // live peers
	Connected    uint64 // peers admitted
	Disconnected uint64 // peers gone
	MsgsIn       uint64 // messages received from peers
	MsgsOut      uint64 // messages written to peers
	MsgsDirect   uint64 // of MsgsOut, replies Send wrote itself, with no hand-off to a writer
	DroppedHWM   uint64 // messages dropped at a peer's send high-water mark
	Unroutable   uint64 // messages dropped for want of a peer
	RefusedDup   uint64 // connections refused: routing id taken
	RefusedMax   uint64 // connections refused: too many peers
	HandshakeErr uint64 // connections that failed their handshake
	// CloseReasons counts gone peers by why they went.
	CloseReasons map[peer.CloseReason]uint64
	// PeerStats has one entry per live peer.
	PeerStats []PeerStats
}

// Dropped returns every message the router dropped.
func (s Stats) Dropped() uint64 { return s.DroppedHWM + s.Unroutable }

// PeerStats are one live peer's counters.
type PeerStats struct {
	ID         []byte
	Remote     string
	SocketType string
	Queued     int    // outbound messages queued or being written
	Sent       uint64 // messages written to the peer
	Received   uint64 // messages received from the peer
	Dropped    uint64 // messages dropped at its high-water mark
}

// snapshot adds the live peers' counters to those of gone peers. It runs on
// the hub goroutine.
func (h *hub) snapshot() Stats {
	r := h.r
	s := h.totals
	s.CloseReasons = make(map[peer.CloseReason]uint64, len(h.totals.CloseReasons))
	for k, v := range h.totals.CloseReasons {
		s.CloseReasons[k] = v
	}
	s.Peers = len(r.table)
	s.Connected = r.connected.Load()
	s.Unroutable += r.unroutable.Load()
	s.RefusedDup = r.refusedDup.Load()
	s.RefusedMax = r.refusedMax.Load()
	s.HandshakeErr = r.handshakeErr.Load()
	s.PeerStats = make([]PeerStats, 0, len(r.table))
	for _, p := range r.table {
		qs := p.Queue().Stats()
		rec := p.Source().Received()
		s.MsgsIn += rec
		s.MsgsOut += qs.Written
		s.MsgsDirect += qs.Direct
		s.DroppedHWM += qs.Dropped
		s.PeerStats = append(s.PeerStats, PeerStats{
			ID:         p.ID,
			Remote:     p.RemoteAddr().String(),
			SocketType: string(p.Session().SocketType),
			Queued:     qs.Queued,
			Sent:       qs.Written,
			Received:   rec,
			Dropped:    qs.Dropped,
		})
	}
	return s
}
