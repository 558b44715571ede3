package main

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/zrouter/zrouter/device"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/xpub"
	"github.com/zrouter/zrouter/xsub"
)

const pubsubHelp = `
Usage: zrouter pubsub --frontend ENDPOINT --backend ENDPOINT [flags]

A pub/sub forwarder, libzmq's zmq_proxy(XSUB, XPUB). Publishers (PUB or
XPUB) connect to the frontend, an XSUB socket; subscribers (SUB or XSUB)
connect to the backend, an XPUB socket. Subscriptions flow upstream to every
publisher, one that connects later included, and each message flows to the
subscribers whose prefix matches it. When a subscriber leaves, its
subscriptions are cancelled upstream once no one else holds them. A
subscriber too slow to take its messages misses them, counted in
dropped_hwm, and holds up no one else. It runs until SIGINT or SIGTERM,
then exits with status 0.

The stats line and the metrics count the subscribers of each topic prefix
(the --top most subscribed; zrouter_pubsub_topic_prefixes counts them all).
`

const pubsubExamples = `
  # publishers connect to 5557, subscribers to 5558
  zrouter pubsub --frontend tcp://*:5557 --backend tcp://*:5558

  # CURVE for the subscribers, who must be listed in subscribers.keys
  zrouter pubsub --frontend tcp://127.0.0.1:5557 --backend tcp://*:5558 \
      --backend-curve-secret-file server.key --backend-curve-allow subscribers.keys

  # stats every second, Prometheus on :9100
  zrouter pubsub --frontend tcp://*:5557 --backend tcp://*:5558 --stats-interval 1s --metrics :9100`

// pubsubConfig is the forwarder's settings.
type pubsubConfig struct {
	frontend, backend string
	top               int // prefixes the stats and metrics name
	sock              sockFlags
	frontSec, backSec []socket.Option
	log               *slog.Logger
}

// forwarder is the pubsub command's sockets and device.
type forwarder struct {
	cfg   pubsubConfig
	front *xsub.XSub
	back  *xpub.XPub
	fwd   *device.Forwarder
}

// newForwarder makes the forwarder's sockets and binds them.
func newForwarder(cfg pubsubConfig) (*forwarder, error) {
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	if sameEndpoint(cfg.frontend, cfg.backend) {
		return nil, usagef("--frontend and --backend are both %q: the forwarder binds two endpoints", cfg.frontend)
	}
	if cfg.top < 0 {
		return nil, usagef("bad --top %d: want 0 or more", cfg.top)
	}
	f := &forwarder{cfg: cfg}
	ok := false
	defer func() {
		if !ok {
			f.close()
		}
	}()
	var err error
	if f.front, err = xsub.New(append(cfg.sock.options(cfg.log.With("socket", "frontend")), cfg.frontSec...)...); err != nil {
		return nil, err
	}
	if err := f.front.Bind(cfg.frontend); err != nil {
		return nil, endpointError("frontend", cfg.frontend, err)
	}
	if f.back, err = xpub.New(append(cfg.sock.options(cfg.log.With("socket", "backend")), cfg.backSec...)...); err != nil {
		return nil, err
	}
	if err := f.back.Bind(cfg.backend); err != nil {
		return nil, endpointError("backend", cfg.backend, err)
	}
	if f.fwd, err = device.NewForwarder(f.front, f.back, device.WithLogger(cfg.log)); err != nil {
		return nil, err
	}
	ok = true
	return f, nil
}

// close closes the sockets; run must have returned or be returning.
func (f *forwarder) close() {
	if f.front != nil {
		_ = f.front.Close()
	}
	if f.back != nil {
		_ = f.back.Close()
	}
}

// run forwards until ctx ends or a socket fails; it returns nil when ctx
// ended.
func (f *forwarder) run(ctx context.Context) error {
	err := f.fwd.Run(ctx)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

func (f *forwarder) sources() []source {
	return []source{{Name: "frontend", Stats: f.front.Stats}, {Name: "backend", Stats: f.back.Stats}}
}

// topics returns the forwarder's subscribers per topic prefix, for the
// stats line and the metrics.
func (f *forwarder) topics() deviceFigures { return topicFigures{f: f} }

// topicFigures are the subscribers of the --top most subscribed topic
// prefixes, and the number of prefixes: zrouter_pubsub_subscribers{prefix}
// and zrouter_pubsub_topic_prefixes.
type topicFigures struct{ f *forwarder }

func (t topicFigures) attrs() []any {
	top, n := t.f.fwd.Topics(t.f.cfg.top)
	g := make([]any, 0, 2*len(top))
	for _, tc := range top {
		g = append(g, printable(tc.Prefix), tc.Subscribers)
	}
	return []any{"pubsub_topic_prefixes", n, slog.Group("pubsub_subscribers", g...)}
}

func (t topicFigures) collector() prometheus.Collector { return &topicCollector{f: t.f} }

var (
	topicPrefixesDesc = prometheus.NewDesc("zrouter_pubsub_topic_prefixes",
		"Topic prefixes subscribed to at the forwarder's backend.", nil, nil)
	topicSubscribersDesc = prometheus.NewDesc("zrouter_pubsub_subscribers",
		"Subscribers of a topic prefix, for the most subscribed prefixes (--top).", []string{"prefix"}, nil)
)

// topicCollector exports topicFigures, read at scrape time.
type topicCollector struct{ f *forwarder }

// Describe implements prometheus.Collector.
func (c *topicCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- topicPrefixesDesc
	ch <- topicSubscribersDesc
}

// Collect implements prometheus.Collector.
func (c *topicCollector) Collect(ch chan<- prometheus.Metric) {
	top, n := c.f.fwd.Topics(c.f.cfg.top)
	ch <- prometheus.MustNewConstMetric(topicPrefixesDesc, prometheus.GaugeValue, float64(n))
	for _, t := range top {
		ch <- prometheus.MustNewConstMetric(topicSubscribersDesc, prometheus.GaugeValue, float64(t.Subscribers), printable(t.Prefix))
	}
}

// printable returns a topic prefix as a label can show it: as it is when
// it is printable text, quoted with escapes otherwise.
func printable(p string) string {
	if q := strconv.Quote(p); q[1:len(q)-1] == p {
		return p
	}
	return strconv.Quote(p)
}

func runPubsub(ctx context.Context, c *cli, args []string) error {
	f := newFlags("pubsub", pubsubHelp, pubsubExamples)
	front := f.String("frontend", "", "endpoint to bind for publishers, tcp://HOST:PORT or ipc://PATH (required)")
	back := f.String("backend", "", "endpoint to bind for subscribers, tcp://HOST:PORT or ipc://PATH (required)")
	statsIvl := f.Duration("stats-interval", 5*time.Second, "log a stats line this often (0 = off)")
	metrics := f.String("metrics", "", "serve Prometheus metrics at http://ADDR/metrics (ADDR is HOST:PORT)")
	top := f.Int("top", 10, "topic prefixes, the most subscribed, that the stats and metrics count")
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
	cfg := pubsubConfig{frontend: *front, backend: *back, top: *top, sock: *sock, log: log}
	if cfg.frontSec, err = sec.over(frontSec).options(log.With("socket", "frontend"), "frontend-"); err != nil {
		return err
	}
	if cfg.backSec, err = sec.over(backSec).options(log.With("socket", "backend"), "backend-"); err != nil {
		return err
	}
	fw, err := newForwarder(cfg)
	if err != nil {
		return err
	}
	defer fw.close()
	obs, err := observe(ctx, log, *statsIvl, *metrics, fw.sources(), nil, fw.topics())
	if err != nil {
		return err
	}
	defer obs.stop()
	log.Info("pubsub: running", "frontend", fw.front.Addr(), "backend", fw.back.Addr())
	err = fw.run(ctx)
	log.Info("pubsub: shutting down")
	return err
}
