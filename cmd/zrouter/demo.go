package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"golang.org/x/term"
)

const demoHelp = `
Usage: zrouter demo [--duration D] [--workers N] [--clients N] [flags]

Runs a whole request-reply topology in one process, over TCP loopback on
free ports: a broker (as 'zrouter broker' runs it), N workers connected to
its backend and N clients connected to its frontend, all of them zrouter
sockets. Every second it prints the requests answered per second and how
the work spread over the workers. It runs until Ctrl-C, or for --duration.

Clients are DEALER sockets that speak like REQ ones (["", request]) with
--window requests in flight each. Workers are DEALER sockets: with --lb ready
they follow the ready protocol of 'zrouter broker --help'; with --lb rr they
answer like REP sockets. With --work D, worker i takes (i+1)*D per request,
which shows --lb ready giving more work to faster workers.
`

const demoExamples = `
  zrouter demo
  zrouter demo --duration 10s --workers 8 --clients 16
  zrouter demo --lb rr --work 1ms`

// demoConfig is a demo's settings.
type demoConfig struct {
	duration time.Duration
	workers  int
	clients  int
	window   int
	mode     string
	work     time.Duration
	every    time.Duration // how often a figures line is printed
	width    int           // columns a figures line may take; 0: 80
	out      io.Writer
	log      *slog.Logger
}

func runDemo(ctx context.Context, c *cli, args []string) error {
	f := newFlags("demo", demoHelp, demoExamples)
	cfg := demoConfig{every: time.Second, out: c.stdout}
	f.DurationVar(&cfg.duration, "duration", 0, "stop after this long (0 = run until Ctrl-C)")
	f.IntVar(&cfg.workers, "workers", 4, "workers")
	f.IntVar(&cfg.clients, "clients", 4, "clients")
	f.IntVar(&cfg.window, "window", 16, "requests in flight per client")
	f.StringVar(&cfg.mode, "lb", lbReady, "broker load balancing: rr or ready")
	f.DurationVar(&cfg.work, "work", 0, "simulated work per request of the fastest worker; worker i takes (i+1) times it")
	log, err := f.parse(c, args)
	if err != nil {
		return err
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"workers", cfg.workers}, {"clients", cfg.clients}, {"window", cfg.window}} {
		if n.v < 1 {
			return usagef("bad --%s %d: want 1 or more", n.name, n.v)
		}
	}
	if cfg.mode != lbRoundRobin && cfg.mode != lbReady {
		return usagef("bad --lb %q: want rr or ready", cfg.mode)
	}
	if cfg.duration < 0 {
		return usagef("bad --duration %v: want 0 (until Ctrl-C) or more", cfg.duration)
	}
	if cfg.work < 0 {
		return usagef("bad --work %v: want 0 or more", cfg.work)
	}
	cfg.log = log
	cfg.width = termWidth(c.stdout)
	_, err = demo(ctx, cfg)
	return err
}

// demoTotals is what a demo did.
type demoTotals struct {
	replies   uint64   // replies the clients received
	perWorker []uint64 // requests each worker answered
	bad       uint64   // replies that were not what was asked
}

// demo runs the topology until ctx ends or cfg.duration passes.
func demo(ctx context.Context, cfg demoConfig) (demoTotals, error) {
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}
	b, err := newBroker(brokerConfig{
		frontend: "tcp://127.0.0.1:0",
		backend:  "tcp://127.0.0.1:0",
		mode:     cfg.mode,
		queue:    max(1000, cfg.clients*cfg.window),
		sock:     defaultSockFlags,
		log:      cfg.log,
	})
	if err != nil {
		return demoTotals{}, err
	}
	defer b.close()
	fmt.Fprintf(cfg.out, "demo: broker --lb %s, frontend %s, backend %s; %s, %s x %d in flight. Ctrl-C stops.\n",
		cfg.mode, b.frontendAddr(), b.backendAddr(), plural(cfg.workers, "worker"), plural(cfg.clients, "client"), cfg.window)

	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { b.run(ctx) })

	var socks []*dealer.Dealer
	defer func() {
		cancel()
		for _, d := range socks {
			_ = d.Close()
		}
	}()
	connect := func(ep string) (*dealer.Dealer, error) {
		d, err := dealer.New(socket.WithLogger(cfg.log))
		if err != nil {
			return nil, err
		}
		socks = append(socks, d)
		return d, d.Connect(ep)
	}

	handled := make([]atomic.Uint64, cfg.workers)
	for i := range cfg.workers {
		d, err := connect(b.backendAddr())
		if err != nil {
			return demoTotals{}, err
		}
		w := demoWorker{d: d, name: fmt.Sprintf("w%d", i+1), ready: cfg.mode == lbReady,
			work: time.Duration(i+1) * cfg.work, handled: &handled[i]}
		wg.Go(func() { w.run(ctx) })
	}
	var replies, bad atomic.Uint64
	for i := range cfg.clients {
		d, err := connect(b.frontendAddr())
		if err != nil {
			return demoTotals{}, err
		}
		cl := demoClient{d: d, name: fmt.Sprintf("c%d", i+1), window: cfg.window, replies: &replies, bad: &bad}
		wg.Go(func() { cl.run(ctx) })
	}

	start := time.Now()
	t := time.NewTicker(cfg.every)
	defer t.Stop()
	prev := make([]uint64, cfg.workers)
	var prevReplies uint64
	lastAt := start
	snapshot := func() []uint64 {
		s := make([]uint64, cfg.workers)
		for i := range handled {
			s[i] = handled[i].Load()
		}
		return s
	}
	for {
		select {
		case now := <-t.C:
			cur, r := snapshot(), replies.Load()
			fmt.Fprintln(cfg.out, figures(now.Sub(start), now.Sub(lastAt), r-prevReplies, r, delta(cur, prev), cfg.width))
			prev, prevReplies, lastAt = cur, r, now
			continue
		case <-ctx.Done():
		}
		break
	}
	tot := demoTotals{replies: replies.Load(), perWorker: snapshot(), bad: bad.Load()}
	elapsed := time.Since(start)
	fmt.Fprintf(cfg.out, "demo: done after %v: %d replies (%.0f/s), %d wrong; per worker: %s\n",
		elapsed.Round(time.Millisecond), tot.replies, float64(tot.replies)/elapsed.Seconds(), tot.bad, shares(tot.perWorker, 0))
	if tot.bad > 0 {
		return tot, fmt.Errorf("demo: %d replies did not answer their request", tot.bad)
	}
	return tot, nil
}

func delta(cur, prev []uint64) []uint64 {
	d := make([]uint64, len(cur))
	for i := range cur {
		d[i] = cur[i] - prev[i]
	}
	return d
}

// figures is one line of the demo's output, at most width columns when
// it can be: time, rate, total, and the interval's share of each worker,
// with bars as wide as fit.
func figures(at, ivl time.Duration, n, total uint64, perWorker []uint64, width int) string {
	rate := 0.0
	if ivl > 0 {
		rate = float64(n) / ivl.Seconds()
	}
	head := fmt.Sprintf("%5.1fs %9.0f req/s  total %-9d | ", at.Seconds(), rate, total)
	if width <= 0 {
		width = 80
	}
	// Each worker takes its bar and the text of shares(..., 0).
	text := utf8.RuneCountInString(shares(perWorker, 0)) + len(perWorker) // a space before each bar
	bar := 0
	if len(perWorker) > 0 {
		bar = min(maxBar, (width-1-len(head)-text)/len(perWorker))
	}
	return head + shares(perWorker, max(bar, 0))
}

// maxBar is the widest bar a worker gets.
const maxBar = 20

// shares renders each worker's part of the work as "w1 ####  25%", with a
// bar of at most bar cells (none for 0). The percentages add up to 100
// and the bars to bar cells (when there was work): each is the nearest
// whole number to its worker's exact share, or the one next to it.
func shares(perWorker []uint64, bar int) string {
	pcts := apportion(perWorker, 100)
	cells := apportion(perWorker, bar)
	parts := make([]string, len(perWorker))
	for i := range perWorker {
		if bar > 0 {
			parts[i] = fmt.Sprintf("w%d %-*s %3d%%", i+1, bar, strings.Repeat("#", cells[i]), pcts[i])
		} else {
			parts[i] = fmt.Sprintf("w%d %3d%%", i+1, pcts[i])
		}
	}
	return strings.Join(parts, "  ")
}

// apportion splits total whole units over the counts in proportion,
// by largest remainder: the parts add up to total (all 0 when the counts
// are), and each is its exact share rounded down or up.
func apportion(counts []uint64, total int) []int {
	parts := make([]int, len(counts))
	var sum uint64
	for _, n := range counts {
		sum += n
	}
	if sum == 0 || total <= 0 {
		return parts
	}
	rem := make([]float64, len(counts))
	left := total
	for i, n := range counts {
		exact := float64(n) * float64(total) / float64(sum)
		parts[i] = int(exact)
		rem[i] = exact - float64(parts[i])
		left -= parts[i]
	}
	order := make([]int, len(counts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return rem[order[a]] > rem[order[b]] })
	for _, i := range order[:left] {
		parts[i]++
	}
	return parts
}

// plural returns "1 client" or "n clients".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// termWidth returns the columns of the terminal w is, or 0 when w is no
// terminal.
func termWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0
	}
	cols, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return cols
}

// demoWorker answers requests: every frame but the last comes back as it
// came (the envelope), and the last is replaced by "NAME REQUEST".
type demoWorker struct {
	d       *dealer.Dealer
	name    string
	ready   bool // speak the ready protocol
	work    time.Duration
	handled *atomic.Uint64
}

func (w demoWorker) run(ctx context.Context) {
	if w.ready {
		// A DEALER worker puts the empty delimiter a REQ socket would.
		if w.d.SendFrames(ctx, nil, []byte(readyMsg)) != nil {
			return
		}
	}
	for {
		m, err := w.d.Recv(ctx)
		if err != nil {
			return
		}
		if w.work > 0 && !pause(ctx, w.work) {
			m.Release()
			return
		}
		last := len(m.Frames) - 1
		out := wire.Get()
		for _, f := range m.Frames[:last] {
			out.AppendFrame(f)
		}
		out.AppendString(w.name + " " + string(m.Frames[last]))
		m.Release()
		if err := w.d.Send(ctx, out); err != nil {
			out.Release()
			return
		}
		w.handled.Add(1)
	}
}

// demoClient keeps window requests ["", "NAME-SEQ"] in flight and checks
// that each reply answers one of its own requests.
type demoClient struct {
	d       *dealer.Dealer
	name    string
	window  int
	replies *atomic.Uint64
	bad     *atomic.Uint64
}

func (c demoClient) run(ctx context.Context) {
	seq := 0
	send := func() bool {
		seq++
		return c.d.SendFrames(ctx, nil, fmt.Appendf(nil, "%s-%d", c.name, seq)) == nil
	}
	for range c.window {
		if !send() {
			return
		}
	}
	mine := " " + c.name + "-"
	for {
		m, err := c.d.Recv(ctx)
		if err != nil {
			return
		}
		if len(m.Frames) != 2 || len(m.Frames[0]) != 0 || !strings.Contains(string(m.Frames[1]), mine) {
			c.bad.Add(1)
		}
		m.Release()
		c.replies.Add(1)
		if !send() {
			return
		}
	}
}

// pause waits for d or until ctx ends, and reports whether the full wait
// elapsed.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
