package interop

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/wire"
)

// BenchmarkSlowConsumer measures what one stalled peer costs the healthy
// ones. Eight libzmq DEALERs pipeline messages through a zrouter echo
// Router; "with-stalled" adds a ninth DEALER that never reads, and the
// server keeps sending to it as much as to each healthy peer (one message
// for every eight it echoes), so that its queue stays at the high-water
// mark and every further message for it is dropped. The metric msgs/s
// counts round trips of the healthy clients; with-stalled/healthy should
// stay at or above 90%. cpu-ns/msg is the process's CPU time per round
// trip, which other load on the machine disturbs less than msgs/s.
func BenchmarkSlowConsumer(b *testing.B) {
	b.Run("healthy", func(b *testing.B) { flowBenchSlowConsumer(b, false) })
	b.Run("with-stalled", func(b *testing.B) { flowBenchSlowConsumer(b, true) })
}

func flowBenchSlowConsumer(b *testing.B, stalled bool) {
	const (
		clients = 8
		size    = 256
		window  = 64 // messages each client keeps in flight
		stuckID = "stalled"
	)
	r := newRouter(b)
	zctx := newContext(b)

	var extra func()
	if stalled {
		s := newSocket(b, zctx, zmq.DEALER)
		require.NoError(b, s.SetRcvhwm(10))
		require.NoError(b, s.SetRcvbuf(4<<10))
		require.NoError(b, s.SetIdentity(stuckID))
		require.NoError(b, s.Connect(r.Addr()))
		testutil.CheckFor(b, waitLimit, func() bool { return r.Stats().Peers == 1 }, "stalled peer connected")
		payload := make([]byte, size)
		toStalled := func() {
			m := wire.Get()
			m.AppendString(stuckID)
			m.AppendFrame(payload)
			if err := r.Send(context.Background(), m); err != nil {
				m.Release()
			}
		}
		// Fill its queue before the clock starts.
		testutil.CheckFor(b, waitLimit, func() bool {
			for range 1000 {
				toStalled()
			}
			ps, ok := flowPeerStats(r.Peers(), stuckID)
			return ok && ps.DroppedHWM > 0
		}, "stalled peer's queue full")
		n := 0
		extra = func() {
			n++
			if n%clients == 0 {
				toStalled()
			}
		}
	}
	flowEcho(b, r, extra)

	socks := make([]*zmq.Socket, clients)
	for i := range socks {
		socks[i] = flowDealer(b, zctx, fmt.Sprintf("client-%d", i), r.Addr())
	}
	want := clients
	if stalled {
		want++
	}
	testutil.CheckFor(b, waitLimit, func() bool { return r.Stats().Peers == want }, "clients connected")

	per := max(1, b.N/clients)
	payload := make([]byte, size)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := flowCPUTime()
	start := time.Now()
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for _, s := range socks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- flowBenchClient(s, payload, per, window)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := flowCPUTime() - cpu0
	b.StopTimer()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	require.NoError(b, errors.Join(all...))
	b.ReportMetric(float64(clients*per)/elapsed.Seconds(), "msgs/s")
	// CPU time of the whole process (router, libzmq clients and their I/O
	// threads) per round trip: steadier than msgs/s on a shared machine.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(clients*per), "cpu-ns/msg")
	if stalled {
		ps, ok := flowPeerStats(r.Peers(), stuckID)
		require.True(b, ok, "stalled peer still connected")
		require.Positive(b, ps.DroppedHWM)
	}
}

// flowCPUTime returns the user and system CPU time the process has used.
func flowCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// flowBenchClient sends n messages on s, keeping up to window of them in
// flight, and receives n echoes.
func flowBenchClient(s *zmq.Socket, payload []byte, n, window int) error {
	sent := 0
	for ; sent < min(n, window); sent++ {
		if _, err := s.SendBytes(payload, 0); err != nil {
			return err
		}
	}
	for got := 0; got < n; got++ {
		reply, err := s.RecvBytes(0)
		if err != nil {
			return fmt.Errorf("echo %d: %w", got, err)
		}
		if len(reply) != len(payload) {
			return fmt.Errorf("echo %d: %d bytes, want %d", got, len(reply), len(payload))
		}
		if sent < n {
			if _, err := s.SendBytes(payload, 0); err != nil {
				return err
			}
			sent++
		}
	}
	return nil
}
