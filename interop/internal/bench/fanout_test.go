package bench

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunFanout runs every fan-out kind once, in child processes, on small
// scenarios of each shape: every kind that runs a scenario must deliver
// messages in its window, and the table must have a row for each.
func TestRunFanout(t *testing.T) {
	scs := []FanScenario{
		{Name: "t-direct-2", Subs: 2, Size: 16, Extra: -1},
		{Name: "t-forwarder-2", Subs: 2, Size: 1024, Forwarder: true, Extra: -1},
		{Name: "t-match-1", Subs: 1, Size: 16, Extra: 0},
		{Name: "t-match-1001", Subs: 1, Size: 16, Extra: 1000},
	}
	o := &FanOptions{Scenarios: scs, Rounds: 1, Warmup: 10 * time.Millisecond, Duration: 30 * time.Millisecond,
		Timeout: 20 * time.Second, HWM: 1000, Self: quickExit(testOptions(t).Self)}
	res, err := RunFanout(context.Background(), o)
	require.NoError(t, err)
	require.Len(t, res, len(scs))
	for _, r := range res {
		want := []string{FanLibzmq, FanZRouter, FanZRouterP1}
		if r.Scenario.Forwarder {
			want = append(want, FanNATS)
		}
		assert.Len(t, r.Rates, len(want), r.Scenario.Name)
		for _, k := range want {
			require.Len(t, r.Rates[k], 1, "%s %s", r.Scenario.Name, k)
			assert.Positive(t, r.Rates[k][0], "%s %s", r.Scenario.Name, k)
		}
	}
	var b bytes.Buffer
	FanMarkdown(&b, res)
	table, notes, _ := strings.Cut(b.String(), "\n\n")
	assert.Equal(t, 2+len(res), strings.Count(table, "\n")+1)
	assert.Contains(t, notes, "t-direct-2: zrouter/libzmq")
	assert.Contains(t, notes, "t-forwarder-2: zrouter/nats")
	assert.Contains(t, notes, "zrouter: t-match-1001/t-match-1")
	assert.Contains(t, notes, "t-direct-2: zrouter-p1/libzmq")
	assert.Contains(t, notes, "t-forwarder-2: zrouter-p1/nats")
	assert.Contains(t, notes, "zrouter-p1: t-match-1001/t-match-1")
}

func TestFanScenarios(t *testing.T) {
	scs := FanScenarios()
	require.Len(t, scs, 14)
	assert.Equal(t, "fanout-direct-1-16B", scs[0].Name)
	assert.Equal(t, "fanout-forwarder-100-1KiB", scs[11].Name)
	assert.Equal(t, 100_000, scs[13].Extra)
	assert.Equal(t, []string{FanLibzmq, FanZRouter, FanZRouterP1}, scs[0].kinds(FanKinds))
	assert.Equal(t, FanKinds, scs[11].kinds(FanKinds))
	topics := fanTopics(scs[13])
	require.Len(t, topics, 100_001)
	msg := fanPayload(scs[13])
	for _, tp := range topics[:len(topics)-1] {
		if bytes.HasPrefix(msg, tp) {
			t.Fatalf("%q matches", tp)
		}
	}
	assert.True(t, bytes.HasPrefix(msg, topics[len(topics)-1]))
	// The matching one is sent last, after every other has arrived.
	sorted := slices.SortedFunc(slices.Values(topics), bytes.Compare)
	assert.Equal(t, topics[len(topics)-1], sorted[len(sorted)-1])
}

// quickExit makes the children of self skip the race detector's second of
// sleep at exit (each run starts one or two).
func quickExit(self func([]string) *exec.Cmd) func([]string) *exec.Cmd {
	return func(args []string) *exec.Cmd {
		cmd := self(args)
		cmd.Env = append(cmd.Env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
		return cmd
	}
}

// A child told to run with a GOMAXPROCS it does not have refuses to start,
// so that a zrouter-p1 run cannot silently measure the default.
func TestFanChildChecksProcs(t *testing.T) {
	err := FanChildMain([]string{fanChildFlag, "subs", "-kind", FanZRouter,
		"-procs", strconv.Itoa(runtime.GOMAXPROCS(0) + 1)}, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "GOMAXPROCS")
}
