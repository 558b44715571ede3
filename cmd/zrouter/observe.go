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
	"github.com/zrouter/zrouter/socket"
	"golang.org/x/net/netutil"
)

// source is a socket whose counters the stats line and the metrics report.
type source struct {
	name  string              // the value of the "socket" label
	stats func() socket.Stats // read when reporting, never cached
}

// extra is one more figure of a device (a broker's queue, say), read when
// reporting.
type extra struct {
	name    string // metric name without the zrouter_ prefix, and log key
	help    string
	counter bool // a counter (ever growing) rather than a gauge
	value   func() uint64
}

// statsLoop logs one line with every source's counters each ivl until ctx
// ends. An ivl of 0 or less logs nothing.
func statsLoop(ctx context.Context, log *slog.Logger, ivl time.Duration, srcs []source, extras []extra) {
	if ivl <= 0 {
		return
	}
	t := time.NewTicker(ivl)
	defer t.Stop()
	prevIn := make([]uint64, len(srcs))
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			secs := now.Sub(last).Seconds()
			last = now
			attrs := make([]any, 0, len(srcs)+len(extras))
			for i, s := range srcs {
				st := s.stats()
				rate := 0.0
				if secs > 0 {
					rate = float64(st.MsgsIn-prevIn[i]) / secs
				}
				prevIn[i] = st.MsgsIn
				attrs = append(attrs, slog.Group(s.name,
					"peers", st.Peers,
					"msgs_in", st.MsgsIn,
					"msgs_out", st.MsgsOut,
					"msgs_direct", st.MsgsOutDirect,
					"in_per_sec", int64(rate),
					"dropped_hwm", st.DroppedHWM,
					"unroutable", st.Unroutable,
					"dropped_closed", st.DroppedClosed,
				))
			}
			for _, e := range extras {
				attrs = append(attrs, e.name, e.value())
			}
			log.Info("stats", attrs...)
		}
	}
}

// routerCollector exports socket.Stats as Prometheus metrics, reading
// Stats() of every source at scrape time.
type routerCollector struct {
	srcs []source

	peers, connected, disconnected *prometheus.Desc
	msgsIn, msgsOut, msgsDirect    *prometheus.Desc
	bytesIn, bytesOut              *prometheus.Desc
	droppedHWM, unroutable         *prometheus.Desc
	droppedClosed, droppedEmpty    *prometheus.Desc
	refused, handshakeErr, closes  *prometheus.Desc
}

func newRouterCollector(srcs []source) *routerCollector {
	sock := []string{"socket"}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("zrouter_"+name, help, append(sock, labels...), nil)
	}
	return &routerCollector{
		srcs:         srcs,
		peers:        d("peers", "Live peers of the socket."),
		connected:    d("peers_connected_total", "Peers admitted since start."),
		disconnected: d("peers_disconnected_total", "Peers gone since start."),
		msgsIn:       d("messages_received_total", "Messages received from peers."),
		msgsOut:      d("messages_sent_total", "Messages written to peers."),
		msgsDirect:   d("messages_sent_direct_total", "Of the messages sent, those Send wrote itself, with no hand-off to a writer goroutine."),
		bytesIn:      d("received_bytes_total", "Frame bytes of the messages received from peers."),
		bytesOut:     d("sent_bytes_total", "Frame bytes of the messages written to peers."),
		droppedHWM:   d("messages_dropped_hwm_total", "Messages dropped at a peer's send high-water mark."),
		unroutable:   d("messages_unroutable_total", "Messages dropped for want of a peer to take them."),
		droppedClosed: d("messages_dropped_closed_total",
			"Messages queued for a connection that ended, or still queued when the socket closed."),
		droppedEmpty: d("messages_dropped_empty_total", "Messages with nothing to put on the wire."),
		refused:      d("connections_refused_total", "Connections refused after their handshake.", "cause"),
		handshakeErr: d("handshake_failures_total", "Connections whose ZMTP handshake failed."),
		closes:       d("peer_closes_total", "Peers gone, by why they went.", "reason"),
	}
}

// Describe implements prometheus.Collector.
func (c *routerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.peers, c.connected, c.disconnected, c.msgsIn, c.msgsOut, c.msgsDirect,
		c.bytesIn, c.bytesOut, c.droppedHWM, c.unroutable, c.droppedClosed, c.droppedEmpty, c.refused, c.handshakeErr, c.closes} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *routerCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.srcs {
		st := s.stats()
		gauge := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{s.name}, labels...)...)
		}
		counter := func(d *prometheus.Desc, v uint64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{s.name}, labels...)...)
		}
		gauge(c.peers, float64(st.Peers))
		counter(c.connected, st.Connected)
		counter(c.disconnected, st.Disconnected)
		counter(c.msgsIn, st.MsgsIn)
		counter(c.msgsOut, st.MsgsOut)
		counter(c.msgsDirect, st.MsgsOutDirect)
		counter(c.bytesIn, st.BytesIn)
		counter(c.bytesOut, st.BytesOut)
		counter(c.droppedHWM, st.DroppedHWM)
		counter(c.unroutable, st.Unroutable)
		counter(c.droppedClosed, st.DroppedClosed)
		counter(c.droppedEmpty, st.DroppedEmpty)
		counter(c.refused, st.RefusedDuplicateID, "routing_id_taken")
		counter(c.refused, st.RefusedMaxPeers, "max_peers")
		counter(c.handshakeErr, st.HandshakeFailed)
		for reason, n := range st.CloseReasons {
			counter(c.closes, n, reason.String())
		}
	}
}

// newRegistry returns a registry with the sources' and extras' metrics, and
// the Go runtime's and the process's.
func newRegistry(srcs []source, extras []extra) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	cs := []prometheus.Collector{
		newRouterCollector(srcs),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}
	for _, e := range extras {
		value := e.value
		f := func() float64 { return float64(value()) }
		if e.counter {
			cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "zrouter_" + e.name, Help: e.help}, f))
		} else {
			cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "zrouter_" + e.name, Help: e.help}, f))
		}
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
// is set, the metrics server. Call stop to end both.
func observe(ctx context.Context, log *slog.Logger, ivl time.Duration, metricsAddr string, srcs []source, extras []extra) (*observer, error) {
	o := &observer{}
	if metricsAddr != "" {
		reg, err := newRegistry(srcs, extras)
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
		statsLoop(ctx, log, ivl, srcs, extras)
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
