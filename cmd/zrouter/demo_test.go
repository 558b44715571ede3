package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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
	s := shares([]uint64{3, 1, 0}, 10)
	assert.Contains(t, s, "w1 ########    75%")
	assert.Contains(t, s, "w2 ##          25%")
	assert.Contains(t, s, "w3              0%")
	assert.Equal(t, "w1  75%  w2  25%  w3   0%", shares([]uint64{3, 1, 0}, 0))
	assert.Equal(t, "w1 ##### 100%", shares([]uint64{7}, 5))
	assert.Equal(t, "w1         0%  w2         0%", shares([]uint64{0, 0}, 5), "no work, no bars")
}

// TestSharesAgree: for many spreads of work and bar widths, the
// percentages add up to 100, the bars fill their width, and each bar and
// each percentage is its worker's exact share rounded down or up. Bars of
// 3 cells at 25% and 8 at 75% once filled 11 cells of 10.
func TestSharesAgree(t *testing.T) {
	spreads := [][]uint64{{3, 1}, {1, 1, 1}, {1, 2, 3, 4}, {5, 0, 5}, {1, 1, 1, 1, 1, 1, 1}, {99, 1}, {1000, 333, 7}}
	for _, work := range spreads {
		var sum uint64
		for _, n := range work {
			sum += n
		}
		for _, bar := range []int{1, 3, 7, 10, 20} {
			pcts, cells := apportion(work, 100), apportion(work, bar)
			pctSum, cellSum := 0, 0
			for i, n := range work {
				exact := float64(n) / float64(sum)
				assert.InDelta(t, exact*100, float64(pcts[i]), 1, "%v: worker %d's percentage", work, i)
				assert.InDelta(t, exact*float64(bar), float64(cells[i]), 1, "%v bar %d: worker %d's bar", work, bar, i)
				pctSum += pcts[i]
				cellSum += cells[i]
			}
			assert.Equal(t, 100, pctSum, "%v", work)
			assert.Equal(t, bar, cellSum, "%v bar %d", work, bar)
			line := shares(work, bar)
			for i := range work {
				assert.Contains(t, line, fmt.Sprintf("w%d %-*s %3d%%", i+1, bar, strings.Repeat("#", cells[i]), pcts[i]))
			}
		}
	}
}

// TestFiguresFitTheWidth: a figures line takes fewer columns than it is
// given, with bars as wide as fit, up to maxBar, and none when none fit.
func TestFiguresFitTheWidth(t *testing.T) {
	for _, work := range [][]uint64{{5, 3, 2, 1}, {1}, {4, 4}} {
		n := len(work)
		bare := utf8.RuneCountInString(figures(time.Second, time.Second, 1, 1, work, 1))
		for width := bare - 5; width < bare+n*(maxBar+3); width++ {
			line := figures(1500*time.Millisecond, time.Second, 1000, 3000, work, width)
			cols := utf8.RuneCountInString(line)
			if cols == bare {
				assert.NotContains(t, line, "#")
				assert.Less(t, width, bare+1+2*n, "width %d: %q has room for bars", width, line)
				continue
			}
			require.Zero(t, (cols-bare)%n, "%q", line)
			bar := (cols-bare)/n - 1
			assert.Less(t, cols, width, "%q", line)
			assert.LessOrEqual(t, bar, maxBar)
			if bar < maxBar {
				assert.GreaterOrEqual(t, cols+n, width, "width %d: %q could have wider bars", width, line)
			}
		}
	}
	assert.NotContains(t, figures(time.Second, time.Second, 1, 1, []uint64{5, 3, 2, 1}, 40), "#", "no room for bars")
	assert.Less(t, utf8.RuneCountInString(figures(time.Second, time.Second, 1, 1, []uint64{1, 1}, 0)), 80, "80 columns by default")
	assert.Equal(t, 0, termWidth(&bytes.Buffer{}), "a buffer is no terminal")
}

// TestDemoSaysOneClient: the header counts in the singular for one.
func TestDemoSaysOneClient(t *testing.T) {
	var out testutil.Buffer
	cfg := demoConfig{duration: 50 * time.Millisecond, workers: 1, clients: 1, window: 1, mode: lbReady,
		every: time.Hour, out: &out, log: slog.New(slog.DiscardHandler)}
	_, err := demo(context.Background(), cfg)
	require.NoError(t, err)
	assert.Contains(t, out.String(), "; 1 worker, 1 client x 1 in flight.")
	assert.Equal(t, "2 workers", plural(2, "worker"))
}
