package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"strings"
	"time"

	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/device"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
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
const readyMsg = device.Ready

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
// DEALER and a device.Proxy in rr mode, a ROUTER and a
// device.LoadBalancer in ready mode.
type broker struct {
	cfg   brokerConfig
	log   *slog.Logger
	front *router.Router
	backD *dealer.Dealer       // rr
	backR *router.Router       // ready
	proxy *device.Proxy        // rr
	ready *device.LoadBalancer // ready
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
		return nil, endpointError("frontend", cfg.frontend, err)
	}
	blog := cfg.log.With("socket", "backend")
	if cfg.mode == lbRoundRobin {
		if b.backD, err = dealer.New(append(cfg.sock.options(blog), cfg.backSec...)...); err != nil {
			return nil, err
		}
		if err := b.backD.Bind(cfg.backend); err != nil {
			return nil, endpointError("backend", cfg.backend, err)
		}
		if b.proxy, err = device.NewProxy(b.front, b.backD, device.WithLogger(cfg.log)); err != nil {
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
			return nil, endpointError("backend", cfg.backend, err)
		}
		if b.ready, err = device.NewLoadBalancer(b.front, b.backR, device.WithQueue(cfg.queue), device.WithLogger(cfg.log)); err != nil {
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

// run moves requests and replies until ctx ends or a socket fails; it
// returns nil when ctx ended.
func (b *broker) run(ctx context.Context) error {
	var err error
	if b.proxy != nil {
		err = b.proxy.Run(ctx)
	} else {
		err = b.ready.Run(ctx)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// sources returns the sockets to report on.
func (b *broker) sources() []source {
	srcs := []source{{Name: "frontend", Stats: b.front.Stats}}
	if b.backD != nil {
		srcs = append(srcs, source{Name: "backend", Stats: b.backD.Stats})
	} else {
		srcs = append(srcs, source{Name: "backend", Stats: b.backR.Stats})
	}
	return srcs
}

// lbStats returns the ready broker's figures, or nil in rr mode.
func (b *broker) lbStats() func() device.LoadBalancerStats {
	if b.ready == nil {
		return nil
	}
	return b.ready.Stats
}

// brokerFlagsAgree returns a usage error for flags that make sense alone
// but not together: one endpoint for both sides, or --queue without
// --lb ready.
func brokerFlagsAgree(f *flags, front, back, mode string) error {
	if sameEndpoint(front, back) {
		return usagef("--frontend and --backend are both %q: the broker binds two endpoints", front)
	}
	queueSet := false
	f.Visit(func(fl *flag.Flag) { queueSet = queueSet || fl.Name == "queue" })
	if queueSet && mode != lbReady {
		return usagef("--queue is for --lb ready: with --lb %s the broker holds no queue", mode)
	}
	return nil
}

// sameEndpoint reports whether binding a and b would bind one endpoint
// twice: the same string, or tcp endpoints on one port (other than 0 or
// *, which pick a free port each) whose hosts are the same, differ only in
// spelling (localhost, 127.0.0.1), or one of which is every interface (*,
// 0.0.0.0).
func sameEndpoint(a, b string) bool {
	split := func(s string) (host, port string, ok bool) {
		rest, ok := strings.CutPrefix(s, "tcp://")
		i := strings.LastIndexByte(rest, ':')
		if !ok || i < 0 {
			return "", "", false
		}
		host, port = rest[:i], rest[i+1:]
		switch host {
		case "0.0.0.0":
			host = "*"
		case "localhost":
			host = "127.0.0.1"
		}
		return host, port, port != "0" && port != "*"
	}
	ha, pa, oka := split(a)
	hb, pb, okb := split(b)
	if !oka || !okb {
		return a == b && !strings.HasPrefix(a, "tcp://")
	}
	return pa == pb && (ha == hb || ha == "*" || hb == "*")
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
	if err := brokerFlagsAgree(f, *front, *back, *mode); err != nil {
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
	obs, err := observe(ctx, log, *statsIvl, *metrics, b.sources(), b.lbStats())
	if err != nil {
		return err
	}
	defer obs.stop()
	log.Info("broker: running", "frontend", b.frontendAddr(), "backend", b.backendAddr(), "lb", *mode)
	err = b.run(ctx)
	log.Info("broker: shutting down")
	return err
}
