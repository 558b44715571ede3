package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/zrouter/zrouter/socket"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/wire"
)

// quickBench is a bench configuration small enough for a unit test.
func quickBench() benchConfig {
	return benchConfig{clients: 2, sizes: []int{16, 3 * wire.LargeFrame}, duration: 100 * time.Millisecond, window: 8, progress: io.Discard}
}

// TestBenchBothImplementations runs a short bench of zrouter and
// go-zeromq/zmq4: every size of every implementation is measured, every
// reply was counted, and payloads were checked.
func TestBenchBothImplementations(t *testing.T) {
	defer func(d time.Duration) { benchSampleEvery = d }(benchSampleEvery)
	benchSampleEvery = 20 * time.Millisecond
	cfg := quickBench()
	var progress bytes.Buffer
	cfg.progress = &progress
	results, err := bench(context.Background(), cfg, []benchImpl{zrouterImpl(), zmq4Impl()})
	require.NoError(t, err)
	require.Len(t, results, 4)
	for _, r := range results {
		assert.Positive(t, r.Msgs, "%s %d", r.Impl, r.Size)
		assert.Positive(t, r.Checked, "%s %d", r.Impl, r.Size)
		assert.Positive(t, r.MsgsPerSec, "%s %d", r.Impl, r.Size)
		assert.Positive(t, r.P50us, "%s %d", r.Impl, r.Size)
		assert.GreaterOrEqual(t, r.P99us, r.P50us, "%s %d", r.Impl, r.Size)
	}
	assert.Equal(t, []string{"zrouter", "go-zeromq", "zrouter", "go-zeromq"},
		[]string{results[0].Impl, results[1].Impl, results[2].Impl, results[3].Impl})
	assert.Contains(t, progress.String(), "bench: zrouter 16B: throughput")

	var table bytes.Buffer
	printTable(&table, results)
	assert.Contains(t, table.String(), "zrouter msgs/s avg")
	assert.Contains(t, table.String(), "averages over the whole run")
	assert.Regexp(t, `bench:   zrouter 16B: sample of the last \S+: \d+ msgs/s`, progress.String())
	assert.Regexp(t, `bench: zrouter 16B: average over \S+: \d+ msgs/s`, progress.String())
	assert.Contains(t, table.String(), "go-zeromq msgs/s")
	assert.Contains(t, table.String(), "thru ratio")
	assert.Contains(t, table.String(), "24576")
}

// faultyImpl is a zrouter echo server that tampers with the reply to the
// request number bad of each client (counting from 0): it flips a payload
// byte, or drops the reply.
func faultyImpl(bad int, drop bool) benchImpl {
	im := zrouterImpl()
	im.name = "faulty"
	im.serve = func(hwm int) (*benchServer, error) {
		r, err := router.New(socket.WithSendHWM(hwm))
		if err != nil {
			return nil, err
		}
		if err := r.Bind(loopback); err != nil {
			_ = r.Close()
			return nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() {
			seen := map[string]int{}
			for {
				m, err := r.Recv(ctx)
				if err != nil {
					return
				}
				id := string(m.Frames[0])
				n := seen[id]
				seen[id]++
				if n == bad {
					if drop {
						m.Release()
						continue
					}
					p := m.Frames[1]
					p[len(p)-1] ^= 0xff
				}
				if r.Send(ctx, m) != nil {
					m.Release()
					return
				}
			}
		})
		return &benchServer{
			endpoint: r.Addr(),
			stop:     func() { cancel(); _ = r.Close(); wg.Wait() },
			peers:    func() int { return r.Stats().Peers },
		}, nil
	}
	return im
}

// TestBenchDetectsWrongReplies: a server that corrupts a checked payload, or
// loses a reply, fails the bench instead of reporting a speed.
func TestBenchDetectsWrongReplies(t *testing.T) {
	tests := []struct {
		name    string
		impl    benchImpl
		wantErr string
	}{
		{"corrupt payload", faultyImpl(checkEvery, false), "payload differs"},
		{"lost reply", faultyImpl(3, true), "lost or reordered"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := quickBench()
			cfg.sizes = []int{64}
			_, err := bench(context.Background(), cfg, []benchImpl{tc.impl})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestBenchCommandJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "--clients", "1", "--sizes", "32", "--duration", "50ms", "--window", "2", "--json"}, &stdout, &stderr)
	require.Equal(t, exitOK, code, stderr.String())
	var results []benchResult
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &results), stdout.String())
	require.Len(t, results, 2)
	assert.Equal(t, "zrouter", results[0].Impl)
	assert.Equal(t, "go-zeromq", results[1].Impl)
	assert.Equal(t, 32, results[1].Size)
	assert.Positive(t, results[1].Msgs)
	assert.Contains(t, stderr.String(), "bench: go-zeromq 32B: latency")
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(101-i)*time.Microsecond)
	}
	assert.InDelta(t, 50, percentile(ds, 0.5), 1)
	assert.InDelta(t, 99, percentile(ds, 0.99), 1)
	assert.Zero(t, percentile(nil, 0.5))
}
