//go:build !race

// Running every server in a child process costs seconds without the race
// detector and a minute with it, where every child is instrumented too; the
// servers and the C loops are race-tested in process by their own packages.

package bench

import (
	"bytes"
	"context"
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/interop/internal/servers"
)

// TestRun runs small versions of every kind of scenario against every
// server, each in a child process, and checks what the report says.
func TestRun(t *testing.T) {
	o := testOptions(t)
	o.ClientKeepFreed = 64 << 20
	o.Scenarios = []Scenario{
		{Name: "2x16B", Clients: 2, Size: 16, Window: 10},
		{Name: "2x64KiB", Clients: 2, Size: 64 << 10, Window: 4},
		{Name: "latency", Clients: 1, Size: 16, Window: 1, Latency: true},
		{Name: "idle", Clients: 2, Size: 16, Window: 10, Idle: 50},
		{Name: "broker", Clients: 2, Size: 16, Window: 1, Broker: true, Workers: 1},
		{Name: "curve-2x16B", Clients: 2, Size: 16, Window: 10, Curve: true},
		{Name: "ipc-2x1KiB", Clients: 2, Size: 1024, Window: 10, IPC: true},
		{Name: "curve-handshake", Clients: 2, Size: 16, Window: 1, Latency: true, Curve: true, Handshake: true},
		{Name: "reqrep-latency", Clients: 1, Size: 16, Window: 1, Latency: true, ReqRep: true},
		{Name: "reqrep-latency-zreq", Clients: 1, Size: 16, Window: 1, Latency: true, ReqRep: true, ZReq: true},
	}
	o.CurveAuth = true
	results, err := Run(context.Background(), o)
	require.NoError(t, err)
	require.Len(t, results, len(o.Scenarios))
	for _, r := range results {
		if r.Broker {
			require.Len(t, r.Servers, 1, "only the libzmq proxy without the zrouter CLI")
			assert.Equal(t, LibzmqProxy, r.Servers[0].Kind)
			assert.Contains(t, r.Note, "no zrouter CLI in this test")
		} else if r.Curve {
			require.Len(t, r.Servers, len(DefaultCurveServers), r.Name)
		} else if r.IPC {
			require.Len(t, r.Servers, len(DefaultIPCServers), r.Name)
		} else if r.ReqRep {
			require.Len(t, r.Servers, len(servers.RepKinds), r.Name)
		} else {
			require.Len(t, r.Servers, len(servers.Kinds), r.Name)
		}
		for _, s := range r.Servers {
			want := o.Rounds
			if r.Idle > 0 {
				want = o.IdleRounds
			}
			require.Len(t, s.Samples, want, "%s %s", r.Name, s.Kind)
			assert.Positive(t, s.MsgsPerSec, "%s %s", r.Name, s.Kind)
			assert.InDelta(t, s.MsgsPerSec*float64(r.Size)/1e6, s.MBPerSec, 1e-6)
			assert.GreaterOrEqual(t, s.CPUMicrosPerMsg, 0.0)
			assert.Positive(t, s.ClientCPUMicrosPerMsg, "%s %s: the clients work", r.Name, s.Kind)
			if r.Latency {
				assert.Positive(t, s.P50Micros, s.Kind)
				assert.GreaterOrEqual(t, s.P99Micros, s.P50Micros, s.Kind)
			}
			if r.Idle > 0 {
				for _, sm := range s.Samples {
					assert.Positive(t, sm.RSSBefore, s.Kind)
					assert.Positive(t, sm.RSSIdle, s.Kind)
				}
			}
		}
	}

	rep := NewReport(CollectEnv(), o, "test", results)
	var text, md, js, svg bytes.Buffer
	rep.WriteText(&text)
	rep.WriteMarkdown(&md)
	require.NoError(t, rep.WriteJSON(&js))
	require.NoError(t, rep.WriteSVG(&svg))
	for _, out := range []string{text.String(), md.String()} {
		assert.Contains(t, out, "2x64KiB")
		assert.Contains(t, out, "zrouter vs")
		assert.Contains(t, out, "no zrouter CLI in this test")
	}
	assert.Contains(t, md.String(), "kept up to 64 MiB of freed memory")
	assert.Contains(t, md.String(), "zrouter-curve vs")
	assert.Contains(t, md.String(), "handshakes/s")
	assert.Contains(t, md.String(), "allow-list")
	assert.Contains(t, js.String(), `"msgs_per_sec"`)
	assert.NoError(t, xml.Unmarshal(svg.Bytes(), new(struct{})), "the chart is well-formed XML")
}
