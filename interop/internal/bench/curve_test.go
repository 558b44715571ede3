package bench

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/interop/internal/servers"
	"github.com/zrouter/zrouter/interop/internal/zmqc"
)

// TestCurveScenarios checks the CURVE scenarios: the three sizes of the
// issue with the windows of the NULL ones, the handshake scenario, and
// the "curve" group that picks all four.
func TestCurveScenarios(t *testing.T) {
	all := Scenarios(10000, 16, 4, 5)
	got, err := FindScenarios(all, "8x16B, curve")
	require.NoError(t, err)
	var names []string
	for _, sc := range got {
		names = append(names, sc.Name)
		if sc.Name == "8x16B" {
			assert.False(t, sc.Curve)
			continue
		}
		assert.True(t, sc.Curve, sc.Name)
		if !sc.Handshake {
			assert.Equal(t, 8, sc.Clients, sc.Name)
		}
	}
	assert.Equal(t, []string{"8x16B", "curve-8x16B", "curve-8x1KiB", "curve-8x64KiB", "curve-handshake"}, names)
	// The same sizes and windows as the NULL scenarios.
	for _, n := range []string{"8x16B", "8x1KiB", "8x64KiB"} {
		i := slices.IndexFunc(all, func(sc Scenario) bool { return sc.Name == n })
		j := slices.IndexFunc(all, func(sc Scenario) bool { return sc.Name == "curve-"+n })
		assert.Equal(t, []int{all[i].Size, all[i].Window}, []int{all[j].Size, all[j].Window}, n)
	}
	hs := got[len(got)-1]
	assert.True(t, hs.Handshake && hs.Latency)
	assert.Equal(t, 5, hs.Clients, "handshakes at a time")

	o := &Options{Servers: servers.Kinds, Scenarios: got}
	assert.Equal(t, servers.Kinds, o.kinds(got[0]))
	assert.Equal(t, DefaultCurveServers, o.kinds(got[1]), "the CURVE servers by default")
	o.CurveServers = []string{servers.LibzmqCurve}
	assert.Equal(t, o.CurveServers, o.kinds(got[1]))
	assert.Equal(t, 8, o.needCurve(), "a key pair for each client of the largest CURVE scenario")
	o.Scenarios = got[:1]
	assert.Zero(t, o.needCurve())
}

// TestCurveServerCommand checks how a CURVE server child is started: its
// secret key in the environment and never on the command line, the
// clients' public keys as its allow-list only with CurveAuth, and a NULL
// server (the ceiling) with no keys at all.
func TestCurveServerCommand(t *testing.T) {
	o := testOptions(t)
	sc := Scenario{Name: "curve-8x16B", Curve: true, Clients: 2, Size: 16, Window: 10}
	_, _, err := o.serverCmd(servers.LibzmqCurve, sc)
	require.Error(t, err, "no keys yet")
	keys, err := NewCurveKeys(2)
	require.NoError(t, err)
	o.Curve = keys
	assert.NotEqual(t, keys.Clients[0], keys.Clients[1])
	assert.Equal(t, keys.Clients[0], keys.client(2), "keys are reused round robin")

	for _, auth := range []bool{true, false} {
		o.CurveAuth = auth
		for _, kind := range []string{servers.ZRouterCurve, servers.LibzmqCurve, servers.ZRouter} {
			cmd, _, err := o.serverCmd(kind, sc)
			require.NoError(t, err)
			var args, vars []string
			for _, v := range cmd.Env {
				if a, ok := strings.CutPrefix(v, childEnv+"="); ok {
					args = strings.Split(a, "\x1f")
				} else {
					vars = append(vars, v)
				}
			}
			line := strings.Join(args, " ")
			assert.NotContains(t, line, keys.Server.Secret, "%s: the secret key is not on the command line", kind)
			curve := servers.IsCurve(kind)
			assert.Equal(t, curve, slices.Contains(vars, curveSecretEnv+"="+keys.Server.Secret), "%s: secret in the environment", kind)
			assert.Equal(t, curve && auth, strings.Contains(line, "-curve-allow "+keys.Clients[0].Public+","+keys.Clients[1].Public), "%s auth=%v", kind, auth)
			assert.Equal(t, curve, o.curveFor(kind) != nil, "%s: CURVE clients", kind)
		}
	}
}

// serveInProcess runs a server of cfg in this process until the test ends
// and returns its endpoint.
func serveInProcess(t *testing.T, cfg servers.Config) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan []string, 1)
	done := make(chan error, 1)
	go func() { done <- servers.Serve(ctx, cfg, func(a []string) { ready <- a }) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	select {
	case a := <-ready:
		return a[0]
	case err := <-done:
		require.FailNow(t, "server stopped", "%v", err)
	}
	return ""
}

// TestHandshakeClients runs the handshake workers against both CURVE
// servers with an allow-list, and the NULL ones: every cycle is counted
// and timed, and cycles carry on from run to run. A client whose key the
// allow-list lacks gets no echo, and the run fails.
func TestHandshakeClients(t *testing.T) {
	keys, err := NewCurveKeys(3)
	require.NoError(t, err)
	allowed := &CurveKeys{Server: keys.Server, Clients: keys.Clients[:2]}
	for _, kind := range []string{servers.ZRouterCurve, servers.LibzmqCurve, servers.ZRouter, servers.Libzmq} {
		t.Run(kind, func(t *testing.T) {
			cfg := servers.Config{Kind: kind, Addrs: []string{"tcp://127.0.0.1:0"}, HWM: 100}
			o := &Options{Curve: allowed}
			if servers.IsCurve(kind) {
				cfg.CurveSecret, cfg.CurveAllow = keys.Server.Secret, allowed.publics()
			}
			ep := serveInProcess(t, cfg)
			h, err := newHandshakeClients(3, ep, o.curveFor(kind), 5*time.Second)
			require.NoError(t, err)
			cfg2 := runConfig{Size: 16, Window: 1, Duration: 30 * time.Millisecond, Latency: true}
			first, err := h.run(cfg2)
			require.NoError(t, err)
			require.Positive(t, first.Msgs)
			assert.Len(t, first.RTTs, int(first.Msgs))
			assert.GreaterOrEqual(t, first.Elapsed, 30*time.Millisecond)
			second, err := h.run(cfg2)
			require.NoError(t, err)
			assert.Equal(t, first.Msgs+second.Msgs, h.cycles.Load())
			require.NoError(t, h.close())

			if !servers.IsCurve(kind) {
				return
			}
			stranger := &CurveKeys{Server: keys.Server, Clients: keys.Clients[2:]}
			h, err = newHandshakeClients(1, ep, stranger, 300*time.Millisecond)
			require.NoError(t, err)
			_, err = h.run(cfg2)
			assert.ErrorContains(t, err, "no echo", "a key not on the list")
			require.NoError(t, h.close())
		})
	}
}

// TestHandshakeClientsCatchWrongEcho runs the handshake workers against a
// ROUTER that corrupts its one reply: the run must fail.
func TestHandshakeClientsCatchWrongEcho(t *testing.T) {
	ctx, err := zmqc.NewContext()
	require.NoError(t, err)
	router, err := ctx.Socket(zmqc.ROUTER)
	require.NoError(t, err)
	require.NoError(t, router.SetInt(zmqc.Linger, 0))
	ep, err := router.Bind("tcp://127.0.0.1:*")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		m, err := router.Recv()
		if err == nil {
			m[1][len(m[1])-1] ^= 1
			err = router.Send(m...)
		}
		done <- err
	}()
	h, err := newHandshakeClients(1, ep, nil, 5*time.Second)
	require.NoError(t, err)
	// The worker's first cycle gets the corrupted reply and ends the run.
	// A Duration so short that the worker may start after it would let the
	// run end with no cycle at all, and no error.
	_, err = h.run(runConfig{Size: 16, Window: 1, Duration: time.Minute})
	require.ErrorIs(t, err, ErrBadReply)
	require.NoError(t, h.close())
	require.NoError(t, <-done)
	require.NoError(t, router.Close())
	require.NoError(t, ctx.Term())
}

// TestCurveReport checks the tables and targets of the CURVE scenarios:
// the zrouter CURVE servers are compared with libzmq's and with the NULL
// ceiling, which is no subject of its own; the handshake scenario counts
// handshakes; and the targets are >= 1.0x libzmq's msgs/s at <= 1.0x its
// CPU per message at every size.
func TestCurveReport(t *testing.T) {
	srv := func(kind string, tp, cpu float64) *ServerResult {
		return &ServerResult{Kind: kind, MsgsPerSec: tp, CPUMicrosPerMsg: cpu}
	}
	echo := func(name string) *ScenarioResult {
		return &ScenarioResult{Scenario: Scenario{Name: name, Curve: true, Size: 16}, Servers: []*ServerResult{
			srv(servers.ZRouterCurve, 110, 0.9), srv(servers.LibzmqCurve, 100, 1), srv(servers.ZRouter, 400, 0.2),
		}}
	}
	hs := &ScenarioResult{Scenario: Scenario{Name: "curve-handshake", Curve: true, Handshake: true, Latency: true}, Servers: []*ServerResult{
		srv(servers.ZRouterCurve, 900, 800), srv(servers.LibzmqCurve, 600, 700),
	}}
	results := []*ScenarioResult{echo("curve-8x16B"), echo("curve-8x1KiB"), hs}
	results[1].Servers[0].CPUMicrosPerMsg = 1.5

	rt := results[0].ratios()
	require.Len(t, rt, 1, "one table: zrouter-curve; the NULL zrouter is the ceiling")
	assert.Equal(t, [][]string{
		{"zrouter-curve vs", "msgs/s", "CPU/msg"},
		{"libzmq-curve", "1.10x", "0.90x"},
		{"zrouter", "0.28x", "4.50x"},
	}, rt[0])
	assert.Equal(t, []string{"server", "handshakes/s", "server CPU µs/handshake", "client CPU µs/handshake", "cycle p50 µs", "cycle p99 µs"}, hs.table()[0])
	assert.Equal(t, []string{"zrouter-curve", "900", "800", "0.00", "0.00", "0.00"}, hs.table()[1], "no MB/s")
	assert.Equal(t, []string{"zrouter-curve vs", "handshakes/s", "CPU/handshake", "p50", "p99"}, hs.ratios()[0][0])
	assert.Equal(t, "1.50x", hs.ratios()[0][1][1])

	verdicts := map[string]string{}
	for _, tg := range Evaluate(results) {
		verdicts[tg.Server+" "+tg.Goal] = verdict(tg)
	}
	assert.Len(t, verdicts, 6, "the NULL zrouter of the CURVE scenarios has no targets; zrouter-p1-curve did not run")
	assert.Equal(t, "met", verdicts["zrouter-curve curve-8x16B: msgs/s >= 1.0x libzmq CURVE C loop"])
	assert.Equal(t, "met", verdicts["zrouter-curve curve-8x16B: server CPU/msg <= 1.0x libzmq CURVE C loop"])
	assert.Equal(t, "MISSED", verdicts["zrouter-curve curve-8x1KiB: server CPU/msg <= 1.0x libzmq CURVE C loop"])
	assert.Equal(t, "n/a", verdicts["zrouter-curve curve-8x64KiB: msgs/s >= 1.0x libzmq CURVE C loop"])

	rep := &Report{Scenarios: results, Settings: Settings{CurveAuth: true}}
	var md bytes.Buffer
	rep.WriteMarkdown(&md)
	assert.Contains(t, md.String(), "allow-list")
	rep.Settings.CurveAuth = false
	md.Reset()
	rep.WriteMarkdown(&md)
	assert.Contains(t, md.String(), "authenticated no one")
	assert.Empty(t, chartScenarios(results), "the chart is of the NULL echo scenarios")
}

// TestAttempts checks how often a run may be measured again on a busy
// machine: three times unless MaxAttempts says otherwise, as the report
// states.
func TestAttempts(t *testing.T) {
	o := &Options{MaxOtherLoad: 0.3}
	assert.Equal(t, 3, o.attempts())
	o.MaxAttempts = 8
	assert.Equal(t, 8, o.attempts())
	var md bytes.Buffer
	NewReport(Env{}, o, "", nil).WriteMarkdown(&md)
	assert.Contains(t, md.String(), "measured again, up to 8 times in all")
	o.BusyPause = 2 * time.Second
	md.Reset()
	NewReport(Env{}, o, "", nil).WriteMarkdown(&md)
	assert.Contains(t, md.String(), "measured again after a pause of 2s, up to 8 times in all")
}
