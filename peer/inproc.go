package peer

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/zrouter/zrouter/internal/msgmeta"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
)

// InprocAddr is the address of either end of an inproc connection: the
// endpoint, as inproc://name.
type InprocAddr string

// Network returns "inproc".
func (InprocAddr) Network() string { return "inproc" }

// String returns the endpoint.
func (a InprocAddr) String() string { return string(a) }

// errInproc is what the Read and Write of an inproc end return: nothing
// goes through it as bytes.
var errInproc = errors.New("peer: inproc connections carry no bytes")

// Link is one inproc connection between two sockets of the process. It has
// two ends, each a net.Conn that carries no bytes: a Peer made with New
// over an end moves messages from its queue straight into the source of
// the peer on the other end, by pointer, with no encoding, and has one
// goroutine instead of a reader and a writer.
//
// The ends are given to the two sockets' peers in any order; Start lets
// them move messages once both are made. Closing either end (its Peer's
// Close, or the end's own Close when its socket refused it) ends the
// other end's Peer too, with socket.PeerClosed, as a TCP peer sees the
// connection close.
type Link struct {
	ends  [2]inprocEnd
	ready chan struct{} // closed by Start

	mu    sync.Mutex
	peers [2]*Peer
	dead  bool // an end was closed: the link is over
}

// NewLink returns a link named by its endpoint.
func NewLink(endpoint string) *Link {
	l := &Link{ready: make(chan struct{})}
	for i := range l.ends {
		l.ends[i] = inprocEnd{l: l, i: i, addr: InprocAddr(endpoint)}
	}
	return l
}

// End returns end i (0 or 1) of the link.
func (l *Link) End(i int) net.Conn { return &l.ends[i] }

// Start lets both ends' peers move messages. It is called once both have
// been made with New, or not at all when one of the ends was refused (and
// closed).
func (l *Link) Start() { close(l.ready) }

// join records p as the peer of end i. It reports false when the link is
// over already: p then ends at once.
func (l *Link) join(i int, p *Peer) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.peers[i] = p
	return !l.dead
}

// closeEnd ends the link from end i: the other end's peer closes with
// socket.PeerClosed. Only the first call of either end does anything, so
// that the two peers' Close never call each other back.
func (l *Link) closeEnd(i int) {
	l.mu.Lock()
	if l.dead {
		l.mu.Unlock()
		return
	}
	l.dead = true
	other := l.peers[1-i]
	l.mu.Unlock()
	if other != nil {
		other.Close(socket.PeerClosed)
	}
}

// far returns the peer of the end across from i, once the link has
// started, or nil.
func (l *Link) far(i int) *Peer {
	select {
	case <-l.ready:
		return l.peers[1-i] // written before Start, never after
	default:
		return nil
	}
}

// inprocEnd is one end of a Link, as a net.Conn that carries no bytes.
type inprocEnd struct {
	l    *Link
	i    int
	addr InprocAddr
}

func (e *inprocEnd) Read([]byte) (int, error)         { return 0, errInproc }
func (e *inprocEnd) Write([]byte) (int, error)        { return 0, errInproc }
func (e *inprocEnd) Close() error                     { e.l.closeEnd(e.i); return nil }
func (e *inprocEnd) LocalAddr() net.Addr              { return e.addr }
func (e *inprocEnd) RemoteAddr() net.Addr             { return e.addr }
func (e *inprocEnd) SetDeadline(time.Time) error      { return nil }
func (e *inprocEnd) SetReadDeadline(time.Time) error  { return nil }
func (e *inprocEnd) SetWriteDeadline(time.Time) error { return nil }

// moveBatch bounds the messages the mover hands to the other end at once.
const moveBatch = batchMsgs

// moveLoop is the one goroutine of an inproc peer: it moves what is queued
// for the other end into that end's source, at most as many as the source
// has room for, so that the pair's bound is exactly the sum of the queue's
// and the source's, as libzmq sums the high-water marks of an inproc pipe.
func (p *Peer) moveLoop() {
	select {
	case <-p.end.l.ready:
	case <-p.done:
		return
	}
	far := p.end.l.peers[1-p.end.i]
	dst, id := far.src, far.cfg.ID
	// While the link is up, a Push that finds nothing queued delivers
	// from the sender's goroutine, as WriteNow does: the mover only takes
	// what queues up behind a full source, or came before the link.
	p.q.sink.Store(p)
	defer p.q.sink.CompareAndSwap(p, nil)
	batch := make([]*wire.Msg, 0, moveBatch)
	for {
		select {
		case <-p.q.wake:
		case <-p.done:
			return
		}
		for {
			select {
			case <-p.done:
				return
			default:
			}
			room := dst.room(moveBatch)
			if room == 0 {
				if !dst.waitRoom(p.done) {
					return
				}
				continue
			}
			batch = p.q.takeN(batch[:0], room)
			if len(batch) == 0 {
				break
			}
			n := len(batch)
			var bytes int
			batch, bytes = p.cross(batch, id)
			err := dst.Push(batch, uint64(bytes), p.done)
			p.q.done(n, bytes, err)
			if err != nil {
				return
			}
		}
	}
}

// cross readies the messages of batch for the other end, in place: the
// frames the queue skips (a ROUTER's routing id) go, the other end's
// routing id comes in front when it is a ROUTER, and the socket's notes
// on the message are cleared. A message left with nothing to deliver is
// released, as the writer puts nothing on the wire for it. It returns
// what is left of batch and its frame bytes.
func (p *Peer) cross(batch []*wire.Msg, id []byte) ([]*wire.Msg, int) {
	skip, bytes, k := p.q.skip, 0, 0
	for _, m := range batch {
		if !prepare(m, skip, id) {
			m.Release()
			continue
		}
		bytes += m.Size() - len(id)
		batch[k] = m
		k++
	}
	clear(batch[k:])
	return batch[:k], bytes
}

// prepare turns m, queued with skip frames in front, into what the other
// end receives, in place, without copying a frame's bytes other than id's.
// It reports false when m has nothing to deliver.
func prepare(m *wire.Msg, skip int, id []byte) bool {
	*msgmeta.Of(m) = msgmeta.Meta{}
	n := len(m.Frames)
	if n <= skip {
		return false
	}
	if skip > 0 {
		copy(m.Frames, m.Frames[skip:])
		clear(m.Frames[n-skip:])
		m.Frames = m.Frames[:n-skip]
	}
	if id != nil {
		// Each message gets a copy of its own, as the reader gives it.
		m.PrependFrame(id)
	}
	return true
}

// inprocWriteNow is WriteNow on an inproc peer: m goes straight into the
// other end's source from the caller's goroutine when nothing is queued
// before it and the source has room.
func (p *Peer) inprocWriteNow(m *wire.Msg) bool { return p.q.deliver(p, m) }

// Start starts the end's link (Link.Start).
func (e *inprocEnd) Start() { e.l.Start() }
