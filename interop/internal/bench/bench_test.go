package bench

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/interop/internal/servers"
	"github.com/zrouter/zrouter/interop/internal/zmqc"
)

// testOptions runs children as this test binary (see TestMain) with short
// runs.
func testOptions(t *testing.T) *Options {
	t.Helper()
	return &Options{
		Servers:        servers.Kinds,
		Rounds:         2,
		IdleRounds:     1,
		Warmup:         20 * time.Millisecond,
		Duration:       50 * time.Millisecond,
		Timeout:        5 * time.Second,
		HWM:            10000,
		IdlePerProcess: 30,
		Self: func(args []string) *exec.Cmd {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), childEnv+"="+strings.Join(args, "\x1f"))
			return cmd
		},
		ZRouterMissing: "no zrouter CLI in this test",
	}
}

// TestRunFailsOnDeadServer checks that a server that goes away fails the
// run instead of producing numbers.
func TestRunFailsOnDeadServer(t *testing.T) {
	o := testOptions(t)
	o.Servers = []string{servers.ZRouter}
	o.Timeout = time.Second
	o.Scenarios = []Scenario{{Name: "1x16B", Clients: 1, Size: 16, Window: 10}}
	p, err := o.start(servers.ZRouter, o.Scenarios[0])
	require.NoError(t, err)
	require.NoError(t, p.stop(10*time.Second))
	_, err = measure(o, o.Scenarios[0], p, 0)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "has exited")
}

// TestOneProcServer checks that the zrouter-p1 server runs in a process
// with GOMAXPROCS=1 and the plain one in a process without it.
func TestOneProcServer(t *testing.T) {
	o := testOptions(t)
	sc := Scenario{Name: "1x16B", Clients: 1, Size: 16, Window: 10}
	for _, kind := range []string{servers.ZRouter, servers.ZRouterP1} {
		p, err := o.start(kind, sc)
		require.NoError(t, err)
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.cmd.Process.Pid))
		require.NoError(t, err)
		vars := strings.Split(string(env), "\x00")
		assert.Equal(t, kind == servers.ZRouterP1, slices.Contains(vars, "GOMAXPROCS=1"), kind)
		require.NoError(t, p.stop(10*time.Second))
	}
}

// TestRawClientsCatchWrongReplies runs the raw TCP clients against servers
// that answer wrongly; each must fail the run.
func TestRawClientsCatchWrongReplies(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(b []byte)
	}{
		{"corrupt payload", func(b []byte) { b[len(b)-1] ^= 1 }},
		{"wrong sequence", func(b []byte) { binary.LittleEndian.PutUint64(b, 7) }},
		{"wrong client", func(b []byte) { binary.LittleEndian.PutUint32(b[8:], 9) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			done := make(chan struct{})
			go func() {
				defer close(done)
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				buf := make([]byte, 32)
				if _, err := io.ReadFull(c, buf); err != nil {
					return
				}
				tc.tamper(buf)
				_, _ = c.Write(buf)
			}()
			rc, err := newRawClients(1, "tcp://"+ln.Addr().String(), time.Second)
			require.NoError(t, err)
			_, err = rc.run(runConfig{Size: 32, Window: 1, Sample: 1, Duration: time.Millisecond, Timeout: time.Second})
			require.ErrorIs(t, err, ErrBadReply)
			require.NoError(t, rc.close())
			require.NoError(t, ln.Close())
			<-done
		})
	}
}

func TestParseProc(t *testing.T) {
	stat := []byte("1234 (my (odd) prog) S 1 1234 1234 0 -1 4194304 500 0 0 0 250 130 0 0 20 0 9 0 100 0 0")
	cpu, err := parseStatCPU(stat)
	require.NoError(t, err)
	assert.Equal(t, 3800*time.Millisecond, cpu, "(250+130) ticks of 10 ms")
	_, err = parseStatCPU([]byte("1234 (x) S 1"))
	assert.Error(t, err)

	rss, err := parseStatusRSS([]byte("Name:\tx\nVmPeak:\t  9 kB\nVmRSS:\t    2048 kB\nThreads:\t3\n"))
	require.NoError(t, err)
	assert.Equal(t, int64(2048<<10), rss)
	_, err = parseStatusRSS([]byte("Name:\tx\n"))
	assert.Error(t, err)

	busy, err := parseStatBusy([]byte("cpu  100 5 50 9999 77 1 2 3 0 0\ncpu0 1 2 3\n"))
	require.NoError(t, err)
	assert.Equal(t, 1610*time.Millisecond, busy, "user+nice+system+irq+softirq+steal, not idle or iowait")

	// The live files parse too.
	_, err = procCPU(os.Getpid())
	require.NoError(t, err)
	_, err = procRSS(os.Getpid())
	require.NoError(t, err)
	_, err = readLoad()
	require.NoError(t, err)
}

func TestStatistics(t *testing.T) {
	assert.Equal(t, 2.0, median([]float64{3, 1, 2}))
	assert.Equal(t, 2.5, median([]float64{4, 1, 2, 3}))
	assert.Equal(t, 0.0, median(nil))
	ds := make([]time.Duration, 100)
	for i := range ds {
		ds[i] = time.Duration(100-i) * time.Microsecond
	}
	assert.Equal(t, 50.0, percentile(ds, 50))
	assert.Equal(t, 99.0, percentile(ds, 99))
	assert.Equal(t, 0.0, percentile(nil, 50))
}

func TestScenarios(t *testing.T) {
	all := Scenarios(10000, 16, 4, 8)
	var names []string
	for _, sc := range all {
		names = append(names, sc.Name)
	}
	assert.Equal(t, []string{"1x16B", "8x16B", "8x1KiB", "8x64KiB", "latency", "idle", "broker",
		"ipc-8x16B", "ipc-8x1KiB", "ipc-8x64KiB", "curve-8x16B", "curve-8x1KiB", "curve-8x64KiB", "curve-handshake", "reqrep-latency", "reqrep-latency-zreq"}, names)
	got, err := FindScenarios(all, "latency, 8x16B")
	require.NoError(t, err)
	assert.Equal(t, "8x16B", got[0].Name, "in the default order")
	assert.Equal(t, "latency", got[1].Name)
	got, err = FindScenarios(all, "ipc")
	require.NoError(t, err)
	require.Len(t, got, 3)
	for _, sc := range got {
		assert.True(t, sc.IPC, sc.Name)
		assert.Equal(t, "ipc://*", sc.bindAddr())
	}
	_, err = FindScenarios(all, "nope")
	assert.Error(t, err)
	assert.Equal(t, "64KiB", sizeLabel(64<<10))
	assert.Equal(t, "1000B", sizeLabel(1000))
	assert.Equal(t, "1,234,567", group(1234567))
}

// TestEvaluate checks the verdicts on the targets of the issue.
func TestEvaluate(t *testing.T) {
	res := func(name string, idle int, rs ...*ServerResult) *ScenarioResult {
		return &ScenarioResult{Scenario: Scenario{Name: name, Idle: idle}, Servers: rs}
	}
	results := []*ScenarioResult{
		res("8x16B", 0,
			&ServerResult{Kind: servers.ZRouter, MsgsPerSec: 300, CPUMicrosPerMsg: 1},
			&ServerResult{Kind: servers.ZRouterP1, MsgsPerSec: 140, CPUMicrosPerMsg: 0.5,
				Samples: []Sample{{Round: 0, Msgs: 150, Seconds: 1}, {Round: 1, Msgs: 130, Seconds: 1}}},
			&ServerResult{Kind: servers.Libzmq, MsgsPerSec: 100, CPUMicrosPerMsg: 1,
				Samples: []Sample{{Round: 1, Msgs: 100, Seconds: 1}, {Round: 0, Msgs: 100, Seconds: 1}}},
			&ServerResult{Kind: servers.GoZMQ, MsgsPerSec: 10, CPUMicrosPerMsg: 9}),
		res("idle", 10000, &ServerResult{Kind: servers.ZRouter, RSSPerIdleKiB: 25}),
	}
	verdicts, measured := map[string]string{}, map[string]string{}
	for _, tg := range Evaluate(results) {
		verdicts[tg.Server+" "+tg.Goal] = verdict(tg)
		measured[tg.Server+" "+tg.Goal] = tg.Measured
	}
	assert.Equal(t, "1.40x (140 vs 100 msgs/s; rounds 1.30-1.50x)", measured["zrouter-p1 8x16B: msgs/s >= 1.5x libzmq C loop"],
		"the ratio of the medians, and its range over rounds paired by number")
	assert.Equal(t, "3.00x (300 vs 100 msgs/s)", measured["zrouter 8x16B: msgs/s >= 1.5x libzmq C loop"], "no rounds to pair")
	assert.Len(t, verdicts, 18, "nine targets for each zrouter server")
	assert.Equal(t, "met", verdicts["zrouter 8x16B: msgs/s >= 1.5x libzmq C loop"])
	assert.Equal(t, "MISSED", verdicts["zrouter 8x16B: server CPU/msg <= 0.7x libzmq C loop"])
	assert.Equal(t, "MISSED", verdicts["zrouter 8x16B: msgs/s >= 40x go-zeromq"])
	assert.Equal(t, "n/a", verdicts["zrouter 1x16B: msgs/s >= 1.2x libzmq C loop"])
	assert.Equal(t, "MISSED", verdicts["zrouter idle: <= 20 KiB RSS per idle peer at 10,000 peers"])
	assert.Equal(t, "MISSED", verdicts["zrouter-p1 8x16B: msgs/s >= 1.5x libzmq C loop"])
	assert.Equal(t, "met", verdicts["zrouter-p1 8x16B: server CPU/msg <= 0.7x libzmq C loop"])
	assert.Equal(t, "n/a", verdicts["zrouter-p1 idle: <= 20 KiB RSS per idle peer at 10,000 peers"])
}

func TestIdleMessages(t *testing.T) {
	a, b := idleMessage(1), idleMessage(2)
	assert.Len(t, a, 16)
	assert.NotEqual(t, a, b)
	assert.Equal(t, make([]byte, 8), a[:8], "sequence 0")
	p := make([]byte, 16)
	zmqc.Payload(p)
	assert.Equal(t, p[zmqc.HeaderLen:], a[zmqc.HeaderLen:])
}
