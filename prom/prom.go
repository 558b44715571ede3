package prom

import (
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/zrouter/zrouter/device"
	"github.com/zrouter/zrouter/socket"
)

// Source is one socket whose counters a collector exports.
type Source struct {
	// Name is the value of the socket label: "frontend", say.
	Name string
	// Stats returns the socket's counters; it is called at every scrape.
	// A socket's Stats method is one.
	Stats func() socket.Stats
}

// Drop reasons, the values of zrouter_messages_dropped_total's reason
// label, one for each of socket.Stats' drop counters.
const (
	DropHWM        = "hwm"        // Stats.DroppedHWM
	DropUnroutable = "unroutable" // Stats.Unroutable
	DropClosed     = "closed"     // Stats.DroppedClosed
	DropEmpty      = "empty"      // Stats.DroppedEmpty
	DropIn         = "in"         // Stats.DroppedIn
)

// socketCollector exports the Stats of its sources.
type socketCollector struct {
	srcs []Source

	peers, queued, connected, disconnected *prometheus.Desc
	msgsIn, msgsOut, msgsDirect            *prometheus.Desc
	bytesIn, bytesOut                      *prometheus.Desc
	dropped, refused, handshake, closes    *prometheus.Desc
	events                                 *prometheus.Desc
}

// NewCollector returns a collector of the sources' counters, each
// labelled with its source's name. The names must differ.
func NewCollector(srcs ...Source) prometheus.Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("zrouter_"+name, help, append([]string{"socket"}, labels...), nil)
	}
	return &socketCollector{
		srcs:         append([]Source(nil), srcs...),
		peers:        d("peers", "Connections of the socket that are up."),
		queued:       d("queued_messages", "Outbound messages waiting in the socket's pipes or being written."),
		connected:    d("peers_connected_total", "Connections admitted after their handshake."),
		disconnected: d("peers_disconnected_total", "Admitted connections that have ended."),
		msgsIn:       d("messages_received_total", "Messages received from peers."),
		msgsOut:      d("messages_sent_total", "Messages written to peers."),
		msgsDirect:   d("messages_sent_direct_total", "Of the messages sent, those Send wrote itself, with no hand-off to a writer goroutine."),
		bytesIn:      d("received_bytes_total", "Frame bytes of the messages received from peers."),
		bytesOut:     d("sent_bytes_total", "Frame bytes of the messages written to peers."),
		dropped: d("messages_dropped_total",
			"Messages dropped, by reason: hwm (a peer's send high-water mark), unroutable (no peer to take it), "+
				"closed (its connection ended first), empty (nothing to send), in (received by a socket that cannot receive).",
			"reason"),
		refused:   d("connections_refused_total", "Connections refused, by reason: routing_id_taken, max_peers, filtered.", "reason"),
		handshake: d("handshake_failures_total", "Connections whose ZMTP handshake failed."),
		closes:    d("peer_closes_total", "Connections ended, by why they ended.", "reason"),
		events:    d("events_dropped_total", "Socket events no monitor had room for."),
	}
}

// Describe implements prometheus.Collector.
func (c *socketCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.peers, c.queued, c.connected, c.disconnected, c.msgsIn, c.msgsOut,
		c.msgsDirect, c.bytesIn, c.bytesOut, c.dropped, c.refused, c.handshake, c.closes, c.events} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *socketCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.srcs {
		st := s.Stats()
		gauge := func(d *prometheus.Desc, v int) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), s.Name)
		}
		counter := func(d *prometheus.Desc, v uint64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{s.Name}, labels...)...)
		}
		gauge(c.peers, st.Peers)
		gauge(c.queued, st.Queued)
		counter(c.connected, st.Connected)
		counter(c.disconnected, st.Disconnected)
		counter(c.msgsIn, st.MsgsIn)
		counter(c.msgsOut, st.MsgsOut)
		counter(c.msgsDirect, st.MsgsOutDirect)
		counter(c.bytesIn, st.BytesIn)
		counter(c.bytesOut, st.BytesOut)
		counter(c.dropped, st.DroppedHWM, DropHWM)
		counter(c.dropped, st.Unroutable, DropUnroutable)
		counter(c.dropped, st.DroppedClosed, DropClosed)
		counter(c.dropped, st.DroppedEmpty, DropEmpty)
		counter(c.dropped, st.DroppedIn, DropIn)
		counter(c.refused, st.RefusedDuplicateID, "routing_id_taken")
		counter(c.refused, st.RefusedMaxPeers, "max_peers")
		counter(c.refused, st.RefusedFiltered, "filtered")
		counter(c.handshake, st.HandshakeFailed)
		counter(c.events, st.EventsDropped)
		for reason, n := range st.CloseReasons {
			counter(c.closes, n, ReasonLabel(reason))
		}
	}
}

// ReasonLabel is the reason label of zrouter_peer_closes_total for r: its
// String in snake case, "peer_closed" for socket.PeerClosed.
func ReasonLabel(r socket.CloseReason) string {
	return strings.ReplaceAll(strings.ToLower(r.String()), " ", "_")
}

// lbCollector exports a LoadBalancer's figures.
type lbCollector struct {
	stats                        func() device.LoadBalancerStats
	queued, ready                *prometheus.Desc
	dropped, dispatched, replied *prometheus.Desc
}

// NewLoadBalancerCollector returns a collector of the figures stats
// returns (a device.LoadBalancer's Stats method), read at every scrape.
func NewLoadBalancerCollector(stats func() device.LoadBalancerStats) prometheus.Collector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("zrouter_broker_"+name, help, nil, nil)
	}
	return &lbCollector{
		stats:      stats,
		queued:     d("queued_requests", "Requests waiting for a ready worker."),
		ready:      d("ready_workers", "Workers waiting for a request."),
		dropped:    d("queue_dropped_total", "Requests dropped because the wait queue was full."),
		dispatched: d("dispatched_total", "Requests handed to a worker."),
		replied:    d("replied_total", "Replies handed to the frontend for their client."),
	}
}

// Describe implements prometheus.Collector.
func (c *lbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.queued, c.ready, c.dropped, c.dispatched, c.replied} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *lbCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(st.Queued))
	ch <- prometheus.MustNewConstMetric(c.ready, prometheus.GaugeValue, float64(st.ReadyWorkers))
	ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(st.QueueDropped))
	ch <- prometheus.MustNewConstMetric(c.dispatched, prometheus.CounterValue, float64(st.Dispatched))
	ch <- prometheus.MustNewConstMetric(c.replied, prometheus.CounterValue, float64(st.Replied))
}

// libraryPath is the zrouter library's module path.
const libraryPath = "github.com/zrouter/zrouter"

// NewBuildInfoCollector returns the gauge zrouter_build_info, always 1,
// whose labels say which zrouter library the program was built with
// (version) and by which Go (goversion).
func NewBuildInfoCollector() prometheus.Collector {
	bi, ok := debug.ReadBuildInfo()
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "zrouter_build_info",
		Help:        "Always 1; its labels are the version of the zrouter library and of Go the program was built with.",
		ConstLabels: prometheus.Labels{"version": libraryVersion(bi, ok), "goversion": runtime.Version()},
	}, func() float64 { return 1 })
}

// libraryVersion returns the version of the zrouter library in bi:
// "(devel)" when it is the main module or replaced by a directory.
func libraryVersion(bi *debug.BuildInfo, ok bool) string {
	if !ok {
		return "unknown"
	}
	mods := append([]*debug.Module{&bi.Main}, bi.Deps...)
	for _, m := range mods {
		if m.Path != libraryPath {
			continue
		}
		if m.Replace != nil {
			m = m.Replace
		}
		if m.Version == "" {
			return "(devel)"
		}
		return m.Version
	}
	return "(devel)"
}
