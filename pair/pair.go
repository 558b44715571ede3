package pair

import (
	"sync"

	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/zmtp"
)

// Pair is a ZeroMQ PAIR socket. Its endpoints, Send, Recv, counters,
// events and Close are those of the embedded socket.Socket.
//
// Send queues a message for the one peer, waiting while its context allows
// when the peer's queue is full or there is no peer (TrySend returns
// socket.ErrWouldBlock instead). A message with no frames, which ZMTP
// cannot carry, is dropped and counted in Stats.DroppedEmpty.
//
// All methods are safe for concurrent use. Send takes ownership of the
// message on success; the caller of Recv owns the message it returns.
type Pair struct {
	socket.Socket

	// b sends on the peer's pipe, the only one it holds.
	b core.Balancer

	mu      sync.Mutex
	peer    *core.Pipe   // the peer's pipe, or nil
	waiting []*core.Pipe // the other pipes, oldest first; their sources are held
}

// New returns a Pair with the given options. It starts no goroutine until
// Bind or Connect.
func New(opts ...socket.Option) (*Pair, error) {
	p := &Pair{}
	c, err := core.New(core.Spec{Type: zmtp.PAIR, Sender: &p.b}, opts, &p.Socket)
	if err != nil {
		return nil, err
	}
	p.b.Init(c)
	c.SetRouting((*routing)(p), 0)
	return p, nil
}

// routing is the Pair's core.Routing: the first pipe is the peer's, and
// the others wait, held, for it to end.
type routing Pair

func (r *routing) AddPipe(pp *core.Pipe) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.peer == nil {
		r.peer = pp
		return r.b.AddPipe(pp)
	}
	// Held before any connection can be read into it.
	pp.Src.Hold()
	r.waiting = append(r.waiting, pp)
	return nil
}

func (r *routing) Up(pp *core.Pipe, sess *zmtp.Session) error {
	return r.b.Up(pp, sess)
}

func (r *routing) Down(pp *core.Pipe) { r.b.Down(pp) }

func (r *routing) RemovePipe(pp *core.Pipe) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if pp != r.peer {
		for i, w := range r.waiting {
			if w == pp {
				r.waiting = append(r.waiting[:i], r.waiting[i+1:]...)
				break
			}
		}
		return
	}
	r.b.RemovePipe(pp)
	r.peer = nil
	if len(r.waiting) == 0 {
		return
	}
	next := r.waiting[0]
	r.waiting[0] = nil
	r.waiting = r.waiting[1:]
	r.peer = next
	_ = r.b.AddPipe(next)
	next.Src.Release()
}

func (r *routing) Close() { r.b.Close() }
