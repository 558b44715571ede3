package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
)

// TestDemo runs the demo briefly in both modes: requests flow, every reply
// answers its request, every worker gets work, and a figures line is
// printed each interval.
func TestDemo(t *testing.T) {
	for _, mode := range []string{lbReady, lbRoundRobin} {
		t.Run(mode, func(t *testing.T) {
			var out testutil.Buffer
			cfg := demoConfig{duration: 300 * time.Millisecond, workers: 3, clients: 2, window: 4, mode: mode,
				every: 50 * time.Millisecond, out: &out, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			tot, err := demo(context.Background(), cfg)
			require.NoError(t, err)
			assert.Positive(t, tot.replies)
			assert.Zero(t, tot.bad)
			require.Len(t, tot.perWorker, 3)
			var handled uint64
			for i, n := range tot.perWorker {
				assert.Positive(t, n, "worker %d got work", i+1)
				handled += n
			}
			// A reply may be answered but not yet received when
			// the demo stops, never the other way round.
			assert.GreaterOrEqual(t, handled, tot.replies)
			text := out.String()
			assert.Contains(t, text, "demo: broker --lb "+mode)
			assert.Contains(t, text, "req/s")
			assert.Contains(t, text, "demo: done after")
			assert.GreaterOrEqual(t, strings.Count(text, "req/s"), 2, text)
		})
	}
}

func TestDemoCommandStopsOnCancel(t *testing.T) {
	cmd := start(t, "demo", "--workers", "2", "--clients", "2")
	testutil.CheckFor(t, 10*time.Second, func() bool { return contains(cmd.stdout.String(), "req/s") }, "first figures line")
	assert.Equal(t, exitOK, cmd.stop(t), cmd.stderr.String())
	assert.Contains(t, cmd.stdout.String(), "demo: done after")
}

func TestShares(t *testing.T) {
	s := shares([]uint64{3, 1, 0})
	assert.Contains(t, s, "w1 ########    75%")
	assert.Contains(t, s, "w2 ###         25%")
	assert.Contains(t, s, "w3              0%")
}
