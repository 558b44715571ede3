package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// benchSampleEvery is how often a throughput run prints a sample of its
// rate, as the run goes.
var benchSampleEvery = time.Second

const benchHelp = `
Usage: zrouter bench [--clients N] [--sizes 16,1024,65536] [--duration D] [--window W] [--json]

Measures, in one process over TCP loopback, a ROUTER echo server with N
DEALER clients, for zrouter (router.Router and zrouter dealers) and for
go-zeromq/zmq4 (its ROUTER and DEALER sockets), size by size:

  throughput  every client keeps W requests in flight for --duration;
              msgs/s counts round trips, MB/s the payload bytes of one way.
  latency     one client, one request at a time, for half of --duration;
              p50 and p99 of the round trip.

Every reply is checked: each client's replies must come back complete and in
order, and one payload in 64 is compared byte for byte. Lost or wrong
replies fail the run (exit status 1). Progress goes to stderr, the table (or
JSON with --json) to stdout. Sizes are at least 16 bytes (the header).
`

const benchExamples = `
  zrouter bench
  zrouter bench --clients 8 --sizes 64,4096 --duration 5s
  zrouter bench --duration 1s --json > bench.json`

// benchConfig is one bench run's settings.
type benchConfig struct {
	clients  int
	sizes    []int
	duration time.Duration
	window   int
	progress io.Writer // progress lines; io.Discard for none
}

// benchResult is one implementation at one size.
type benchResult struct {
	Impl       string  `json:"impl"`
	Size       int     `json:"size"`
	Clients    int     `json:"clients"`
	Window     int     `json:"window"`
	Msgs       uint64  `json:"msgs"`
	Seconds    float64 `json:"seconds"`
	MsgsPerSec float64 `json:"msgs_per_sec"`
	MBPerSec   float64 `json:"mb_per_sec"`
	P50us      float64 `json:"p50_us"`
	P99us      float64 `json:"p99_us"`
	Checked    uint64  `json:"payloads_checked"`
}

// benchClient is one DEALER of an implementation under test.
type benchClient interface {
	// send sends one single-frame message; p may be reused on return.
	send(ctx context.Context, p []byte) error
	// recv returns the payload of the next reply; release frees it.
	recv(ctx context.Context) (p []byte, release func(), err error)
	close()
}

// benchImpl is an implementation under test.
type benchImpl struct {
	name string
	// serve starts an echo ROUTER on a free loopback port.
	serve func(hwm int) (*benchServer, error)
	// dial returns a DEALER connected to endpoint.
	dial func(endpoint string, hwm int) (benchClient, error)
}

// benchServer is a running echo server.
type benchServer struct {
	endpoint string
	stop     func()
	// peers returns the number of clients the server has admitted, or
	// is nil when a client's Dial returns only once the server has.
	peers func() int
}

// headerSize is the part of each payload the bench writes per message:
// sequence number and send time.
const headerSize = 16

// checkEvery is how often (in messages) a payload is compared in full.
const checkEvery = 64

// connectTimeout bounds the wait for the clients to connect.
const connectTimeout = 10 * time.Second

// drainTimeout bounds the wait for replies still in flight after a phase.
const drainTimeout = 10 * time.Second

func parseSizes(s string) ([]int, error) {
	var sizes []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < headerSize || n > 64<<20 {
			return nil, usagef("bad size %q in --sizes: want a number of bytes from %d to %d", part, headerSize, 64<<20)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

func runBench(ctx context.Context, c *cli, args []string) error {
	f := newFlags("bench", benchHelp, benchExamples)
	clients := f.Int("clients", 4, "DEALER clients")
	sizesFlag := f.String("sizes", "16,1024,65536", "comma-separated payload sizes in bytes")
	duration := f.Duration("duration", 2*time.Second, "throughput time per implementation and size")
	window := f.Int("window", 64, "requests in flight per client")
	jsonOut := f.Bool("json", false, "print results as JSON instead of a table")
	if _, err := f.parse(c, args); err != nil {
		return err
	}
	sizes, err := parseSizes(*sizesFlag)
	if err != nil {
		return err
	}
	if *clients < 1 || *window < 1 || *duration <= 0 {
		return usagef("--clients, --window and --duration must be positive")
	}
	cfg := benchConfig{clients: *clients, sizes: sizes, duration: *duration, window: *window, progress: c.stderr}
	results, err := bench(ctx, cfg, []benchImpl{zrouterImpl(), zmq4Impl()})
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil // interrupted: no partial table
	}
	if *jsonOut {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	printTable(c.stdout, results)
	return nil
}

// bench runs every implementation at every size. It stops early, without
// error, when ctx ends.
func bench(ctx context.Context, cfg benchConfig, impls []benchImpl) ([]benchResult, error) {
	var results []benchResult
	for _, size := range cfg.sizes {
		for _, im := range impls {
			if ctx.Err() != nil {
				return results, nil
			}
			r, err := benchOne(ctx, cfg, im, size)
			if err != nil {
				return results, fmt.Errorf("%s, %d bytes: %w", im.name, size, err)
			}
			results = append(results, r)
		}
	}
	return results, nil
}

// benchOne measures one implementation at one size: throughput, then
// latency, each against a fresh server.
func benchOne(ctx context.Context, cfg benchConfig, im benchImpl, size int) (benchResult, error) {
	res := benchResult{Impl: im.name, Size: size, Clients: cfg.clients, Window: cfg.window}
	fmt.Fprintf(cfg.progress, "bench: %s %dB: throughput, %d clients x %d in flight, %v\n", im.name, size, cfg.clients, cfg.window, cfg.duration)
	tp, err := phase(ctx, cfg, im, size, cfg.clients, cfg.window, cfg.duration)
	if err != nil {
		return res, err
	}
	res.Msgs, res.Seconds, res.Checked = tp.msgs, tp.elapsed.Seconds(), tp.checked
	if res.Seconds > 0 {
		res.MsgsPerSec = float64(tp.msgs) / res.Seconds
		res.MBPerSec = res.MsgsPerSec * float64(size) / 1e6
	}
	latDur := max(cfg.duration/2, 100*time.Millisecond)
	fmt.Fprintf(cfg.progress, "bench: %s %dB: latency, 1 client x 1 in flight, %v\n", im.name, size, latDur)
	lat, err := phase(ctx, cfg, im, size, 1, 1, latDur)
	if err != nil {
		return res, err
	}
	res.Checked += lat.checked
	res.P50us = percentile(lat.latencies, 0.50)
	res.P99us = percentile(lat.latencies, 0.99)
	fmt.Fprintf(cfg.progress, "bench: %s %dB: average over %v: %.0f msgs/s, %.1f MB/s; latency p50 %.1fus, p99 %.1fus\n",
		im.name, size, cfg.duration, res.MsgsPerSec, res.MBPerSec, res.P50us, res.P99us)
	return res, nil
}

// phaseResult is what one phase measured.
type phaseResult struct {
	msgs      uint64
	checked   uint64
	elapsed   time.Duration
	latencies []time.Duration // sampled round trips
}

// maxSamples bounds the latencies kept per client and phase.
const maxSamples = 1 << 18

// phase runs n clients with window requests in flight each for d against a
// fresh server, then waits for every reply. It fails on lost or wrong
// replies, as soon as one is seen.
func phase(ctx context.Context, cfg benchConfig, im benchImpl, size, n, window int, d time.Duration) (phaseResult, error) {
	progress := cfg.progress
	hwm := max(1000, 2*window)
	srv, err := im.serve(hwm)
	if err != nil {
		return phaseResult{}, fmt.Errorf("server: %w", err)
	}
	defer srv.stop()
	fail := &failSignal{ch: make(chan struct{})}
	failed := fail.ch
	cls := make([]*loadClient, n)
	defer func() {
		for _, lc := range cls {
			if lc != nil {
				lc.c.close()
			}
		}
	}()
	for i := range cls {
		c, err := im.dial(srv.endpoint, hwm)
		if err != nil {
			return phaseResult{}, fmt.Errorf("client: %w", err)
		}
		cls[i] = newLoadClient(c, i, size, window, fail)
	}
	// Time the traffic, not the connecting.
	if srv.peers != nil {
		deadline := time.Now().Add(connectTimeout)
		for srv.peers() < n {
			if time.Now().After(deadline) {
				return phaseResult{}, fmt.Errorf("%d of %d clients connected after %v", srv.peers(), n, connectTimeout)
			}
			time.Sleep(time.Millisecond)
		}
	}

	start := time.Now()
	stop := make(chan struct{})
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, lc := range cls {
		wg.Go(func() { lc.sendLoop(rctx, stop, start) })
		wg.Go(func() { lc.recvLoop(rctx, start) })
	}
	total := func() uint64 {
		var s uint64
		for _, lc := range cls {
			s += lc.received.Load()
		}
		return s
	}

	tick := time.NewTicker(benchSampleEvery)
	end := time.NewTimer(d)
	last, lastAt := uint64(0), start
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-failed:
			break loop
		case <-end.C:
			break loop
		case now := <-tick.C:
			got := total()
			ivl := now.Sub(lastAt)
			fmt.Fprintf(progress, "bench:   %s %dB: sample of the last %v: %.0f msgs/s\n",
				im.name, size, ivl.Round(time.Millisecond), float64(got-last)/ivl.Seconds())
			last, lastAt = got, now
		}
	}
	tick.Stop()
	end.Stop()
	close(stop)
	// Wait for the replies in flight: every slot back means nothing is
	// outstanding. Replies still missing after drainTimeout are lost.
	dctx, dcancel := context.WithTimeout(ctx, drainTimeout)
	for _, lc := range cls {
		for range window {
			select {
			case lc.slots <- struct{}{}:
				continue
			case <-dctx.Done():
			case <-failed:
			}
			break
		}
	}
	dcancel()
	elapsed := time.Since(start)
	cancel()
	for _, lc := range cls {
		lc.c.close() // ends a recv that waits on a socket without ctx
	}
	wg.Wait()

	var res phaseResult
	res.elapsed = elapsed
	var errs []error
	for _, lc := range cls {
		res.msgs += lc.received.Load()
		res.checked += lc.checked
		res.latencies = append(res.latencies, lc.latencies...)
		if lc.err != nil {
			errs = append(errs, lc.err)
		}
		if s, r := lc.sent.Load(), lc.received.Load(); ctx.Err() == nil && s != r {
			errs = append(errs, fmt.Errorf("client %d: sent %d, got %d replies back", lc.idx, s, r))
		}
	}
	if ctx.Err() != nil {
		return res, nil
	}
	return res, errors.Join(errs...)
}

// loadClient drives one benchClient: a sender that keeps window requests in
// flight and a receiver that checks the replies.
type loadClient struct {
	c     benchClient
	idx   int
	slots chan struct{} // one token per request in flight
	buf   []byte        // the payload; bytes after the header never change

	sent, received atomic.Uint64
	// Owned by recvLoop until it returns.
	checked   uint64
	latencies []time.Duration

	mu     sync.Mutex
	err    error       // the first error of either loop
	failed *failSignal // shared by the phase's clients
}

// failSignal is closed at the first error of any client of a phase.
type failSignal struct {
	once sync.Once
	ch   chan struct{}
}

func (f *failSignal) fire() { f.once.Do(func() { close(f.ch) }) }

func newLoadClient(c benchClient, idx, size, window int, failed *failSignal) *loadClient {
	lc := &loadClient{c: c, idx: idx, slots: make(chan struct{}, window), buf: make([]byte, size), failed: failed}
	fillPattern(lc.buf, idx)
	return lc
}

// fillPattern fills the bytes after the header with a pattern that depends
// on the client.
func fillPattern(b []byte, idx int) {
	for i := headerSize; i < len(b); i++ {
		b[i] = byte(i*7 + idx)
	}
}

func (lc *loadClient) sendLoop(ctx context.Context, stop <-chan struct{}, start time.Time) {
	for seq := uint64(0); ; seq++ {
		select {
		case lc.slots <- struct{}{}:
		case <-stop:
			return
		}
		select {
		case <-stop:
			<-lc.slots
			return
		default:
		}
		binary.LittleEndian.PutUint64(lc.buf[0:], seq)
		binary.LittleEndian.PutUint64(lc.buf[8:], uint64(time.Since(start)))
		// Counted before it is sent: its reply may arrive before send
		// returns. A send that fails once the phase is over (the socket
		// closing under it) may still have put the message on the wire.
		lc.sent.Add(1)
		if err := lc.c.send(ctx, lc.buf); err != nil {
			if ctx.Err() == nil {
				lc.setErr(fmt.Errorf("client %d: send: %w", lc.idx, err))
			}
			return
		}
	}
}

// setErr records the client's first error.
func (lc *loadClient) setErr(err error) {
	lc.mu.Lock()
	if lc.err == nil {
		lc.err = err
	}
	lc.mu.Unlock()
	lc.failed.fire()
}

func (lc *loadClient) recvLoop(ctx context.Context, start time.Time) {
	want := make([]byte, len(lc.buf))
	fillPattern(want, lc.idx)
	for next := uint64(0); ; next++ {
		p, release, err := lc.c.recv(ctx)
		if errors.Is(err, errWrongFrames) {
			lc.setErr(fmt.Errorf("client %d: %w", lc.idx, err))
			return
		}
		if err != nil {
			return // closed or cancelled after the phase; counts tell the rest
		}
		err = lc.check(p, next, want)
		if err == nil && len(lc.latencies) < maxSamples {
			sent := time.Duration(binary.LittleEndian.Uint64(p[8:]))
			lc.latencies = append(lc.latencies, time.Since(start)-sent)
		}
		release()
		if err != nil {
			lc.setErr(fmt.Errorf("client %d: %w", lc.idx, err))
			return
		}
		lc.received.Add(1)
		select {
		case <-lc.slots:
		default:
			lc.setErr(fmt.Errorf("client %d: a reply that was not asked for", lc.idx))
			return
		}
	}
}

// check verifies reply number next: its length, its sequence number (an echo
// keeps a client's order), and on a sample the whole payload.
func (lc *loadClient) check(p []byte, next uint64, want []byte) error {
	if len(p) != len(want) {
		return fmt.Errorf("reply %d: %d bytes, want %d", next, len(p), len(want))
	}
	if seq := binary.LittleEndian.Uint64(p); seq != next {
		return fmt.Errorf("reply %d: sequence number %d: lost or reordered", next, seq)
	}
	if next%checkEvery == 0 {
		lc.checked++
		if string(p[headerSize:]) != string(want[headerSize:]) {
			return fmt.Errorf("reply %d: payload differs from what was sent", next)
		}
	}
	return nil
}

// percentile returns the q-quantile of ds in microseconds, sorting ds.
func percentile(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(q * float64(len(ds)-1))
	return float64(ds[i]) / float64(time.Microsecond)
}

// printTable prints the results, one row per size, implementations side by
// side, with the ratio of the first implementation to the second.
func printTable(w io.Writer, results []benchResult) {
	var impls []string
	bySize := map[int]map[string]benchResult{}
	var sizes []int
	for _, r := range results {
		if !slices.Contains(impls, r.Impl) {
			impls = append(impls, r.Impl)
		}
		if bySize[r.Size] == nil {
			bySize[r.Size] = map[string]benchResult{}
			sizes = append(sizes, r.Size)
		}
		bySize[r.Size][r.Impl] = r
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := []string{"size"}
	for _, im := range impls {
		header = append(header, im+" msgs/s avg", im+" MB/s avg", im+" p50", im+" p99")
	}
	if len(impls) == 2 {
		header = append(header, "thru ratio", "p50 ratio")
	}
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	for _, size := range sizes {
		row := []string{strconv.Itoa(size)}
		for _, im := range impls {
			r, ok := bySize[size][im]
			if !ok {
				row = append(row, "-", "-", "-", "-")
				continue
			}
			row = append(row, fmt.Sprintf("%.0f", r.MsgsPerSec), fmt.Sprintf("%.1f", r.MBPerSec),
				fmt.Sprintf("%.1fus", r.P50us), fmt.Sprintf("%.1fus", r.P99us))
		}
		if len(impls) == 2 {
			a, aok := bySize[size][impls[0]]
			b, bok := bySize[size][impls[1]]
			if aok && bok && b.MsgsPerSec > 0 && a.P50us > 0 {
				row = append(row, fmt.Sprintf("%.2fx", a.MsgsPerSec/b.MsgsPerSec), fmt.Sprintf("%.2fx", b.P50us/a.P50us))
			} else {
				row = append(row, "-", "-")
			}
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nmsgs/s and MB/s are averages over the whole run of each size.\n")
	if len(impls) == 2 {
		fmt.Fprintf(w, "ratios are %s over %s: above 1x, %s is faster (p50 ratio: %s's p50 / %s's).\n",
			impls[0], impls[1], impls[0], impls[1], impls[0])
	}
}
