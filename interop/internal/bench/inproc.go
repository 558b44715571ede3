package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/interop/internal/zmqc"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
)

// The inproc comparison runs in this process: a zrouter ROUTER and DEALER
// over inproc://, and libzmq's ROUTER and DEALER over its inproc in C
// (zmqc.InprocThroughput and InprocLatency), in interleaved rounds. Each
// round measures both at each size:
//
//   - throughput: one DEALER sends Msgs messages as fast as it can, and the
//     ROUTER's user receives them all (routing id and body);
//   - latency: one DEALER sends a message and waits for the ROUTER's user
//     to echo it back, Trips times; p50 is over every round trip of the
//     round.
//
// Both fill every message from a template and check the size of each
// received one. zrouter's allocations per message are counted by the Go
// runtime over its measured runs, after a warm-up run of each.

// InprocOptions configures the inproc comparison.
type InprocOptions struct {
	// Sizes are the message body sizes.
	Sizes []int
	// Rounds is the number of interleaved rounds.
	Rounds int
	// Msgs is the messages of a throughput run, Trips the round trips of
	// a latency run.
	Msgs, Trips int64
	// HWM is SNDHWM and RCVHWM of every socket (0: unlimited).
	HWM int
	// CPUProfile, when set, is a file for a CPU profile of zrouter's runs.
	CPUProfile string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// InprocResult is the comparison at one size: medians over rounds.
type InprocResult struct {
	Size int `json:"size"`
	// Msgs/s of the throughput runs.
	ZRouterMsgs float64 `json:"zrouter_msgs_per_sec"`
	LibzmqMsgs  float64 `json:"libzmq_msgs_per_sec"`
	// p50 round trip of the latency runs, in microseconds.
	ZRouterP50 float64 `json:"zrouter_p50_us"`
	LibzmqP50  float64 `json:"libzmq_p50_us"`
	// ZRouterAllocs is the Go allocations per message of zrouter's runs.
	ZRouterAllocs float64 `json:"zrouter_allocs_per_msg"`
	// The throughput and p50 ratios (zrouter over libzmq) of each round.
	TputRatios []float64 `json:"tput_ratios"`
	P50Ratios  []float64 `json:"p50_ratios"`
}

// RunInproc runs the inproc comparison.
func RunInproc(ctx context.Context, o InprocOptions) ([]InprocResult, error) {
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", args...)
		}
	}
	if o.CPUProfile != "" {
		// The whole run: libzmq's threads show up as external code.
		stop, err := startProfile(o.CPUProfile)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	out := make([]InprocResult, len(o.Sizes))
	type samples struct {
		zt, lt, zp, lp []float64
		mallocs, msgs  uint64
	}
	all := make([]samples, len(o.Sizes))
	// A warm-up of each, not measured: zrouter's pools grow to what its
	// queues hold at once, as libzmq's allocator does.
	for _, size := range o.Sizes {
		if _, _, err := zrouterInprocThroughput(size, o.Msgs, o.HWM); err != nil {
			return nil, err
		}
		if _, _, err := zrouterInprocLatency(size, o.Trips, o.HWM); err != nil {
			return nil, err
		}
		if _, err := zmqc.InprocThroughput(size, o.Msgs, o.HWM); err != nil {
			return nil, err
		}
	}
	for round := range o.Rounds {
		for i, size := range o.Sizes {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			zt, ta, err := zrouterInprocThroughput(size, o.Msgs, o.HWM)
			if err != nil {
				return nil, err
			}
			zl, la, err := zrouterInprocLatency(size, o.Trips, o.HWM)
			if err != nil {
				return nil, err
			}
			all[i].mallocs += ta + la
			all[i].msgs += uint64(o.Msgs + 2*o.Trips)
			lt, err := zmqc.InprocThroughput(size, o.Msgs, o.HWM)
			if err != nil {
				return nil, err
			}
			ll, err := zmqc.InprocLatency(size, o.Trips, o.HWM)
			if err != nil {
				return nil, err
			}
			s := &all[i]
			s.zt = append(s.zt, float64(o.Msgs)/zt.Seconds())
			s.lt = append(s.lt, float64(o.Msgs)/lt.Elapsed.Seconds())
			s.zp = append(s.zp, percentile(zl, 50))
			s.lp = append(s.lp, percentile(ll.RTTs, 50))
			out[i].TputRatios = append(out[i].TputRatios, s.zt[round]/s.lt[round])
			out[i].P50Ratios = append(out[i].P50Ratios, s.zp[round]/s.lp[round])
			logf("inproc %s round %d: zrouter %.0f msgs/s p50 %.2fµs, libzmq %.0f msgs/s p50 %.2fµs",
				sizeLabel(size), round+1, s.zt[round], s.zp[round], s.lt[round], s.lp[round])
		}
	}
	for i, size := range o.Sizes {
		s := all[i]
		out[i].Size = size
		out[i].ZRouterMsgs, out[i].LibzmqMsgs = median(s.zt), median(s.lt)
		out[i].ZRouterP50, out[i].LibzmqP50 = median(s.zp), median(s.lp)
		if s.msgs > 0 {
			out[i].ZRouterAllocs = float64(s.mallocs) / float64(s.msgs)
		}
	}
	return out, nil
}

func mallocCount() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// WriteInproc writes the comparison as a markdown table, with the targets
// of the inproc issue: at least 2x libzmq's msgs/s, a p50 round trip of at
// most 0.5x libzmq's, and no allocation per message.
func WriteInproc(w io.Writer, rs []InprocResult) {
	fmt.Fprintln(w, "| size | zrouter msgs/s | libzmq msgs/s | ratio (rounds) | ≥ 2.0x | zrouter p50 µs | libzmq p50 µs | ratio (rounds) | ≤ 0.5x | zrouter allocs/msg |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		tr, pr := r.ZRouterMsgs/r.LibzmqMsgs, r.ZRouterP50/r.LibzmqP50
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %.2fx (%s) | %s | %.2f | %.2f | %.2fx (%s) | %s | %.4f |\n",
			sizeLabel(r.Size), r.ZRouterMsgs, r.LibzmqMsgs, tr, spread(r.TputRatios), inprocVerdict(tr >= 2),
			r.ZRouterP50, r.LibzmqP50, pr, spread(r.P50Ratios), inprocVerdict(pr <= 0.5), r.ZRouterAllocs)
	}
}

func spread(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	lo, hi := xs[0], xs[0]
	for _, x := range xs {
		lo, hi = min(lo, x), max(hi, x)
	}
	return fmt.Sprintf("%.2f–%.2f", lo, hi)
}

func inprocVerdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

var inprocRuns atomic.Uint64

// zrouterInprocPair returns a ROUTER bound to a fresh inproc name and a
// DEALER connected to it, both up, and a function that closes them.
func zrouterInprocPair(hwm int) (*router.Router, *dealer.Dealer, func(), error) {
	ep := fmt.Sprintf("inproc://zbench-%d", inprocRuns.Add(1))
	opts := []socket.Option{socket.WithLinger(0), socket.WithSendHWM(hwm), socket.WithRecvHWM(hwm)}
	r, err := router.New(opts...)
	if err != nil {
		return nil, nil, nil, err
	}
	d, err := dealer.New(opts...)
	if err != nil {
		return nil, nil, nil, errors.Join(err, r.Close())
	}
	closeBoth := func() { _ = d.Close(); _ = r.Close() }
	if err := r.Bind(ep); err != nil {
		closeBoth()
		return nil, nil, nil, err
	}
	if err := d.Connect(ep); err != nil {
		closeBoth()
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.WaitPeers(ctx, 1); err != nil {
		closeBoth()
		return nil, nil, nil, err
	}
	return r, d, closeBoth, nil
}

func template(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i*7 + 1)
	}
	return b
}

// zrouterInprocThroughput is the throughput run of zrouter: it returns the
// time from the first send to the last receive, and the Go allocations
// made meanwhile.
func zrouterInprocThroughput(size int, n int64, hwm int) (time.Duration, uint64, error) {
	r, d, closeBoth, err := zrouterInprocPair(hwm)
	if err != nil {
		return 0, 0, err
	}
	defer closeBoth()
	body := template(size)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sent := make(chan error, 1)
	before := mallocCount()
	start := time.Now()
	go func() {
		for range n {
			m := wire.Get()
			m.AppendFrame(body)
			if err := d.Send(ctx, m); err != nil {
				m.Release()
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	for i := range n {
		m, err := r.Recv(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("bench: inproc: message %d: %w", i, err)
		}
		if len(m.Frames) != 2 || len(m.Frames[1]) != size {
			return 0, 0, fmt.Errorf("%w: inproc message %d has %d frames", ErrBadReply, i, len(m.Frames))
		}
		m.Release()
	}
	elapsed := time.Since(start)
	err = <-sent
	return elapsed, mallocCount() - before, err
}

// zrouterInprocLatency is the latency run of zrouter: it returns every
// round trip's time, and the Go allocations made meanwhile.
func zrouterInprocLatency(size int, n int64, hwm int) ([]time.Duration, uint64, error) {
	r, d, closeBoth, err := zrouterInprocPair(hwm)
	if err != nil {
		return nil, 0, err
	}
	defer closeBoth()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	echoed := make(chan error, 1)
	go func() {
		for range n {
			m, err := r.Recv(ctx)
			if err != nil {
				echoed <- err
				return
			}
			if err := r.Send(ctx, m); err != nil {
				m.Release()
				echoed <- err
				return
			}
		}
		echoed <- nil
	}()
	body := template(size)
	rtts := make([]time.Duration, n)
	before := mallocCount()
	for i := range n {
		t0 := time.Now()
		m := wire.Get()
		m.AppendFrame(body)
		if err := d.Send(ctx, m); err != nil {
			return nil, 0, err
		}
		back, err := d.Recv(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("bench: inproc: round trip %d: %w", i, err)
		}
		rtts[i] = time.Since(t0)
		if len(back.Frames) != 1 || len(back.Frames[0]) != size {
			return nil, 0, fmt.Errorf("%w: inproc round trip %d: %d frames back", ErrBadReply, i, len(back.Frames))
		}
		back.Release()
	}
	allocs := mallocCount() - before
	return rtts, allocs, <-echoed
}
