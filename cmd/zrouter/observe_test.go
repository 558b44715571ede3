package main

import (
	"bytes"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
)

// logStatsLine returns the fields of one stats line of l, as logged by
// the text handler: "frontend.msgs_in" → "3".
func logStatsLine(t *testing.T, l *statsLine) map[string]string {
	t.Helper()
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("stats", l.attrs(0)...)
	out := map[string]string{}
	for _, kv := range strings.Fields(buf.String()) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

// gatherMetrics returns the registry's samples as
// `name{label="value",...}` → value, labels in the registry's order
// (sorted by name).
func gatherMetrics(t *testing.T, b *broker) map[string]float64 {
	t.Helper()
	reg, err := newRegistry(b.sources(), b.lbStats())
	require.NoError(t, err)
	return gatherRegistry(t, reg)
}

// gatherRegistry returns every sample reg serves, keyed by name and
// labels.
func gatherRegistry(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := mf.GetName()
			if len(ls) > 0 {
				key += "{" + strings.Join(ls, ",") + "}"
			}
			v := m.GetGauge().GetValue()
			if mf.GetType() == dto.MetricType_COUNTER {
				v = m.GetCounter().GetValue()
			}
			out[key] = v
		}
	}
	return out
}

// metricKey is the key gatherMetrics gives a socket's field.
func metricKey(f lineField, sock string) string {
	if f.reason != "" {
		return fmt.Sprintf("%s{reason=%q,socket=%q}", f.metric, f.reason, sock)
	}
	return fmt.Sprintf("%s{socket=%q}", f.metric, sock)
}

// TestStatsLineAgreesWithMetrics: for both backends, every figure of the
// broker's stats line is the value of its metric, after traffic that
// moves most of them off zero (an unroutable reply, a dropped request in
// ready mode). The metrics once disagreed with the line.
func TestStatsLineAgreesWithMetrics(t *testing.T) {
	for _, mode := range []string{lbRoundRobin, lbReady} {
		t.Run(mode, func(t *testing.T) {
			b := runningBroker(t, mode, 1)
			ctx := testCtx(t)
			c := newDealer(t, b.frontendAddr())
			if mode == lbReady {
				// With no worker ready, the second request is one too
				// many for a queue of 1.
				require.NoError(t, c.SendFrames(ctx, nil, []byte("q1")))
				testutil.CheckFor(t, 10*time.Second, func() bool { return b.ready.Stats().Queued == 1 }, "one queued")
				require.NoError(t, c.SendFrames(ctx, nil, []byte("q2")))
				testutil.CheckFor(t, 10*time.Second, func() bool { return b.ready.Stats().QueueDropped == 1 }, "one dropped")
			}
			startWorker(t, b, "w1", mode == lbReady, false)
			if mode == lbReady {
				assert.Equal(t, frames("", "w1:q1"), recvFrames(t, ctx, c))
			}
			for i := range 5 {
				body := "r" + strconv.Itoa(i)
				require.NoError(t, c.SendFrames(ctx, nil, []byte(body)))
				assert.Equal(t, frames("", "w1:"+body), recvFrames(t, ctx, c))
			}
			// A reply for a client that is not there.
			require.NoError(t, b.front.SendFrames(ctx, []byte("nobody"), []byte("x")))
			testutil.CheckFor(t, 10*time.Second, func() bool { return b.front.Stats().Unroutable == 1 }, "unroutable counted")

			line := newStatsLine(b.sources(), b.lbStats())
			var before, after map[string]string
			var got map[string]float64
			// Counters a writer bumps after its peer has read may still
			// move: compare a scrape taken between two equal lines.
			testutil.CheckFor(t, 10*time.Second, func() bool {
				before = logStatsLine(t, line)
				got = gatherMetrics(t, b)
				after = logStatsLine(t, line)
				delete(before, "time")
				delete(after, "time")
				return fmt.Sprint(before) == fmt.Sprint(after)
			}, "a still stats line")
			n := 0
			for _, src := range b.sources() {
				for _, f := range lineFields {
					k := src.Name + "." + f.key
					require.Contains(t, before, k)
					mk := metricKey(f, src.Name)
					require.Contains(t, got, mk)
					assert.Equal(t, before[k], strconv.FormatFloat(got[mk], 'f', -1, 64), "%s vs %s", k, mk)
					n++
				}
			}
			if mode == lbReady {
				for _, f := range lbFields {
					k := "broker." + f.key
					require.Contains(t, before, k)
					require.Contains(t, got, f.metric)
					assert.Equal(t, before[k], strconv.FormatFloat(got[f.metric], 'f', -1, 64), "%s vs %s", k, f.metric)
					n++
				}
				assert.Equal(t, "1", before["broker.queue_dropped"])
			} else {
				assert.NotContains(t, before, "broker.queue_dropped")
			}
			assert.Equal(t, "1", before["frontend.unroutable"])
			assert.NotEqual(t, "0", before["backend.msgs_in"])
			assert.NotEqual(t, "0", before["frontend.bytes_out"])
			assert.Equal(t, 2*len(lineFields)+len(lbFields)*btoi(mode == lbReady), n)
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
