package device

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/lb"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/wire"
)

// Ready is what a worker of a LoadBalancer sends to ask for its first
// request.
const Ready = "READY"

// LoadBalancer is the zguide's load-balancing broker: clients (REQ or
// DEALER) send requests to the frontend ROUTER, workers connect to the
// backend ROUTER, and each request goes to the worker that has waited
// longest. The worker protocol, for a REQ worker:
//
//  1. send [Ready] once, after connecting;
//  2. receive [client-id, "", request] (a REQ client's envelope; a DEALER
//     client's frames come through as it sent them, after its id);
//  3. reply [client-id, "", reply], which also asks for the next request.
//
// A DEALER worker does the same with an empty delimiter frame in front of
// every message, as a REQ socket adds and strips it; one that leaves the
// delimiter out is understood too, and is then sent requests without it.
//
// Requests that arrive while no worker is ready wait, oldest first, in a
// queue of WithQueue requests; beyond it they are dropped and counted. A
// request is never lost to a worker that has gone: the backend is a
// mandatory ROUTER, so it goes to the next ready worker instead. A reply
// whose client has gone is dropped by the frontend ROUTER and counted in
// its Stats.
//
// One goroutine owns the ready list and the queue; one more per socket
// receives. All methods are safe for concurrent use.
type LoadBalancer struct {
	front, back *router.Router
	o           options
	started     atomic.Bool

	// Mirrors of the loop's state, for Stats.
	queued, readyWorkers                             atomic.Int64
	queueDropped, dispatched, replied, readyRepeated atomic.Uint64
}

// NewLoadBalancer returns a LoadBalancer between frontend and backend,
// which Run starts. Both are ROUTERs in Standard mode, and backend is
// mandatory (router.WithMandatory(true)); anything else is refused with
// ErrBadSocket. Options: WithQueue and WithLogger.
func NewLoadBalancer(frontend, backend *router.Router, opts ...Option) (*LoadBalancer, error) {
	switch {
	case frontend == nil || backend == nil:
		return nil, fmt.Errorf("%w: nil frontend or backend", ErrBadSocket)
	case frontend == backend:
		return nil, fmt.Errorf("%w: frontend and backend are one socket", ErrBadSocket)
	case frontend.Mode() != router.Standard || backend.Mode() != router.Standard:
		return nil, fmt.Errorf("%w: a LoadBalancer's ROUTERs route by id (router.Standard)", ErrBadSocket)
	case !backend.Mandatory():
		return nil, fmt.Errorf("%w: a LoadBalancer's backend must be mandatory (router.WithMandatory)", ErrBadSocket)
	}
	l := &LoadBalancer{front: frontend, back: backend, o: defaults()}
	if err := apply(&l.o, "LoadBalancer", opts); err != nil {
		return nil, err
	}
	return l, nil
}

// LoadBalancerStats are a LoadBalancer's figures.
type LoadBalancerStats struct {
	// Queued is the number of requests waiting for a ready worker.
	Queued int
	// ReadyWorkers is the number of ready entries: workers waiting for
	// a request, those that have gone since and were not yet met
	// included.
	ReadyWorkers int
	// QueueDropped counts requests dropped because the queue was full.
	QueueDropped uint64
	// Dispatched counts requests handed to a worker.
	Dispatched uint64
	// Replied counts replies handed to the frontend for their client.
	Replied uint64
	// ReadyRepeated counts READYs (and replies) from workers that were
	// already waiting for a request: a slip in the worker's protocol. A
	// worker waits in the ready list once, however often it asks.
	ReadyRepeated uint64
}

// Stats returns the LoadBalancer's figures. It never waits for its
// goroutines.
func (l *LoadBalancer) Stats() LoadBalancerStats {
	return LoadBalancerStats{
		Queued:        int(l.queued.Load()),
		ReadyWorkers:  int(l.readyWorkers.Load()),
		QueueDropped:  l.queueDropped.Load(),
		Dispatched:    l.dispatched.Load(),
		Replied:       l.replied.Load(),
		ReadyRepeated: l.readyRepeated.Load(),
	}
}

// Run serves requests and replies until ctx ends or a socket fails. It
// returns ctx's error when ctx ended, and otherwise the error that ended
// it: one wrapping net.ErrClosed when a socket was closed. The requests
// still queued are dropped. When it returns, every goroutine it started
// has ended. Run may be called once; a second call returns ErrRunning.
// The sockets stay open.
func (l *LoadBalancer) Run(ctx context.Context) error {
	if l.started.Swap(true) {
		return ErrRunning
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	reqs := make(chan *wire.Msg)
	reps := make(chan *wire.Msg)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	fail := func(err error) {
		once.Do(func() { first = err })
		cancel()
	}
	wg.Go(func() { fail(feed(ctx, l.front.Recv, reqs)) })
	wg.Go(func() { fail(feed(ctx, l.back.Recv, reps)) })
	s := newLBLoop(l)
	defer func() {
		cancel()
		wg.Wait()
		for _, m := range s.pending[s.head:] {
			m.Release()
		}
		s.pending, s.head = nil, 0
		l.queued.Store(0)
	}()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			if parent.Err() != nil {
				return parent.Err()
			}
			return first
		case m := <-reqs:
			s.request(m)
		case m := <-reps:
			s.fromWorker(ctx, m)
		}
		l.queued.Store(int64(len(s.pending) - s.head))
		l.readyWorkers.Store(int64(s.ready.Len()))
	}
}

// feed sends what recv returns to ch until ctx ends or recv fails, and
// returns recv's error (nil when ctx ended).
func feed(ctx context.Context, recv func(context.Context) (*wire.Msg, error), ch chan<- *wire.Msg) error {
	for {
		m, err := recv(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("device: receive: %w", err)
		}
		select {
		case ch <- m:
		case <-ctx.Done():
			m.Release()
			return nil
		}
	}
}

// worker is a ready entry: a worker's routing id and whether its messages
// carry an empty delimiter after the id (REQ workers, and DEALER workers
// that mimic them).
type worker struct {
	id    string
	delim bool
}

// lbLoop is the state of a LoadBalancer's Run, owned by its goroutine.
type lbLoop struct {
	l     *LoadBalancer
	ready lb.Ready[worker]
	// waiting holds the ids in ready: a worker is there once at most.
	waiting map[string]struct{}
	pending []*wire.Msg // requests waiting for a worker, oldest first
	head    int
	// pruneAt is the ready length at which entries of workers that have
	// gone are dropped (they are dropped lazily otherwise, when picked).
	pruneAt int
}

// minPrune is the smallest ready length at which dead entries are pruned;
// a variable for tests.
var minPrune = 1024

func newLBLoop(l *LoadBalancer) *lbLoop {
	return &lbLoop{l: l, pruneAt: minPrune, waiting: make(map[string]struct{})}
}

// request handles [client-id, frames...] from the frontend: it goes to the
// longest-waiting worker, or waits for one, or is dropped when too many
// wait.
func (s *lbLoop) request(m *wire.Msg) {
	if len(s.pending) > s.head || !s.dispatch(m) {
		s.hold(m)
	}
}

// hold queues m until a worker is ready, or drops it when the queue is full.
func (s *lbLoop) hold(m *wire.Msg) {
	if len(s.pending)-s.head >= s.l.o.queue {
		s.l.queueDropped.Add(1)
		s.l.o.log.Debug("device: request dropped: no worker ready and the queue is full", "queue", s.l.o.queue)
		m.Release()
		return
	}
	if s.head > 0 && len(s.pending) == cap(s.pending) {
		n := copy(s.pending, s.pending[s.head:])
		clear(s.pending[n:])
		s.pending = s.pending[:n]
		s.head = 0
	}
	s.pending = append(s.pending, m)
}

// dispatch sends request m to the longest-waiting live worker as
// [worker-id, "", client-id, frames...] (without "" for a worker that sends
// none), and releases m. It reports false, keeping m, when no worker could
// take it.
func (s *lbLoop) dispatch(m *wire.Msg) bool {
	for {
		w, ok := s.ready.Next(func(worker) bool { return true })
		if !ok {
			return false
		}
		delete(s.waiting, w.id)
		out := wire.Get()
		out.AppendString(w.id)
		if w.delim {
			out.AppendFrame(nil)
		}
		for _, f := range m.Frames {
			out.AppendFrame(f)
		}
		err := s.l.back.TrySend(out)
		if err == nil {
			m.Release()
			s.l.dispatched.Add(1)
			return true
		}
		out.Release()
		// The worker has gone (unroutable) or cannot take more
		// (would block): it asks again when it can.
		s.l.o.log.Debug("device: worker skipped", core.LogID("worker", []byte(w.id)), "err", err)
	}
}

// fromWorker handles a message from the backend: READY, or a reply that
// goes back to its client. Either way the worker is ready again.
func (s *lbLoop) fromWorker(ctx context.Context, m *wire.Msg) {
	defer m.Release()
	if len(m.Frames) < 2 {
		return
	}
	w := worker{id: string(m.Frames[0])}
	body := m.Frames[1:]
	if len(body[0]) == 0 {
		w.delim = true
		body = body[1:]
	}
	log := s.l.o.log
	switch {
	case len(body) == 0:
		log.Debug("device: empty message from worker ignored", core.LogID("worker", m.Frames[0]))
		return
	case len(body) == 1 && string(body[0]) == Ready:
		log.Debug("device: worker ready", core.LogID("worker", m.Frames[0]))
	case len(body) == 1:
		// A client id and nothing to send it: not a reply, but the
		// worker is done all the same.
		log.Debug("device: reply without a body ignored", core.LogID("worker", m.Frames[0]))
	default:
		// body is [client-id, frames...]: the client's envelope.
		reply := wire.New(body...)
		if err := s.l.front.Send(ctx, reply); err != nil {
			reply.Release()
		} else {
			s.l.replied.Add(1)
		}
	}
	if _, ok := s.waiting[w.id]; ok {
		// Asked again before it was given anything: one entry is
		// enough, or one worker could fill the list without bound.
		s.l.readyRepeated.Add(1)
		log.Debug("device: worker already ready", core.LogID("worker", m.Frames[0]))
		return
	}
	s.waiting[w.id] = struct{}{}
	s.ready.Push(w)
	if s.ready.Len() >= s.pruneAt {
		s.prune()
	}
	for len(s.pending) > s.head {
		next := s.pending[s.head]
		if !s.dispatch(next) {
			break
		}
		s.pending[s.head] = nil
		s.head++
	}
	if s.head == len(s.pending) {
		s.pending, s.head = s.pending[:0], 0
	}
}

// prune drops the ready entries of workers that have disconnected, so that
// workers that come and go while no request arrives cannot grow the list
// without bound. It costs O(entries + peers), and runs only when the list
// has doubled since the last time.
func (s *lbLoop) prune() {
	live := make(map[string]bool)
	for _, ps := range s.l.back.Peers() {
		live[string(ps.ID)] = true
	}
	var kept lb.Ready[worker]
	clear(s.waiting)
	for {
		w, ok := s.ready.Next(func(w worker) bool { return live[w.id] })
		if !ok {
			break
		}
		kept.Push(w)
		s.waiting[w.id] = struct{}{}
	}
	s.ready = kept
	s.pruneAt = max(minPrune, 2*kept.Len())
}
