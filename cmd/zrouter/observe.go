package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/zrouter/zrouter/device"
	"github.com/zrouter/zrouter/prom"
	"github.com/zrouter/zrouter/socket"
	"golang.org/x/net/netutil"
)

// source is a socket whose counters the stats line and the metrics report.
type source = prom.Source

// lineField is one figure of a socket on the stats line, and the metric
// that shows the same counter: the two must always agree.
type lineField struct {
	key    string // on the stats line, in the socket's group
	metric string // the metric's name
	reason string // the metric's reason label, if it has one
	value  func(socket.Stats) uint64
}

// lineFields are a socket's figures on the stats line, in order.
var lineFields = []lineField{
	{"peers", "zrouter_peers", "", func(s socket.Stats) uint64 { return uint64(s.Peers) }},
	{"msgs_in", "zrouter_messages_received_total", "", func(s socket.Stats) uint64 { return s.MsgsIn }},
	{"msgs_out", "zrouter_messages_sent_total", "", func(s socket.Stats) uint64 { return s.MsgsOut }},
	{"msgs_direct", "zrouter_messages_sent_direct_total", "", func(s socket.Stats) uint64 { return s.MsgsOutDirect }},
	{"bytes_in", "zrouter_received_bytes_total", "", func(s socket.Stats) uint64 { return s.BytesIn }},
	{"bytes_out", "zrouter_sent_bytes_total", "", func(s socket.Stats) uint64 { return s.BytesOut }},
	{"dropped_hwm", "zrouter_messages_dropped_total", prom.DropHWM, func(s socket.Stats) uint64 { return s.DroppedHWM }},
	{"unroutable", "zrouter_messages_dropped_total", prom.DropUnroutable, func(s socket.Stats) uint64 { return s.Unroutable }},
	{"dropped_closed", "zrouter_messages_dropped_total", prom.DropClosed, func(s socket.Stats) uint64 { return s.DroppedClosed }},
}

// lbField is one figure of the ready broker on the stats line, in its
// "broker" group, and its metric.
type lbField struct {
	key, metric string
	value       func(device.LoadBalancerStats) uint64
}

var lbFields = []lbField{
	{"queued_requests", "zrouter_broker_queued_requests", func(s device.LoadBalancerStats) uint64 { return uint64(s.Queued) }},
	{"ready_workers", "zrouter_broker_ready_workers", func(s device.LoadBalancerStats) uint64 { return uint64(s.ReadyWorkers) }},
	{"queue_dropped", "zrouter_broker_queue_dropped_total", func(s device.LoadBalancerStats) uint64 { return s.QueueDropped }},
	{"dispatched", "zrouter_broker_dispatched_total", func(s device.LoadBalancerStats) uint64 { return s.Dispatched }},
	{"replied", "zrouter_broker_replied_total", func(s device.LoadBalancerStats) uint64 { return s.Replied }},
}

// statsLoop logs one line with every source's counters each ivl until ctx
// ends. An ivl of 0 or less logs nothing. lb, when not nil, adds a ready
// broker's figures.
func statsLoop(ctx context.Context, log *slog.Logger, ivl time.Duration, srcs []source, lb func() device.LoadBalancerStats, more ...deviceFigures) {
	if ivl <= 0 {
		return
	}
	t := time.NewTicker(ivl)
	defer t.Stop()
	line := newStatsLine(srcs, lb)
	line.more = more
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			log.Info("stats", line.attrs(now.Sub(last).Seconds())...)
			last = now
		}
	}
}

// statsLine makes stats lines, remembering what the last one counted for
// the rate.
type statsLine struct {
	srcs   []source
	lb     func() device.LoadBalancerStats
	more   []deviceFigures
	prevIn []uint64
}

// deviceFigures are a device's own figures beyond its sockets' (a forwarder's
// subscribers per topic prefix): their attributes on the stats line, and
// their collector for the metrics.
type deviceFigures interface {
	attrs() []any
	collector() prometheus.Collector
}

func newStatsLine(srcs []source, lb func() device.LoadBalancerStats) *statsLine {
	return &statsLine{srcs: srcs, lb: lb, prevIn: make([]uint64, len(srcs))}
}

// attrs returns the line's attributes, secs after the last line: a group
// per source, with in_per_sec the rate of msgs_in since the last line, and
// a broker group.
func (l *statsLine) attrs(secs float64) []any {
	attrs := make([]any, 0, len(l.srcs)+1)
	for i, s := range l.srcs {
		st := s.Stats()
		g := make([]any, 0, 2*len(lineFields)+2)
		for _, f := range lineFields {
			g = append(g, f.key, f.value(st))
		}
		rate := 0.0
		if secs > 0 {
			rate = float64(st.MsgsIn-l.prevIn[i]) / secs
		}
		l.prevIn[i] = st.MsgsIn
		g = append(g, "in_per_sec", int64(rate))
		attrs = append(attrs, slog.Group(s.Name, g...))
	}
	if l.lb != nil {
		st := l.lb()
		g := make([]any, 0, 2*len(lbFields))
		for _, f := range lbFields {
			g = append(g, f.key, f.value(st))
		}
		attrs = append(attrs, slog.Group("broker", g...))
	}
	for _, f := range l.more {
		attrs = append(attrs, f.attrs()...)
	}
	return attrs
}

// newRegistry returns a registry with the sources' metrics, the ready
// broker's (lb, if not nil), zrouter_build_info, and the Go runtime's
// and the process's.
func newRegistry(srcs []source, lb func() device.LoadBalancerStats, more ...deviceFigures) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	cs := []prometheus.Collector{
		prom.NewCollector(srcs...),
		prom.NewBuildInfoCollector(),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}
	if lb != nil {
		cs = append(cs, prom.NewLoadBalancerCollector(lb))
	}
	for _, f := range more {
		cs = append(cs, f.collector())
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// metricsServer serves /metrics over HTTP until stop.
type metricsServer struct {
	srv  *http.Server
	addr net.Addr
	done chan struct{}
	err  error // of Serve, valid after done
}

// The metrics server's bounds: a scraper is one client, or a few, so a
// connection that idles, trickles its request or reads its answer slowly
// is closed, and no more than metricsMaxConns are served at once (more
// wait in the listen backlog).
var (
	metricsIdleTimeout = 60 * time.Second
	metricsMaxConns    = 16
)

const (
	metricsReadTimeout  = 10 * time.Second
	metricsWriteTimeout = 30 * time.Second
	metricsMaxHeader    = 8 << 10
)

// serveMetrics listens on addr (HOST:PORT) and serves the registry's
// metrics at /metrics in the background. The caller must call stop.
func serveMetrics(addr string, reg *prometheus.Registry, log *slog.Logger) (*metricsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return startMetrics(ln, reg, log), nil
}

// startMetrics serves the registry's metrics on ln in the background.
func startMetrics(ln net.Listener, reg *prometheus.Registry, log *slog.Logger) *metricsServer {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, `<html><head><title>zrouter</title></head><body><a href="/metrics">/metrics</a></body></html>`+"\n")
	})
	m := &metricsServer{
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       metricsReadTimeout,
			WriteTimeout:      metricsWriteTimeout,
			IdleTimeout:       metricsIdleTimeout,
			MaxHeaderBytes:    metricsMaxHeader,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		},
		addr: ln.Addr(),
		done: make(chan struct{}),
	}
	ln = netutil.LimitListener(ln, metricsMaxConns)
	go func() {
		defer close(m.done)
		if err := m.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			m.err = err
		}
	}()
	log.Info("metrics: serving", "url", "http://"+m.addr.String()+"/metrics")
	return m
}

// stop shuts the server down and waits for it.
func (m *metricsServer) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := m.srv.Shutdown(ctx); err != nil {
		_ = m.srv.Close()
	}
	<-m.done
	return m.err
}

// observer runs the stats line and the metrics endpoint of a device.
type observer struct {
	wg      sync.WaitGroup
	cancel  context.CancelFunc
	metrics *metricsServer
}

// observe starts the stats loop (every ivl; 0 = off) and, when metricsAddr
// is set, the metrics server. lb, if not nil, adds a ready broker's
// figures. Call stop to end both.
func observe(ctx context.Context, log *slog.Logger, ivl time.Duration, metricsAddr string, srcs []source, lb func() device.LoadBalancerStats, more ...deviceFigures) (*observer, error) {
	o := &observer{}
	if metricsAddr != "" {
		reg, err := newRegistry(srcs, lb, more...)
		if err != nil {
			return nil, err
		}
		if o.metrics, err = serveMetrics(metricsAddr, reg, log); err != nil {
			return nil, err
		}
	}
	ctx, o.cancel = context.WithCancel(ctx)
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		statsLoop(ctx, log, ivl, srcs, lb, more...)
	}()
	return o, nil
}

// stop ends the stats loop and the metrics server and waits for them.
func (o *observer) stop() {
	o.cancel()
	o.wg.Wait()
	if o.metrics != nil {
		_ = o.metrics.stop()
	}
}
