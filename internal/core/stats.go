package core

import (
	"maps"
	"sync"

	"github.com/zrouter/zrouter/socket"
)

// registry lists a socket's pipes for Stats, Peers and option changes, and
// keeps the counters of the pipes and connections that have gone. Adding
// and removing a pipe cost O(1); a Stats call copies the list of pipes
// under the lock and reads their counters after letting it go, so that a
// scrape of many pipes never holds up the socket.
type registry struct {
	mu     sync.Mutex
	pipes  []*Pipe
	totals socket.Stats // of gone pipes and connections
}

func (r *registry) add(p *Pipe) {
	r.mu.Lock()
	p.at = len(r.pipes)
	r.pipes = append(r.pipes, p)
	r.mu.Unlock()
}

// remove takes p out, adding its counters to the totals, and counts
// dropped messages that were still queued.
func (r *registry) remove(p *Pipe, dropped int) {
	r.mu.Lock()
	last := len(r.pipes) - 1
	r.pipes[p.at] = r.pipes[last]
	r.pipes[p.at].at = p.at
	r.pipes[last] = nil
	r.pipes = r.pipes[:last]
	c := pipeCounters(p)
	t := &r.totals
	t.MsgsIn += c.MsgsIn
	t.BytesIn += c.BytesIn
	t.MsgsOut += c.MsgsOut
	t.BytesOut += c.BytesOut
	t.MsgsOutDirect += c.MsgsOutDirect
	t.DroppedHWM += c.DroppedHWM
	t.DroppedClosed += c.DroppedClosed + uint64(dropped)
	t.DroppedIn += c.DroppedIn
	r.mu.Unlock()
}

// ended counts a connection that has ended.
func (r *registry) ended(reason socket.CloseReason) {
	r.mu.Lock()
	if r.totals.CloseReasons == nil {
		r.totals.CloseReasons = make(map[socket.CloseReason]uint64)
	}
	r.totals.CloseReasons[reason]++
	r.totals.Disconnected++
	r.mu.Unlock()
}

// connected counts a connection admitted.
func (r *registry) connected() {
	r.mu.Lock()
	r.totals.Connected++
	r.mu.Unlock()
}

// snapshot returns the pipes there are now.
func (r *registry) snapshot() []*Pipe {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Pipe(nil), r.pipes...)
}

// pipeCounters returns a pipe's counters in the Stats shape.
func pipeCounters(p *Pipe) socket.Stats {
	qs := p.Q.Stats()
	return socket.Stats{
		Queued:        qs.Queued,
		MsgsIn:        p.Src.Received(),
		BytesIn:       p.Src.Bytes(),
		MsgsOut:       qs.Written,
		BytesOut:      qs.Bytes,
		MsgsOutDirect: qs.Direct,
		DroppedHWM:    qs.Dropped,
		DroppedClosed: qs.Lost,
		DroppedIn:     p.Src.Dropped(),
	}
}

// Stats returns the socket's counters.
func (s *Socket) Stats() socket.Stats {
	s.reg.mu.Lock()
	st := s.reg.totals
	st.CloseReasons = maps.Clone(st.CloseReasons)
	pipes := append([]*Pipe(nil), s.reg.pipes...)
	s.reg.mu.Unlock()
	if st.CloseReasons == nil {
		st.CloseReasons = map[socket.CloseReason]uint64{}
	}
	st.Pipes = len(pipes)
	for _, p := range pipes {
		c := pipeCounters(p)
		st.Queued += c.Queued
		st.MsgsIn += c.MsgsIn
		st.BytesIn += c.BytesIn
		st.MsgsOut += c.MsgsOut
		st.BytesOut += c.BytesOut
		st.MsgsOutDirect += c.MsgsOutDirect
		st.DroppedHWM += c.DroppedHWM
		st.DroppedClosed += c.DroppedClosed
		st.DroppedIn += c.DroppedIn
	}
	st.Peers = int(s.up.Load())
	c := &s.counters
	st.HandshakeFailed = c.handshakeFailed.Load()
	st.RefusedDuplicateID = c.refusedDup.Load()
	st.RefusedMaxPeers = c.refusedMax.Load()
	st.RefusedFiltered = c.refusedFilter.Load()
	st.Unroutable = c.unroutable.Load()
	st.DroppedEmpty = c.droppedEmpty.Load()
	st.RefusedSubscriptions = c.refusedSubs.Load()
	st.DroppedCancels = c.droppedCancels.Load()
	st.DroppedHWM += c.droppedHWM.Load()
	st.EventsDropped = c.eventsDropped.Load()
	return st
}

// Peers describes every pipe. Like Stats, it holds the registry's lock only
// to copy what it needs, and reads the counters after.
func (s *Socket) Peers() []socket.PeerInfo {
	type entry struct {
		p        *Pipe
		id       []byte
		remote   string
		peerType string
	}
	s.reg.mu.Lock()
	es := make([]entry, len(s.reg.pipes))
	for i, p := range s.reg.pipes {
		es[i] = entry{p: p, id: p.shownID, remote: p.remote, peerType: string(p.peerType)}
	}
	s.reg.mu.Unlock()
	out := make([]socket.PeerInfo, len(es))
	for i, e := range es {
		c := pipeCounters(e.p)
		out[i] = socket.PeerInfo{
			ID:         append([]byte(nil), e.id...),
			Endpoint:   e.p.Endpoint,
			SocketType: e.peerType,
			Connected:  e.p.Connected(),
			UserID:     userID(e.p),
			Queued:     c.Queued,
			MsgsIn:     c.MsgsIn,
			BytesIn:    c.BytesIn,
			MsgsOut:    c.MsgsOut,
			BytesOut:   c.BytesOut,
			DroppedHWM: c.DroppedHWM,
		}
		if out[i].Connected {
			out[i].Remote = e.remote
		}
	}
	return out
}

// userID returns the user id of p's last connection.
func userID(p *Pipe) string {
	if pr := p.props.Load(); pr != nil {
		return pr.userID
	}
	return ""
}
