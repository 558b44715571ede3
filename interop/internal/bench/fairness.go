package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/zrouter/zrouter/interop/internal/servers"
	"github.com/zrouter/zrouter/interop/internal/zmqc"
	"github.com/zrouter/zrouter/zmtp"
)

// FairnessOptions configure the fairness benchmark: flooding peers that
// send large messages at full speed and never read, against one light
// peer whose round trips are measured (issue 17, defect 4).
type FairnessOptions struct {
	// Servers are the echo servers, in round order: servers.ZRouter,
	// servers.ZRouterP1, servers.Libzmq.
	Servers []string
	// Flooders is the number of flooding DEALERs; Size is the bytes of
	// each of their messages.
	Flooders, Size int
	// RawFlood makes the flooders raw TCP connections that handshake as
	// DEALERs and then write pre-encoded messages as fast as the kernel
	// takes them, instead of libzmq DEALERs, whose one I/O thread bounds
	// what they send.
	RawFlood bool
	// Interval is the time between the light peer's pings in the latency
	// run; the throughput run sends them back to back.
	Interval time.Duration
	// Duration is the measured time of each run, after Warmup of flood.
	Duration, Warmup time.Duration
	// Rounds is how many times each server is measured, interleaved.
	Rounds int
	// HWM is the servers' and the clients' high-water mark.
	HWM int
	// Timeout is the longest wait for a reply or a server.
	Timeout time.Duration
	// Self runs this program as a server child process (Child.Args).
	Self func(args []string) *exec.Cmd
	// Log, when set, gets progress lines.
	Log io.Writer
}

// FairnessResult is one server's round: the light peer's round trips
// under the flood, and without it.
type FairnessResult struct {
	Server string `json:"server"`
	Round  int    `json:"round"`
	// P50 and P99 are the light peer's round-trip times, one ping per
	// Interval, under the flood.
	P50 time.Duration `json:"p50"`
	P99 time.Duration `json:"p99"`
	// Rate is its back-to-back round trips per second under the flood,
	// and Calm the same without the flood.
	Rate float64 `json:"rate"`
	Calm float64 `json:"calm"`
	// ServerCPU is the cores the server used under the flood.
	ServerCPU float64 `json:"server_cpu"`
}

// RunFairness runs the fairness benchmark.
func RunFairness(ctx context.Context, o FairnessOptions) ([]FairnessResult, error) {
	var out []FairnessResult
	for round := range o.Rounds {
		for _, kind := range o.Servers {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			r, err := fairnessRound(o, kind)
			if err != nil {
				return out, fmt.Errorf("bench: fairness %s: %w", kind, err)
			}
			r.Round = round
			if o.Log != nil {
				fmt.Fprintf(o.Log, "fairness %s round %d: p50 %v p99 %v, %.0f/s under flood (%.0f/s calm), server %.2f cores\n",
					kind, round, r.P50, r.P99, r.Rate, r.Calm, r.ServerCPU)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func fairnessRound(o FairnessOptions, kind string) (r FairnessResult, err error) {
	r.Server = kind
	c := Child{Kind: kind, Addrs: []string{"tcp://127.0.0.1:0"}, HWM: o.HWM}
	cmd := o.Self(c.Args())
	if slices.Contains(oneProc, kind) {
		cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	}
	srv, err := startServer(kind, cmd, nil, true, o.Timeout)
	if err != nil {
		return r, err
	}
	defer func() {
		if e := srv.stop(o.Timeout); err == nil {
			err = e
		}
	}()
	ep := srv.addrs[0]
	// The light peer has a context of its own: an I/O thread shared with
	// the flooders would measure the clients, not the server.
	zctx, err := zmqc.NewContext()
	if err != nil {
		return r, err
	}
	defer func() {
		_ = zctx.Shutdown()
		if e := zctx.Term(); err == nil {
			err = e
		}
	}()
	light, err := newLight(zctx, ep, o)
	if err != nil {
		return r, err
	}
	defer light.Close()
	if r.Calm, err = lightRate(light, o.Duration); err != nil {
		return r, fmt.Errorf("calm: %w", err)
	}

	fc := Child{Kind: floodKind, Addrs: []string{ep}, HWM: o.HWM, N: o.Flooders, Batch: o.Size}
	if o.RawFlood {
		fc.Kind = floodRawKind
	}
	flood, err := startServer(fc.Kind, o.Self(fc.Args()), nil, true, o.Timeout)
	if err != nil {
		return r, err
	}
	defer func() {
		if e := flood.stop(o.Timeout); err == nil {
			err = e
		}
	}()
	time.Sleep(o.Warmup)
	cpu0, err := srv.cpu()
	if err != nil {
		return r, err
	}
	start := time.Now()
	rtts, err := lightPings(light, o.Interval, o.Duration)
	if err != nil {
		return r, fmt.Errorf("latency: %w", err)
	}
	if r.Rate, err = lightRate(light, o.Duration); err != nil {
		return r, fmt.Errorf("throughput: %w", err)
	}
	cpu1, err := srv.cpu()
	if err != nil {
		return r, err
	}
	r.ServerCPU = (cpu1 - cpu0).Seconds() / time.Since(start).Seconds()
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	r.P50 = rtts[len(rtts)/2]
	r.P99 = rtts[len(rtts)*99/100]
	return r, nil
}

// newLight returns the light peer: a libzmq DEALER connected to ep, whose
// first round trip has been made.
func newLight(zctx *zmqc.Context, ep string, o FairnessOptions) (*zmqc.Socket, error) {
	s, err := zctx.Socket(zmqc.DEALER)
	if err != nil {
		return nil, err
	}
	if err := setup(s, o.HWM, o.Timeout); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.Connect(ep); err != nil {
		s.Close()
		return nil, err
	}
	if _, err := lightTrip(s); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

var lightMsg = []byte("ping-0123456789a") // 16 bytes

// lightTrip makes one round trip and returns its time.
func lightTrip(s *zmqc.Socket) (time.Duration, error) {
	t0 := time.Now()
	if err := s.Send(lightMsg); err != nil {
		return 0, err
	}
	m, err := s.Recv()
	if err != nil {
		return 0, err
	}
	if len(m) != 1 || string(m[0]) != string(lightMsg) {
		return 0, fmt.Errorf("light peer got %d frames back", len(m))
	}
	return time.Since(t0), nil
}

// lightPings pings every ivl for d and returns the round-trip times.
func lightPings(s *zmqc.Socket, ivl, d time.Duration) ([]time.Duration, error) {
	var out []time.Duration
	end := time.Now().Add(d)
	next := time.Now()
	for time.Now().Before(end) {
		rtt, err := lightTrip(s)
		if err != nil {
			return nil, err
		}
		out = append(out, rtt)
		next = next.Add(ivl)
		if w := time.Until(next); w > 0 {
			time.Sleep(w)
		} else {
			next = time.Now()
		}
	}
	return out, nil
}

// lightRate makes round trips back to back for d and returns their rate.
func lightRate(s *zmqc.Socket, d time.Duration) (float64, error) {
	start := time.Now()
	n := 0
	for time.Since(start) < d {
		if _, err := lightTrip(s); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// DefaultFairnessServers are the servers of the fairness benchmark.
var DefaultFairnessServers = []string{servers.ZRouter, servers.ZRouterP1, servers.Libzmq}

// WriteFairness writes the medians of each server's rounds as a markdown
// table.
func WriteFairness(w io.Writer, o FairnessOptions, rs []FairnessResult) {
	flooders := "libzmq DEALERs"
	if o.RawFlood {
		flooders = "raw TCP peers that handshake as DEALERs"
	}
	fmt.Fprintf(w, "%d %s flood %d-byte messages and never read; a light libzmq DEALER pings every %v (p50, p99), then back to back (rate under flood, and calm without it). Medians of %d rounds.\n\n",
		o.Flooders, flooders, o.Size, o.Interval, o.Rounds)
	fmt.Fprintln(w, "| server | p50 | p99 | rate under flood | calm rate | under flood / calm | server CPU |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, kind := range o.Servers {
		var p50, p99, rate, calm, cpu []float64
		for _, r := range rs {
			if r.Server != kind {
				continue
			}
			p50 = append(p50, float64(r.P50))
			p99 = append(p99, float64(r.P99))
			rate, calm, cpu = append(rate, r.Rate), append(calm, r.Calm), append(cpu, r.ServerCPU)
		}
		if len(p50) == 0 {
			continue
		}
		fmt.Fprintf(w, "| %s | %v | %v | %.0f/s | %.0f/s | %.0f%% | %.2f cores |\n", kind,
			time.Duration(median(p50)).Round(10*time.Microsecond), time.Duration(median(p99)).Round(10*time.Microsecond),
			median(rate), median(calm), 100*median(rate)/median(calm), median(cpu))
	}
}

// floodKind and floodRawKind are the child kinds of the flooding peers:
// libzmq DEALERs, or raw TCP connections (FairnessOptions.RawFlood).
const (
	floodKind    = "flood-zmq"
	floodRawKind = "flood-raw"
)

// runFloodRaw runs c.N TCP connections to c.Addrs[0] that handshake as
// DEALERs, then write messages of c.Batch bytes, many per write, as fast
// as the kernel takes them, and read nothing, until ctx ends.
func runFloodRaw(ctx context.Context, c Child, ready func([]string)) error {
	msg := make([]byte, c.Batch)
	var buf []byte
	for len(buf) < 256<<10 {
		buf = zmtp.AppendMessage(buf, [][]byte{msg})
	}
	conns, err := dialDealers(c.Addrs[0], c.N, c.Timeout)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	var wg sync.WaitGroup
	for _, nc := range conns {
		wg.Go(func() {
			for {
				if _, err := nc.Write(buf); err != nil {
					return // closed at the end
				}
			}
		})
	}
	ready([]string{fmt.Sprint(c.N)})
	<-ctx.Done()
	closeAll(conns) // ends the writers
	wg.Wait()
	return nil
}

// runFlood runs c.N libzmq DEALERs connected to c.Addrs[0], each sending
// messages of c.Batch bytes as fast as the server takes them and reading
// nothing, until ctx ends.
func runFlood(ctx context.Context, c Child, ready func([]string)) (err error) {
	zctx, err := zmqc.NewContext()
	if err != nil {
		return err
	}
	defer func() {
		_ = zctx.Shutdown()
		if e := zctx.Term(); err == nil {
			err = e
		}
	}()
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, c.N)
	defer func() {
		stop.Store(true)
		wg.Wait()
		select {
		case e := <-errs:
			if err == nil {
				err = e
			}
		default:
		}
	}()
	for range c.N {
		s, err := zctx.Socket(zmqc.DEALER)
		if err != nil {
			return err
		}
		if err := setup(s, c.HWM, 50*time.Millisecond); err != nil {
			s.Close()
			return err
		}
		if err := s.Connect(c.Addrs[0]); err != nil {
			s.Close()
			return err
		}
		wg.Go(func() {
			defer s.Close()
			msg := make([]byte, c.Batch)
			for !stop.Load() {
				if err := s.Send(msg); err != nil && !errors.Is(err, zmqc.Errno(syscall.EAGAIN)) {
					errs <- err
					return
				}
			}
		})
	}
	ready([]string{fmt.Sprint(c.N)})
	<-ctx.Done()
	return nil
}
