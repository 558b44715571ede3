package main

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/lb"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
)

const brokerHelp = `
Usage: zrouter broker --frontend ENDPOINT --backend ENDPOINT [--lb rr|ready] [flags]

A request-reply broker. Clients (REQ or DEALER) connect to the frontend, a
ROUTER socket; workers connect to the backend. Every request reaches one
worker with the client's envelope intact, and every reply goes back to the
client that sent the request. It runs until SIGINT or SIGTERM, then exits
with status 0.

--lb rr (the default) behaves like libzmq's zmq_proxy(ROUTER, DEALER): the
backend is a DEALER socket, so workers are REP sockets (or DEALER sockets
that speak the REP envelope). Requests go round robin to connected workers;
while no worker can take one, the broker stops reading from clients and TCP
pushes back on them.

--lb ready is the zguide's load-balancing broker: the backend is a ROUTER
socket and each request goes to the worker that has waited longest for work.
Requests that arrive while no worker is ready wait in a queue of --queue
requests; beyond it they are dropped and counted. The worker protocol, for a
REQ worker:

  1. send ["READY"] once, after connecting;
  2. receive [client-id, "", request]  (a REQ client's envelope; a DEALER
     client's frames come through as it sent them, after its id);
  3. reply [client-id, "", reply], which also asks for the next request.

A DEALER worker does the same with an empty delimiter frame in front of
every message, as a REQ socket would add and strip it: it sends ["", "READY"],
receives ["", client-id, "", request] and replies ["", client-id, "", reply].
A DEALER worker that leaves the delimiter out is understood too, and is then
sent requests without it.
`

const brokerExamples = `
  # libzmq-style proxy: REQ clients on 5555, REP workers on 5556
  zrouter broker --frontend tcp://*:5555 --backend tcp://*:5556

  # CURVE for the clients, who must be listed in clients.keys; workers on
  # the same host connect without it
  zrouter broker --frontend tcp://*:5555 --backend tcp://127.0.0.1:5556 \
      --frontend-curve-secret-file server.key --frontend-curve-allow clients.keys

  # load balancing by readiness, stats every second, Prometheus on :9100
  zrouter broker --frontend tcp://*:5555 --backend tcp://*:5556 --lb ready \
      --stats-interval 1s --metrics :9100`

// Broker load-balancing modes.
const (
	lbRoundRobin = "rr"
	lbReady      = "ready"
)

// readyMsg is what a worker sends to ask for work in --lb ready.
const readyMsg = "READY"

// brokerConfig is the broker's settings.
type brokerConfig struct {
	frontend, backend string
	mode              string // lbRoundRobin or lbReady
	queue             int    // ready: requests held while no worker is ready
	sock              sockFlags
	frontSec, backSec []socket.Option // each side's security options
	log               *slog.Logger
}

// broker joins a frontend ROUTER for clients to a backend for workers: a
// DEALER in rr mode, a ROUTER in ready mode.
type broker struct {
	cfg   brokerConfig
	log   *slog.Logger
	front *router.Router
	backD *dealer.Dealer // rr
	backR *router.Router // ready

	// Mirrors of the ready loop's state, for stats and metrics.
	queued       atomic.Int64  // requests waiting for a worker
	readyWorkers atomic.Int64  // ready entries, dead ones not yet met included
	queueDropped atomic.Uint64 // requests dropped because the queue was full
}

// newBroker makes the broker's sockets and binds them.
func newBroker(cfg brokerConfig) (*broker, error) {
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	if cfg.mode != lbRoundRobin && cfg.mode != lbReady {
		return nil, usagef("bad --lb %q: want rr or ready", cfg.mode)
	}
	if cfg.queue < 0 {
		return nil, usagef("bad --queue %d: want 0 or more", cfg.queue)
	}
	b := &broker{cfg: cfg, log: cfg.log}
	ok := false
	defer func() {
		if !ok {
			b.close()
		}
	}()
	var err error
	if b.front, err = router.New(append(cfg.sock.options(cfg.log.With("socket", "frontend")), cfg.frontSec...)...); err != nil {
		return nil, err
	}
	if err := b.front.Bind(cfg.frontend); err != nil {
		return nil, err
	}
	blog := cfg.log.With("socket", "backend")
	if cfg.mode == lbRoundRobin {
		if b.backD, err = dealer.New(append(cfg.sock.options(blog), cfg.backSec...)...); err != nil {
			return nil, err
		}
		if err := b.backD.Bind(cfg.backend); err != nil {
			return nil, err
		}
	} else {
		// Mandatory: a request for a worker that has gone is an error,
		// so it can go to the next ready worker instead of being lost.
		opts := append(append(cfg.sock.options(blog), cfg.backSec...), router.WithMandatory(true))
		if b.backR, err = router.New(opts...); err != nil {
			return nil, err
		}
		if err := b.backR.Bind(cfg.backend); err != nil {
			return nil, err
		}
	}
	ok = true
	return b, nil
}

// frontendAddr and backendAddr return the bound endpoints.
func (b *broker) frontendAddr() string { return b.front.Addr() }

func (b *broker) backendAddr() string {
	if b.backD != nil {
		return b.backD.Addr()
	}
	return b.backR.Addr()
}

// close closes the sockets; run must have returned or be returning.
func (b *broker) close() {
	if b.front != nil {
		_ = b.front.Close()
	}
	if b.backD != nil {
		_ = b.backD.Close()
	}
	if b.backR != nil {
		_ = b.backR.Close()
	}
}

// run moves requests and replies until ctx ends or a socket closes.
func (b *broker) run(ctx context.Context) {
	if b.cfg.mode == lbRoundRobin {
		b.runRR(ctx)
		return
	}
	b.runReady(ctx)
}

// sources returns the sockets to report on.
func (b *broker) sources() []source {
	srcs := []source{{"frontend", b.front.Stats}}
	if b.backD != nil {
		srcs = append(srcs, source{"backend", b.backD.Stats})
	} else {
		srcs = append(srcs, source{"backend", b.backR.Stats})
	}
	return srcs
}

// extras returns the ready queue's figures (none in rr mode).
func (b *broker) extras() []extra {
	if b.cfg.mode != lbReady {
		return nil
	}
	return []extra{
		{name: "broker_queued_requests", help: "Requests waiting for a ready worker.",
			value: func() uint64 { return uint64(b.queued.Load()) }},
		{name: "broker_ready_workers", help: "Workers waiting for a request.",
			value: func() uint64 { return uint64(b.readyWorkers.Load()) }},
		{name: "broker_queue_dropped_total", help: "Requests dropped because the wait queue was full.", counter: true,
			value: b.queueDropped.Load},
	}
}

// runRR is zmq_proxy(frontend ROUTER, backend DEALER): requests
// [client-id, frames...] go to the dealer as they are, and replies
// [client-id, frames...] from the dealer go to the router as they are.
func (b *broker) runRR(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		defer cancel()
		pump(ctx, b.front.Recv, b.backD.Send)
	})
	wg.Go(func() {
		defer cancel()
		pump(ctx, b.backD.Recv, b.reply)
	})
	wg.Wait()
}

// reply sends a worker's reply [client-id, frames...] to its client. A
// reply that is only a client id has nothing to deliver and is dropped.
func (b *broker) reply(ctx context.Context, m *wire.Msg) error {
	if len(m.Frames) < 2 {
		b.log.Debug("broker: reply without a body dropped", "frames", len(m.Frames))
		m.Release()
		return nil
	}
	return b.front.Send(ctx, m)
}

// pump passes messages from recv to send until ctx ends or either fails.
func pump(ctx context.Context, recv func(context.Context) (*wire.Msg, error), send func(context.Context, *wire.Msg) error) {
	for {
		m, err := recv(ctx)
		if err != nil {
			return
		}
		if err := send(ctx, m); err != nil {
			m.Release()
			return
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

// readyLoop is the state of --lb ready, owned by the runReady goroutine.
type readyLoop struct {
	b       *broker
	ready   lb.Ready[worker]
	pending []*wire.Msg // requests waiting for a worker, oldest first
	head    int
	// pruneAt is the ready length at which entries of workers that have
	// gone are dropped (they are dropped lazily otherwise, when picked).
	pruneAt int
}

// runReady is the load-balancing broker: a single goroutine owns the ready
// queue and the pending requests, fed by one receiver per socket.
func (b *broker) runReady(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	reqs := make(chan *wire.Msg)
	reps := make(chan *wire.Msg)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer cancel()
		feed(ctx, b.front.Recv, reqs)
	})
	wg.Go(func() {
		defer cancel()
		feed(ctx, b.backR.Recv, reps)
	})
	l := &readyLoop{b: b, pruneAt: minPrune}
	defer func() {
		cancel()
		wg.Wait()
		for _, m := range l.pending[l.head:] {
			m.Release()
		}
		l.pending, l.head = nil, 0
		b.queued.Store(0)
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-reqs:
			l.request(m)
		case m := <-reps:
			l.fromWorker(ctx, m)
		}
		b.queued.Store(int64(len(l.pending) - l.head))
		b.readyWorkers.Store(int64(l.ready.Len()))
	}
}

// minPrune is the smallest ready length at which dead entries are pruned.
const minPrune = 1024

// feed sends what recv returns to ch until ctx ends or recv fails.
func feed(ctx context.Context, recv func(context.Context) (*wire.Msg, error), ch chan<- *wire.Msg) {
	for {
		m, err := recv(ctx)
		if err != nil {
			return
		}
		select {
		case ch <- m:
		case <-ctx.Done():
			m.Release()
			return
		}
	}
}

// request handles [client-id, frames...] from the frontend: it goes to the
// longest-waiting worker, or waits for one, or is dropped when too many
// wait.
func (l *readyLoop) request(m *wire.Msg) {
	if len(l.pending) > l.head || !l.dispatch(m) {
		l.hold(m)
	}
}

// hold queues m until a worker is ready, or drops it when the queue is full.
func (l *readyLoop) hold(m *wire.Msg) {
	if len(l.pending)-l.head >= l.b.cfg.queue {
		l.b.queueDropped.Add(1)
		l.b.log.Debug("broker: request dropped: no worker ready and the queue is full", "queue", l.b.cfg.queue)
		m.Release()
		return
	}
	if l.head > 0 && len(l.pending) == cap(l.pending) {
		n := copy(l.pending, l.pending[l.head:])
		clear(l.pending[n:])
		l.pending = l.pending[:n]
		l.head = 0
	}
	l.pending = append(l.pending, m)
}

// dispatch sends request m to the longest-waiting live worker as
// [worker-id, "", client-id, frames...] (without "" for a worker that sends
// none), and releases m. It reports false, keeping m, when no worker could
// take it.
func (l *readyLoop) dispatch(m *wire.Msg) bool {
	for {
		w, ok := l.ready.Next(func(worker) bool { return true })
		if !ok {
			return false
		}
		out := wire.Get()
		out.AppendString(w.id)
		if w.delim {
			out.AppendFrame(nil)
		}
		for _, f := range m.Frames {
			out.AppendFrame(f)
		}
		err := l.b.backR.TrySend(out)
		if err == nil {
			m.Release()
			return true
		}
		out.Release()
		// The worker has gone (unroutable) or cannot take more
		// (would block): it asks again when it can.
		l.b.log.Debug("broker: worker skipped", "worker", []byte(w.id), "err", err)
	}
}

// fromWorker handles a message from the backend: READY, or a reply that
// goes back to its client. Either way the worker is ready again.
func (l *readyLoop) fromWorker(ctx context.Context, m *wire.Msg) {
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
	switch {
	case len(body) == 0:
		l.b.log.Debug("broker: empty message from worker ignored", "worker", m.Frames[0])
		return
	case len(body) == 1 && string(body[0]) == readyMsg:
		l.b.log.Debug("broker: worker ready", "worker", m.Frames[0])
	case len(body) == 1:
		// A client id and nothing to send it: not a reply, but the
		// worker is done all the same.
		l.b.log.Debug("broker: reply without a body ignored", "worker", m.Frames[0])
	default:
		// body is [client-id, frames...]: the client's envelope.
		reply := wire.New(body...)
		if err := l.b.front.Send(ctx, reply); err != nil {
			reply.Release()
		}
	}
	l.ready.Push(w)
	if l.ready.Len() >= l.pruneAt {
		l.prune()
	}
	for len(l.pending) > l.head {
		next := l.pending[l.head]
		if !l.dispatch(next) {
			break
		}
		l.pending[l.head] = nil
		l.head++
	}
	if l.head == len(l.pending) {
		l.pending, l.head = l.pending[:0], 0
	}
}

// prune drops the ready entries of workers that have disconnected, so that
// workers that come and go while no request arrives cannot grow the queue
// without bound. It costs O(entries + peers), and runs only when the queue
// has doubled since the last time.
func (l *readyLoop) prune() {
	live := make(map[string]bool)
	for _, ps := range l.b.backR.Peers() {
		live[string(ps.ID)] = true
	}
	var kept lb.Ready[worker]
	for {
		w, ok := l.ready.Next(func(w worker) bool { return live[w.id] })
		if !ok {
			break
		}
		kept.Push(w)
	}
	l.ready = kept
	l.pruneAt = max(minPrune, 2*kept.Len())
}

func runBroker(ctx context.Context, c *cli, args []string) error {
	f := newFlags("broker", brokerHelp, brokerExamples)
	front := f.String("frontend", "", "endpoint to bind for clients, tcp://HOST:PORT or ipc://PATH (required)")
	back := f.String("backend", "", "endpoint to bind for workers, tcp://HOST:PORT or ipc://PATH (required)")
	mode := f.String("lb", lbRoundRobin, "how requests are spread over workers: rr or ready")
	queue := f.Int("queue", 1000, "ready: requests held while no worker is ready; more are dropped")
	statsIvl := f.Duration("stats-interval", 5*time.Second, "log a stats line this often (0 = off)")
	metrics := f.String("metrics", "", "serve Prometheus metrics at http://ADDR/metrics (ADDR is HOST:PORT)")
	sock := addSockFlags(f)
	sec := addSecFlags(f, "", "both sockets")
	frontSec := addSecFlags(f, "frontend-", "the frontend")
	backSec := addSecFlags(f, "backend-", "the backend")
	log, err := f.parse(c, args)
	if err != nil {
		return err
	}
	if err := required(f, map[string]string{"frontend": *front, "backend": *back}); err != nil {
		return err
	}
	cfg := brokerConfig{frontend: *front, backend: *back, mode: *mode, queue: *queue, sock: *sock, log: log}
	if cfg.frontSec, err = sec.over(frontSec).options(log.With("socket", "frontend"), "frontend-"); err != nil {
		return err
	}
	if cfg.backSec, err = sec.over(backSec).options(log.With("socket", "backend"), "backend-"); err != nil {
		return err
	}
	b, err := newBroker(cfg)
	if err != nil {
		return err
	}
	defer b.close()
	obs, err := observe(ctx, log, *statsIvl, *metrics, b.sources(), b.extras())
	if err != nil {
		return err
	}
	defer obs.stop()
	log.Info("broker: running", "frontend", b.frontendAddr(), "backend", b.backendAddr(), "lb", *mode)
	b.run(ctx)
	log.Info("broker: shutting down")
	return nil
}
