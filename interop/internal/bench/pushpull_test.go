package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunPipeline runs every pipeline kind once on a small scenario of each
// shape: each must count exactly what was sent and measure a rate.
func TestRunPipeline(t *testing.T) {
	for _, procs := range []bool{false, true} {
		t.Run(fmt.Sprintf("child=%v", procs), func(t *testing.T) { testRunPipeline(t, procs) })
	}
}

func testRunPipeline(t *testing.T, procs bool) {
	scs := []PipeScenario{
		{Name: "t-1x1", Senders: 1, Receivers: 1, Size: 100, Msgs: 4000},
		{Name: "t-4x4", Senders: 4, Receivers: 4, Size: 2000, Msgs: 4000},
	}
	o := &PipeOptions{Scenarios: scs, Rounds: 1, Timeout: 20 * time.Second}
	prefix := filepath.Join(t.TempDir(), "cpu")
	if procs {
		o.Self = testOptions(t).Self
		o.CPUProfile = prefix
	}
	res, err := RunPipeline(context.Background(), o)
	require.NoError(t, err)
	require.Len(t, res, 2)
	for _, r := range res {
		for _, k := range PipeKinds {
			require.Len(t, r.Rates[k], 1, "%s %s", r.Scenario.Name, k)
			assert.Positive(t, r.Rates[k][0], "%s %s", r.Scenario.Name, k)
		}
	}
	if procs {
		for _, sc := range scs {
			for _, side := range []string{"recv", "send"} {
				st, err := os.Stat(prefix + "-" + sc.Name + "-" + side + ".pprof")
				require.NoError(t, err)
				assert.Positive(t, st.Size(), "%s %s profile", sc.Name, side)
			}
		}
	}
	var b bytes.Buffer
	PipeMarkdown(&b, res)
	assert.Equal(t, 2+len(res), strings.Count(strings.SplitN(b.String(), "\n\n", 2)[0], "\n")+1)
}

func TestPipeScenarios(t *testing.T) {
	scs := PipeScenarios(1)
	require.Len(t, scs, 6)
	for _, sc := range scs {
		assert.Zero(t, sc.Msgs%40, sc.Name)
		assert.True(t, strings.HasPrefix(sc.Name, PipelineGroup+"-"), sc.Name)
	}
	assert.Equal(t, "pushpull-4x4-64KiB", scs[5].Name)
}

func TestPickPipeScenarios(t *testing.T) {
	all := PipeScenarios(1)
	assert.Equal(t, all, PickPipeScenarios(all, ""))
	var names []string
	for _, sc := range PickPipeScenarios(all, "4x4-64KiB,1x1-16B") {
		names = append(names, sc.Name)
	}
	assert.Equal(t, []string{"pushpull-1x1-16B", "pushpull-4x4-64KiB"}, names)
	assert.Empty(t, PickPipeScenarios(all, "nothing"))
}

// The warm-up is a tenth of what is measured, and never less than what the
// senders' pipes hold, split evenly over the senders.
func TestPipeWarmUp(t *testing.T) {
	for _, tc := range []struct {
		sc   PipeScenario
		warm uint64
	}{
		{PipeScenario{Senders: 1, Receivers: 1, Msgs: 2_000_000}, 200_000},
		{PipeScenario{Senders: 1, Receivers: 1, Msgs: 4000}, pipeHWM},
		{PipeScenario{Senders: 4, Receivers: 4, Msgs: 20_000}, 16 * pipeHWM},
		{PipeScenario{Senders: 4, Receivers: 4, Msgs: 1_000_000}, 100_000},
		{PipeScenario{Senders: 3, Receivers: 1, Msgs: 100_000}, 9999},
	} {
		r := newPipeRun(tc.sc)
		assert.Equal(t, tc.warm, r.warm, "%+v", tc.sc)
		assert.Equal(t, tc.warm+tc.sc.Msgs, r.total, "%+v", tc.sc)
	}
}

// The 64 KiB target of zrouter-p1 is against the stream with one P when
// that was measured, and against the other stream otherwise.
func TestPipeMarkdownCeilings(t *testing.T) {
	sc := PipeScenario{Name: "pushpull-4x4-64KiB", Senders: 4, Receivers: 4, Size: 64 << 10}
	r := &PipeResult{Scenario: sc, Rates: map[string][]float64{
		PipeLibzmq: {100}, PipeZRouter: {80}, PipeZRouterP1: {60}, PipeTCP: {100}, PipeTCPP1: {80},
	}}
	var b bytes.Buffer
	PipeMarkdown(&b, []*PipeResult{r})
	assert.Contains(t, b.String(), "pushpull-4x4-64KiB: zrouter/tcp 0.80 (target 0.70) met")
	assert.Contains(t, b.String(), "pushpull-4x4-64KiB: zrouter-p1/tcp-p1 0.75 (target 0.70) met")
	assert.Contains(t, b.String(), "| 80 | 0.75 |")

	delete(r.Rates, PipeTCPP1)
	b.Reset()
	PipeMarkdown(&b, []*PipeResult{r})
	assert.Contains(t, b.String(), "pushpull-4x4-64KiB: zrouter-p1/tcp 0.60 (target 0.70) MISSED")
}
