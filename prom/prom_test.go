package prom

import (
	"context"
	"runtime/debug"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/device"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
)

// gather returns every sample of c as "name{label=value,...} value", the
// labels sorted by name.
func gather(t *testing.T, cs ...prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	for _, c := range cs {
		require.NoError(t, reg.Register(c))
	}
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(labels)
			key := mf.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			out[key] = value(mf.GetType(), m)
		}
	}
	return out
}

func value(t dto.MetricType, m *dto.Metric) float64 {
	if t == dto.MetricType_COUNTER {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// TestCollectorCounts: a ROUTER that echoes one message from a DEALER, and
// has one more for an unknown peer, shows it in the metrics, labelled
// with its name.
func TestCollectorCounts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := router.New()
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, r.Bind("tcp://127.0.0.1:0"))
	d, err := dealer.New()
	require.NoError(t, err)
	defer d.Close()
	require.NoError(t, d.Connect(r.Addr()))

	require.NoError(t, d.SendFrames(ctx, []byte("ping")))
	m, err := r.Recv(ctx)
	require.NoError(t, err)
	require.NoError(t, r.Send(ctx, m))
	reply, err := d.Recv(ctx)
	require.NoError(t, err)
	reply.Release()
	require.NoError(t, r.SendFrames(ctx, []byte("nobody"), []byte("x")))

	got := gather(t, NewCollector(Source{"echo", r.Stats}, Source{"client", d.Stats}))
	want := map[string]float64{
		`zrouter_peers{socket=echo}`:                                      1,
		`zrouter_peers_connected_total{socket=echo}`:                      1,
		`zrouter_messages_received_total{socket=echo}`:                    1,
		`zrouter_messages_sent_total{socket=echo}`:                        1,
		`zrouter_received_bytes_total{socket=echo}`:                       4,
		`zrouter_sent_bytes_total{socket=echo}`:                           4,
		`zrouter_messages_dropped_total{reason=unroutable,socket=echo}`:   1,
		`zrouter_messages_dropped_total{reason=hwm,socket=echo}`:          0,
		`zrouter_connections_refused_total{reason=max_peers,socket=echo}`: 0,
		`zrouter_messages_sent_total{socket=client}`:                      1,
		`zrouter_messages_received_total{socket=client}`:                  1,
	}
	for k, v := range want {
		if assert.Contains(t, got, k) {
			assert.Equal(t, v, got[k], k)
		}
	}
}

// TestCollectorCloseReasons: a peer that goes is counted under its reason,
// in snake case.
func TestCollectorCloseReasons(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := router.New()
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, r.Bind("tcp://127.0.0.1:0"))
	mon := r.Monitor(16)
	defer mon.Stop()
	d, err := dealer.New()
	require.NoError(t, err)
	require.NoError(t, d.Connect(r.Addr()))
	require.NoError(t, d.SendFrames(ctx, []byte("hi")))
	m, err := r.Recv(ctx)
	require.NoError(t, err)
	m.Release()
	require.NoError(t, d.Close())
	for ev := range mon.C {
		if ev.Kind == socket.EventDisconnected {
			break
		}
	}
	got := gather(t, NewCollector(Source{"s", r.Stats}))
	assert.Equal(t, 1.0, got[`zrouter_peer_closes_total{reason=peer_closed,socket=s}`], "%v", got)
	assert.Equal(t, "peer_sent_error", ReasonLabel(socket.PeerSentError))
}

// TestLoadBalancerCollector: the broker figures are a LoadBalancer's.
func TestLoadBalancerCollector(t *testing.T) {
	front, err := router.New()
	require.NoError(t, err)
	defer front.Close()
	back, err := router.New(router.WithMandatory(true))
	require.NoError(t, err)
	defer back.Close()
	lb, err := device.NewLoadBalancer(front, back, device.WithQueue(7))
	require.NoError(t, err)
	got := gather(t, NewLoadBalancerCollector(func() device.LoadBalancerStats {
		st := lb.Stats()
		st.Queued, st.QueueDropped, st.Replied = 3, 5, 2
		return st
	}))
	assert.Equal(t, map[string]float64{
		"zrouter_broker_queued_requests":     3,
		"zrouter_broker_ready_workers":       0,
		"zrouter_broker_queue_dropped_total": 5,
		"zrouter_broker_dispatched_total":    0,
		"zrouter_broker_replied_total":       2,
	}, got)
}

// TestBuildInfo: zrouter_build_info is 1, labelled with the library's
// version and Go's.
func TestBuildInfo(t *testing.T) {
	got := gather(t, NewBuildInfoCollector())
	require.Len(t, got, 1)
	for k, v := range got {
		assert.True(t, strings.HasPrefix(k, "zrouter_build_info{goversion=go"), k)
		assert.Contains(t, k, "version=")
		assert.Equal(t, 1.0, v)
	}
	bi := &debug.BuildInfo{Deps: []*debug.Module{{Path: "github.com/zrouter/zrouter", Version: "v0.1.0"}}}
	assert.Equal(t, "v0.1.0", libraryVersion(bi, true))
	bi.Deps[0].Replace = &debug.Module{Path: "../zrouter"}
	assert.Equal(t, "(devel)", libraryVersion(bi, true))
	assert.Equal(t, "unknown", libraryVersion(nil, false))
}

// TestLint: every metric passes Prometheus' own naming checks.
func TestLint(t *testing.T) {
	r, err := router.New(router.WithMandatory(true))
	require.NoError(t, err)
	defer r.Close()
	front, err := router.New()
	require.NoError(t, err)
	defer front.Close()
	lb, err := device.NewLoadBalancer(front, r)
	require.NoError(t, err)
	for _, c := range []prometheus.Collector{NewCollector(Source{"s", r.Stats}), NewLoadBalancerCollector(lb.Stats), NewBuildInfoCollector()} {
		problems, err := testutil.CollectAndLint(c)
		require.NoError(t, err)
		assert.Empty(t, problems)
	}
}
