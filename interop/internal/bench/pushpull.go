package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zrouter/zrouter/interop/internal/zmqc"
	"github.com/zrouter/zrouter/pull"
	"github.com/zrouter/zrouter/push"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
)

// The pipeline scenarios measure PUSH to PULL throughput in the shape of
// libzmq's perf/remote_thr and perf/local_thr: PULLs bind and count, PUSHes
// connect and send as fast as they can, and the rate is taken over the
// messages after a warm-up, from when the warm-up's last message is in to
// when the last one is. One pair, or four PUSHes each connected to all of
// four PULLs (4x4). Every kind of pipe runs in this process, one after the
// other in interleaved rounds:
//
//   - libzmq: C loops over libzmq (zmqc.Push, zmqc.Pull), the baseline;
//   - zrouter: zrouter's push.Push to pull.Pull;
//   - zrouter>libzmq and libzmq>zrouter: one side each;
//   - tcp: the same bytes as a raw TCP stream, written 64 KiB or more at a
//     time, the ceiling.
//
// Every message is checked for its size; the counts must come out exact.

// Pipeline kinds.
const (
	PipeLibzmq        = "libzmq"
	PipeZRouter       = "zrouter"
	PipeZRouterLibzmq = "zrouter>libzmq"
	PipeLibzmqZRouter = "libzmq>zrouter"
	PipeTCP           = "tcp"
)

// PipeKinds are the pipeline kinds, in round order.
var PipeKinds = []string{PipeLibzmq, PipeZRouter, PipeZRouterLibzmq, PipeLibzmqZRouter, PipeTCP}

// PipelineGroup names every pipeline scenario on the command line.
const PipelineGroup = "pushpull"

// PipeScenario is one pipeline workload.
type PipeScenario struct {
	Name      string `json:"name"`
	Senders   int    `json:"senders"`
	Receivers int    `json:"receivers"`
	Size      int    `json:"size"`
	// Msgs is the number of messages measured, over all senders; as many
	// again divided by ten warm up first.
	Msgs uint64 `json:"msgs"`
}

// PipeScenarios returns the pipeline scenarios: one pair and 4x4 at 16 B,
// 1 KiB and 64 KiB, with message counts scaled by scale.
func PipeScenarios(scale float64) []PipeScenario {
	var out []PipeScenario
	for _, shape := range [][2]int{{1, 1}, {4, 4}} {
		for _, sz := range []struct {
			size int
			msgs float64
		}{{16, 2e6}, {1024, 5e5}, {64 << 10, 2e4}} {
			n := uint64(sz.msgs*scale) / 40 * 40 // divisible by every split
			out = append(out, PipeScenario{
				Name:    fmt.Sprintf("%s-%dx%d-%s", PipelineGroup, shape[0], shape[1], sizeLabel(sz.size)),
				Senders: shape[0], Receivers: shape[1], Size: sz.size, Msgs: max(n, 40),
			})
		}
	}
	return out
}

// PipeOptions configures RunPipeline.
type PipeOptions struct {
	Scenarios []PipeScenario
	Kinds     []string // PipeKinds by default
	Rounds    int
	// Timeout bounds each run.
	Timeout time.Duration
	Log     io.Writer
}

// PipeResult holds the rates of one scenario: for each kind, messages per
// second in each round.
type PipeResult struct {
	Scenario PipeScenario         `json:"scenario"`
	Rates    map[string][]float64 `json:"rates"`
}

// Median returns the median rate of kind, or 0.
func (r *PipeResult) Median(kind string) float64 { return median(r.Rates[kind]) }

// RunPipeline runs every pipeline scenario of o, each kind once per round.
func RunPipeline(ctx context.Context, o *PipeOptions) ([]*PipeResult, error) {
	kinds := o.Kinds
	if len(kinds) == 0 {
		kinds = PipeKinds
	}
	var out []*PipeResult
	for _, sc := range o.Scenarios {
		res := &PipeResult{Scenario: sc, Rates: map[string][]float64{}}
		out = append(out, res)
		logTo(o.Log, "== %s: %d PUSH x %d PULL, %s, %d messages", sc.Name, sc.Senders, sc.Receivers, sizeLabel(sc.Size), sc.Msgs)
		for round := range max(o.Rounds, 1) {
			for _, k := range kinds {
				if err := ctx.Err(); err != nil {
					return out, err
				}
				rate, err := runPipe(k, sc, o.Timeout)
				if err != nil {
					return out, fmt.Errorf("%s %s: %w", sc.Name, k, err)
				}
				res.Rates[k] = append(res.Rates[k], rate)
				logTo(o.Log, "round %d %-15s %12.0f msg/s %8.1f MB/s", round+1, k, rate, rate*float64(sc.Size)/1e6)
			}
		}
	}
	return out, nil
}

func logTo(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

// pipeRun is one run's two timestamps: when the warm-up was all in, and
// when everything was.
type pipeRun struct {
	warm, total uint64
	count       atomic.Uint64
	t0, t1      atomic.Int64 // unix ns
	done        chan struct{}
	once        sync.Once
}

func newPipeRun(sc PipeScenario) *pipeRun {
	warm := sc.Msgs / 10 / uint64(sc.Senders) * uint64(sc.Senders)
	return &pipeRun{warm: warm, total: warm + sc.Msgs, done: make(chan struct{})}
}

// add counts n messages received.
func (r *pipeRun) add(n uint64) {
	c := r.count.Add(n)
	if c >= r.warm && c-n < r.warm {
		r.t0.Store(time.Now().UnixNano())
	}
	if c >= r.total && c-n < r.total {
		r.t1.Store(time.Now().UnixNano())
		r.once.Do(func() { close(r.done) })
	}
}

func (r *pipeRun) rate(msgs uint64) (float64, error) {
	d := time.Duration(r.t1.Load() - r.t0.Load())
	if d <= 0 {
		return 0, errors.New("bench: no time measured")
	}
	return float64(msgs) / d.Seconds(), nil
}

// perSender returns how many messages each sender sends.
func (r *pipeRun) perSender(sc PipeScenario) uint64 { return r.total / uint64(sc.Senders) }

func runPipe(kind string, sc PipeScenario, timeout time.Duration) (float64, error) {
	r := newPipeRun(sc)
	var err error
	switch kind {
	case PipeTCP:
		err = runTCP(r, sc, timeout)
	case PipeLibzmq, PipeZRouter, PipeZRouterLibzmq, PipeLibzmqZRouter:
		err = runZMQPipe(r, sc, kind, timeout)
	default:
		return 0, fmt.Errorf("bench: unknown pipeline kind %q", kind)
	}
	if err != nil {
		return 0, err
	}
	if got := r.count.Load(); got != r.total {
		return 0, fmt.Errorf("%w: %d messages received, want %d", ErrBadReply, got, r.total)
	}
	return r.rate(sc.Msgs)
}

// runZMQPipe runs one ZeroMQ pipeline: receivers bind, senders connect to
// every receiver, all start together.
func runZMQPipe(r *pipeRun, sc PipeScenario, kind string, timeout time.Duration) (err error) {
	zrSend := kind == PipeZRouter || kind == PipeZRouterLibzmq
	zrRecv := kind == PipeZRouter || kind == PipeLibzmqZRouter
	zctx, err := zmqc.NewContext()
	if err != nil {
		return err
	}
	var closers []func() error
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			err = errors.Join(err, closers[i]())
		}
		err = errors.Join(err, zctx.Term())
	}()

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	fail := func(e error) {
		mu.Lock()
		errs = append(errs, e)
		mu.Unlock()
	}
	stop := make(chan struct{})
	var eps []string
	var ccount *zmqc.Counter
	if !zrRecv {
		ccount = zmqc.NewCounter()
		defer ccount.Free()
	}
	for range sc.Receivers {
		if zrRecv {
			q, err := pull.New(socket.WithLinger(0))
			if err != nil {
				return err
			}
			closers = append(closers, q.Close)
			if err := q.Bind("tcp://127.0.0.1:0"); err != nil {
				return err
			}
			eps = append(eps, q.Addr())
			wg.Add(1)
			go func() {
				defer wg.Done()
				rctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				go func() {
					select {
					case <-stop:
					case <-r.done:
					}
					cancel()
				}()
				for {
					m, err := q.Recv(rctx)
					if err != nil {
						return
					}
					if len(m.Frames) != 1 || len(m.Frames[0]) != sc.Size {
						fail(fmt.Errorf("%w: a message of %d frame(s)", ErrBadReply, len(m.Frames)))
						m.Release()
						return
					}
					m.Release()
					r.add(1)
				}
			}()
			continue
		}
		s, err := zctx.Socket(zmqc.PULL)
		if err != nil {
			return err
		}
		closers = append(closers, s.Close)
		if err := s.SetInt(zmqc.Linger, 0); err != nil {
			return err
		}
		if err := s.SetInt(zmqc.RcvTimeo, 20); err != nil {
			return err
		}
		ep, err := s.Bind("tcp://127.0.0.1:*")
		if err != nil {
			return err
		}
		eps = append(eps, ep)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Two phases, so that the clock starts when the warm-up is in.
			if err := zmqc.Pull(s, sc.Size, ccount, r.warm); err != nil {
				fail(err)
				return
			}
			if r.t0.Load() == 0 {
				r.t0.CompareAndSwap(0, time.Now().UnixNano())
			}
			if err := zmqc.Pull(s, sc.Size, ccount, r.total); err != nil {
				fail(err)
				return
			}
			r.t1.CompareAndSwap(0, time.Now().UnixNano())
			r.count.Store(ccount.Load())
			r.once.Do(func() { close(r.done) })
		}()
	}

	n := r.perSender(sc)
	payload := make([]byte, sc.Size)
	for range sc.Senders {
		if zrSend {
			p, err := push.New(socket.WithLinger(0))
			if err != nil {
				return err
			}
			closers = append(closers, p.Close)
			for _, ep := range eps {
				if err := p.Connect(ep); err != nil {
					return err
				}
			}
			wctx, cancel := context.WithTimeout(context.Background(), timeout)
			err = p.WaitPeers(wctx, len(eps))
			cancel()
			if err != nil {
				return err
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				go func() {
					<-stop
					cancel()
				}()
				for range n {
					m := wire.Get()
					m.AppendFrame(payload)
					if err := p.Send(ctx, m); err != nil {
						m.Release()
						fail(err)
						return
					}
				}
			}()
			continue
		}
		s, err := zctx.Socket(zmqc.PUSH)
		if err != nil {
			return err
		}
		closers = append(closers, s.Close)
		if err := s.SetInt(zmqc.Linger, 0); err != nil {
			return err
		}
		for _, ep := range eps {
			if err := s.Connect(ep); err != nil {
				return err
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := zmqc.Push(s, sc.Size, n); err != nil {
				fail(err)
			}
		}()
	}
	select {
	case <-r.done:
	case <-time.After(timeout):
		close(stop)
		// The C loops end once the sockets close; the timeout is the
		// error either way.
		for i := len(closers) - 1; i >= 0; i-- {
			_ = closers[i]()
		}
		closers = nil
		_ = zctx.Shutdown()
		wg.Wait()
		return fmt.Errorf("bench: %d of %d messages within %v", r.count.Load(), r.total, timeout)
	}
	wg.Wait()
	close(stop)
	return errors.Join(errs...)
}

// runTCP streams the same bytes over raw TCP: every sender has a connection
// to every receiver and writes whole messages, 64 KiB or more at a time,
// round robin; the receivers count bytes.
func runTCP(r *pipeRun, sc PipeScenario, timeout time.Duration) error {
	var (
		lns  []net.Listener
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	fail := func(e error) {
		mu.Lock()
		errs = append(errs, e)
		mu.Unlock()
	}
	var bytesIn atomic.Uint64
	size := uint64(sc.Size)
	for range sc.Receivers {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer ln.Close()
		lns = append(lns, ln)
		for range sc.Senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := ln.Accept()
				if err != nil {
					fail(err)
					return
				}
				defer c.Close()
				buf := make([]byte, 256<<10)
				for {
					_ = c.SetReadDeadline(time.Now().Add(timeout))
					k, err := c.Read(buf)
					if k > 0 {
						after := bytesIn.Add(uint64(k))
						// Count whole messages as they complete.
						if m := after/size - (after-uint64(k))/size; m > 0 {
							r.add(m)
						}
					}
					if err != nil {
						if !errors.Is(err, io.EOF) {
							fail(err)
						}
						return
					}
				}
			}()
		}
	}
	// The stream goes in writes of whole messages, at least 64 KiB each:
	// a stream's bytes as fast as TCP takes them, the ceiling of any
	// framing on top.
	n := r.perSender(sc)
	per := max(1, (64<<10)/sc.Size)
	chunk := make([]byte, per*sc.Size)
	for range sc.Senders {
		conns := make([]net.Conn, len(lns))
		for i, ln := range lns {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				return err
			}
			conns[i] = c
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				for _, c := range conns {
					_ = c.Close()
				}
			}()
			for i, left := 0, n; left > 0; i++ {
				k := min(left, uint64(per))
				c := conns[i%len(conns)]
				_ = c.SetWriteDeadline(time.Now().Add(timeout))
				if _, err := c.Write(chunk[:k*uint64(sc.Size)]); err != nil {
					fail(err)
					return
				}
				left -= k
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// PipeMarkdown writes the results as a markdown table: median messages per
// second of each kind, and zrouter's ratios to libzmq and to the raw TCP
// stream.
func PipeMarkdown(w io.Writer, results []*PipeResult) {
	fmt.Fprintf(w, "| scenario | libzmq msg/s | zrouter msg/s | zrouter/libzmq | zrouter>libzmq | libzmq>zrouter | tcp msg/s | zrouter/tcp |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		lz, zr, tcp := r.Median(PipeLibzmq), r.Median(PipeZRouter), r.Median(PipeTCP)
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Scenario.Name,
			pipeNum(lz), pipeNum(zr), pipeRatio(zr, lz), pipeNum(r.Median(PipeZRouterLibzmq)),
			pipeNum(r.Median(PipeLibzmqZRouter)), pipeNum(tcp), pipeRatio(zr, tcp))
	}
	var notes []string
	for _, r := range results {
		lz, zr, tcp := r.Median(PipeLibzmq), r.Median(PipeZRouter), r.Median(PipeTCP)
		switch {
		case r.Scenario.Size <= 1024 && lz > 0:
			notes = append(notes, fmt.Sprintf("%s: zrouter/libzmq %.2f (target 1.20) %s", r.Scenario.Name, zr/lz, pipeMet(zr/lz >= 1.2)))
		case r.Scenario.Size >= 64<<10 && tcp > 0:
			notes = append(notes, fmt.Sprintf("%s: zrouter/tcp %.2f (target 0.70) %s", r.Scenario.Name, zr/tcp, pipeMet(zr/tcp >= 0.7)))
		}
	}
	fmt.Fprintf(w, "\n%s\n", strings.Join(notes, "\n"))
}

func pipeMet(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func pipeNum(x float64) string {
	if x == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", x)
}

func pipeRatio(a, b float64) string {
	if a == 0 || b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}
