package bench

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
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
// messages after a warm-up (a tenth of them, and at least what the
// senders' pipes hold), from when the warm-up's last message is in to
// when the last one is. One pair, or four PUSHes each connected to all of
// four PULLs (4x4). The receivers run in a child process and the senders in
// this one (PipeOptions.Self), or both here; every kind of pipe runs one
// after the other, in interleaved rounds:
//
//   - libzmq: C loops over libzmq (zmqc.Push, zmqc.Pull), the baseline;
//   - zrouter: zrouter's push.Push to pull.Pull;
//   - zrouter-p1: the same, with GOMAXPROCS=1 in both processes, as the
//     README recommends where zrouter shares a small machine with its
//     peers (here, two processes on two cores);
//   - zrouter>libzmq and libzmq>zrouter: one side each;
//   - tcp: the same bytes as a raw TCP stream, written 64 KiB or more at a
//     time, the ceiling;
//   - tcp-p1: the same stream with GOMAXPROCS=1 in both processes, the
//     ceiling of zrouter-p1, whose four pipes share one P as these do.
//
// Every message is checked for its size; the counts must come out exact.

// Pipeline kinds.
const (
	PipeLibzmq        = "libzmq"
	PipeZRouter       = "zrouter"
	PipeZRouterP1     = "zrouter-p1"
	PipeZRouterLibzmq = "zrouter>libzmq"
	PipeLibzmqZRouter = "libzmq>zrouter"
	PipeTCP           = "tcp"
	PipeTCPP1         = "tcp-p1"
)

// PipeKinds are the pipeline kinds, in round order.
var PipeKinds = []string{PipeLibzmq, PipeZRouter, PipeZRouterP1, PipeZRouterLibzmq, PipeLibzmqZRouter, PipeTCP, PipeTCPP1}

// pipeZRouter lists the pipeline kinds that are zrouter at both ends: the
// targets are evaluated for each.
var pipeZRouter = []string{PipeZRouter, PipeZRouterP1}

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

// PickPipeScenarios returns the scenarios whose names contain one of the
// comma-separated parts of names; all of them when names is empty.
func PickPipeScenarios(all []PipeScenario, names string) []PipeScenario {
	return pickNamed(all, func(sc PipeScenario) string { return sc.Name }, names)
}

// PipeOptions configures RunPipeline.
type PipeOptions struct {
	Scenarios []PipeScenario
	Kinds     []string // PipeKinds by default
	Rounds    int
	// Timeout bounds each run.
	Timeout time.Duration
	// Self, when set, runs this program as the receivers' child process,
	// with arguments that it must pass to PipeChildMain (IsPipeChild tells
	// them), so that senders and receivers are processes of their own, as
	// remote_thr and local_thr are; without it both run in this process.
	Self func(args []string) *exec.Cmd
	// CPUProfile, when set with Self, makes the zrouter runs write CPU
	// profiles: the receiving child's to CPUProfile-<scenario>-recv.pprof
	// and the sending process's to CPUProfile-<scenario>-send.pprof. Each
	// round writes them again.
	CPUProfile string
	Log        io.Writer
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
				var rate float64
				var err error
				if o.Self != nil {
					profile := ""
					if o.CPUProfile != "" && k == PipeZRouter {
						profile = o.CPUProfile + "-" + sc.Name
					}
					rate, err = runPipeProcs(o.Self, k, sc, o.Timeout, profile)
				} else {
					rate, err = runPipe(k, sc, o.Timeout)
				}
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

// pipeHWM is the SNDHWM that both libzmq's and zrouter's sockets keep
// here: their default, 1000 messages a pipe.
const pipeHWM = 1000

// newPipeRun returns the run of sc. Its warm-up is a tenth of the messages
// measured, and at least what the senders' pipes hold: a sender that runs
// ahead fills every pipe to its SNDHWM with messages fresh from the
// allocator, whose first touch (a page fault per page: 1 GiB at 4x4 and
// 64 KiB) is not the steady state either.
func newPipeRun(sc PipeScenario) *pipeRun {
	warm := max(sc.Msgs/10, uint64(sc.Senders*sc.Receivers*pipeHWM)) / uint64(sc.Senders) * uint64(sc.Senders)
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

// pipeSides returns who sends and who receives in a pipeline kind:
// "zrouter", "libzmq" or "tcp".
func pipeSides(kind string) (send, recv string, err error) {
	switch kind {
	case PipeLibzmq:
		return "libzmq", "libzmq", nil
	case PipeZRouter, PipeZRouterP1:
		return "zrouter", "zrouter", nil
	case PipeZRouterLibzmq:
		return "zrouter", "libzmq", nil
	case PipeLibzmqZRouter:
		return "libzmq", "zrouter", nil
	case PipeTCP, PipeTCPP1:
		return "tcp", "tcp", nil
	}
	return "", "", fmt.Errorf("bench: unknown pipeline kind %q", kind)
}

// oneProcPipe reports whether the processes of a pipeline kind run with
// GOMAXPROCS=1.
func oneProcPipe(kind string) bool { return kind == PipeZRouterP1 || kind == PipeTCPP1 }

// withProcs runs fn with GOMAXPROCS set to 1 when one is set, and puts it
// back after.
func withProcs(one bool, fn func()) {
	if one {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	}
	fn()
}

// runPipe runs one pipeline in this process and returns its rate.
func runPipe(kind string, sc PipeScenario, timeout time.Duration) (rate float64, err error) {
	withProcs(oneProcPipe(kind), func() { rate, err = runPipeHere(kind, sc, timeout) })
	return rate, err
}

func runPipeHere(kind string, sc PipeScenario, timeout time.Duration) (float64, error) {
	send, recv, err := pipeSides(kind)
	if err != nil {
		return 0, err
	}
	r := newPipeRun(sc)
	rc, err := startReceivers(recv, sc, r, timeout)
	if err != nil {
		return 0, err
	}
	closeSenders, serr := runSenders(send, sc, rc.eps, r.perSender(sc), timeout)
	werr := rc.wait(timeout)
	if err := errors.Join(serr, werr, closeSenders(), rc.close()); err != nil {
		return 0, err
	}
	if got := r.count.Load(); got != r.total {
		return 0, fmt.Errorf("%w: %d messages received, want %d", ErrBadReply, got, r.total)
	}
	return r.rate(sc.Msgs)
}

// receivers is the receiving half of a pipeline: its bound endpoints, and
// the goroutines that count into r.
type receivers struct {
	eps     []string
	r       *pipeRun
	wg      sync.WaitGroup
	mu      sync.Mutex
	errs    []error
	stop    chan struct{} // closed to end the loops early
	closers []func() error
	zctx    *zmqc.Context
	count   *zmqc.Counter
}

func (rc *receivers) fail(err error) {
	rc.mu.Lock()
	rc.errs = append(rc.errs, err)
	rc.mu.Unlock()
}

// wait waits until every message is in, or timeout passes; then the loops
// end, and it returns what went wrong.
func (rc *receivers) wait(timeout time.Duration) error {
	var err error
	select {
	case <-rc.r.done:
	case <-time.After(timeout):
		err = fmt.Errorf("bench: %d of %d messages within %v", rc.r.count.Load(), rc.r.total, timeout)
	}
	close(rc.stop)
	if err != nil && rc.zctx != nil {
		// The C loops end once their context is shut down.
		_ = rc.zctx.Shutdown()
	}
	rc.wg.Wait()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return errors.Join(append(rc.errs, err)...)
}

// close closes the receivers' sockets; wait must have returned.
func (rc *receivers) close() error {
	var err error
	for i := len(rc.closers) - 1; i >= 0; i-- {
		err = errors.Join(err, rc.closers[i]())
	}
	if rc.zctx != nil {
		err = errors.Join(err, rc.zctx.Term())
	}
	if rc.count != nil {
		rc.count.Free()
	}
	return err
}

// startReceivers binds sc.Receivers PULLs of the given side (or TCP
// listeners, each taking sc.Senders connections) and starts counting what
// arrives into r.
func startReceivers(side string, sc PipeScenario, r *pipeRun, timeout time.Duration) (_ *receivers, err error) {
	rc := &receivers{r: r, stop: make(chan struct{})}
	defer func() {
		if err != nil {
			close(rc.stop)
			if rc.zctx != nil {
				_ = rc.zctx.Shutdown()
			}
			rc.wg.Wait()
			err = errors.Join(err, rc.close())
		}
	}()
	switch side {
	case "zrouter":
		for range sc.Receivers {
			q, err := pull.New(socket.WithLinger(0))
			if err != nil {
				return nil, err
			}
			rc.closers = append(rc.closers, q.Close)
			if err := q.Bind("tcp://127.0.0.1:0"); err != nil {
				return nil, err
			}
			rc.eps = append(rc.eps, q.Addr())
			rc.wg.Add(1)
			go func() {
				defer rc.wg.Done()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				go func() {
					select {
					case <-rc.stop:
					case <-r.done:
					}
					cancel()
				}()
				for {
					m, err := q.Recv(ctx)
					if err != nil {
						return
					}
					ok := len(m.Frames) == 1 && len(m.Frames[0]) == sc.Size
					m.Release()
					if !ok {
						rc.fail(fmt.Errorf("%w: not one frame of %d bytes", ErrBadReply, sc.Size))
						return
					}
					r.add(1)
				}
			}()
		}
	case "libzmq":
		if rc.zctx, err = zmqc.NewContext(); err != nil {
			return nil, err
		}
		rc.count = zmqc.NewCounter()
		for range sc.Receivers {
			s, err := rc.zctx.Socket(zmqc.PULL)
			if err != nil {
				return nil, err
			}
			rc.closers = append(rc.closers, s.Close)
			if err := s.SetInt(zmqc.Linger, 0); err != nil {
				return nil, err
			}
			if err := s.SetInt(zmqc.RcvTimeo, 20); err != nil {
				return nil, err
			}
			ep, err := s.Bind("tcp://127.0.0.1:*")
			if err != nil {
				return nil, err
			}
			rc.eps = append(rc.eps, ep)
			rc.wg.Add(1)
			go func() {
				defer rc.wg.Done()
				// Two phases, so that the clock starts when the warm-up is in.
				if err := zmqc.Pull(s, sc.Size, rc.count, r.warm); err != nil {
					if err != zmqc.ETERM {
						rc.fail(err)
					}
					return
				}
				r.t0.CompareAndSwap(0, time.Now().UnixNano())
				if err := zmqc.Pull(s, sc.Size, rc.count, r.total); err != nil {
					if err != zmqc.ETERM {
						rc.fail(err)
					}
					return
				}
				r.t1.CompareAndSwap(0, time.Now().UnixNano())
				r.count.Store(rc.count.Load())
				r.once.Do(func() { close(r.done) })
			}()
		}
	case "tcp":
		var bytesIn atomic.Uint64
		size := uint64(sc.Size)
		for range sc.Receivers {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return nil, err
			}
			rc.closers = append(rc.closers, ln.Close)
			rc.eps = append(rc.eps, ln.Addr().String())
			for range sc.Senders {
				rc.wg.Add(1)
				go func() {
					defer rc.wg.Done()
					c, err := ln.Accept()
					if err != nil {
						select {
						case <-rc.stop:
						default:
							rc.fail(err)
						}
						return
					}
					defer c.Close()
					// Once every message is in, a reader still waiting on its
					// connection is let go by closing it.
					quit := make(chan struct{})
					defer close(quit)
					rc.wg.Add(1)
					go func() {
						defer rc.wg.Done()
						select {
						case <-rc.stop:
							_ = c.Close()
						case <-quit:
						}
					}()
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
							select {
							case <-rc.stop:
							default:
								if !errors.Is(err, io.EOF) {
									rc.fail(err)
								}
							}
							return
						}
					}
				}()
			}
		}
	default:
		return nil, fmt.Errorf("bench: unknown receiving side %q", side)
	}
	return rc, nil
}

// runSenders runs sc.Senders senders of the given side, each connected to
// every endpoint of eps, sending n messages of sc.Size bytes, and returns
// when they have all been sent, with what failed. The senders stay open,
// so that what they still hold goes out, until closeAll, which the caller
// calls once the receivers are done.
func runSenders(side string, sc PipeScenario, eps []string, n uint64, timeout time.Duration) (closeAll func() error, err error) {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		errs    []error
		closers []func() error
		zctx    *zmqc.Context
	)
	fail := func(e error) {
		mu.Lock()
		errs = append(errs, e)
		mu.Unlock()
	}
	closeAll = func() error {
		var err error
		for i := len(closers) - 1; i >= 0; i-- {
			err = errors.Join(err, closers[i]())
		}
		if zctx != nil {
			err = errors.Join(err, zctx.Term())
		}
		return err
	}
	err = startSenders(side, sc, eps, n, timeout, &wg, fail, &closers, &zctx)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return closeAll, errors.Join(append(errs, err)...)
}

// startSenders starts the senders of runSenders.
func startSenders(side string, sc PipeScenario, eps []string, n uint64, timeout time.Duration,
	wg *sync.WaitGroup, fail func(error), closers *[]func() error, zctxp **zmqc.Context) (err error) {
	for range sc.Senders {
		switch side {
		case "zrouter":
			p, err := push.New(socket.WithLinger(0))
			if err != nil {
				return err
			}
			*closers = append(*closers, p.Close)
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
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				for range n {
					// A fresh message of the size, not filled, as
					// libzmq's side makes with zmq_msg_init_size.
					m := wire.Get()
					m.NewFrame(sc.Size)
					if err := p.Send(ctx, m); err != nil {
						m.Release()
						fail(err)
						return
					}
				}
			}()
		case "libzmq":
			if *zctxp == nil {
				if *zctxp, err = zmqc.NewContext(); err != nil {
					return err
				}
			}
			s, err := (*zctxp).Socket(zmqc.PUSH)
			if err != nil {
				return err
			}
			*closers = append(*closers, s.Close)
			if err := s.SetInt(zmqc.Linger, 0); err != nil {
				return err
			}
			// A stuck receiver fails the send instead of hanging it.
			if err := s.SetInt(zmqc.SndTimeo, int(timeout/time.Millisecond)); err != nil {
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
		case "tcp":
			// Whole messages, at least 64 KiB per write: a stream's bytes
			// as fast as TCP takes them, the ceiling of any framing.
			per := max(1, (64<<10)/sc.Size)
			chunk := make([]byte, per*sc.Size)
			conns := make([]net.Conn, len(eps))
			for i, ep := range eps {
				c, err := net.Dial("tcp", strings.TrimPrefix(ep, "tcp://"))
				if err != nil {
					return err
				}
				*closers = append(*closers, c.Close)
				conns[i] = c
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
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
		default:
			return fmt.Errorf("bench: unknown sending side %q", side)
		}
	}
	return nil
}

// pipeChildFlag starts the command line of a pipeline's receiving child.
const pipeChildFlag = "-pipe-recv"

// IsPipeChild reports whether args (without the program name) are the
// command line of a pipeline's receiving child, which PipeChildMain runs.
func IsPipeChild(args []string) bool { return len(args) > 0 && args[0] == pipeChildFlag }

func pipeChildArgs(side string, sc PipeScenario, timeout time.Duration, profile string) []string {
	args := []string{pipeChildFlag, side, "-senders", strconv.Itoa(sc.Senders), "-receivers", strconv.Itoa(sc.Receivers),
		"-size", strconv.Itoa(sc.Size), "-msgs", strconv.FormatUint(sc.Msgs, 10), "-timeout", timeout.String()}
	if profile != "" {
		args = append(args, "-cpuprofile", profile)
	}
	return args
}

// PipeChildMain runs the receiving half of one pipeline run, as libzmq's
// local_thr does in a process of its own: it binds, prints "READY EP,EP...
// PROCS" (PROCS is its GOMAXPROCS),
// counts every message, prints "DONE COUNT NANOSECONDS" (the time from the
// end of the warm-up to the last message) and returns.
func PipeChildMain(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("pipe-recv", flag.ContinueOnError)
	side := fs.String(pipeChildFlag[1:], "", "receiving side: zrouter, libzmq or tcp")
	var sc PipeScenario
	fs.IntVar(&sc.Senders, "senders", 1, "senders")
	fs.IntVar(&sc.Receivers, "receivers", 1, "receivers")
	fs.IntVar(&sc.Size, "size", 16, "message size")
	fs.Uint64Var(&sc.Msgs, "msgs", 0, "messages measured")
	timeout := fs.Duration("timeout", 10*time.Second, "longest run")
	profile := fs.String("cpuprofile", "", "write the receivers' CPU profile to FILE")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *profile != "" {
		stop, err := startProfile(*profile)
		if err != nil {
			return err
		}
		defer stop()
	}
	r := newPipeRun(sc)
	rc, err := startReceivers(*side, sc, r, *timeout)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "READY %s %d\n", strings.Join(rc.eps, ","), runtime.GOMAXPROCS(0))
	if err := errors.Join(rc.wait(*timeout), rc.close()); err != nil {
		return err
	}
	fmt.Fprintf(out, "DONE %d %d\n", r.count.Load(), r.t1.Load()-r.t0.Load())
	return nil
}

// runPipeProcs runs one pipeline with its receivers in a child process
// (self), its senders here, and returns its rate. A profile prefix makes
// both sides write CPU profiles (PipeOptions.CPUProfile).
func runPipeProcs(self func([]string) *exec.Cmd, kind string, sc PipeScenario, timeout time.Duration, profile string) (rate float64, err error) {
	send, recv, err := pipeSides(kind)
	if err != nil {
		return 0, err
	}
	recvProfile := ""
	if profile != "" {
		recvProfile = profile + "-recv.pprof"
	}
	cmd := self(pipeChildArgs(recv, sc, timeout, recvProfile))
	one := oneProcPipe(kind)
	if one {
		if cmd.Env == nil {
			cmd.Env = os.Environ()
		}
		cmd.Env = append(cmd.Env, "GOMAXPROCS=1")
	}
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		if werr := cmd.Wait(); werr != nil {
			err = errors.Join(err, fmt.Errorf("bench: receiver: %w", werr))
		}
	}()
	lines := bufio.NewScanner(stdout)
	line := func(prefix string) ([]string, error) {
		if !lines.Scan() {
			return nil, fmt.Errorf("bench: receiver ended before %s: %v", prefix, lines.Err())
		}
		f := strings.Fields(lines.Text())
		if len(f) == 0 || f[0] != prefix {
			return nil, fmt.Errorf("bench: receiver said %q, want %s", lines.Text(), prefix)
		}
		return f[1:], nil
	}
	ready, err := line("READY")
	if err != nil || len(ready) != 2 {
		_ = cmd.Process.Kill()
		return 0, errors.Join(err, errors.New("bench: no endpoints from the receiver"))
	}
	if procs := ready[1]; one && procs != "1" {
		_ = cmd.Process.Kill()
		return 0, fmt.Errorf("bench: receiver runs with GOMAXPROCS %s, want 1", procs)
	}
	r := newPipeRun(sc)
	if profile != "" {
		stop, err := startProfile(profile + "-send.pprof")
		if err != nil {
			_ = cmd.Process.Kill()
			return 0, err
		}
		defer stop()
	}
	// The senders' writers go on after their Sends return: the receiver's
	// DONE comes when they are through.
	var closeSenders func() error
	var done []string
	var serr, derr error
	withProcs(one, func() {
		closeSenders, serr = runSenders(send, sc, strings.Split(ready[0], ","), r.perSender(sc), timeout)
		done, derr = line("DONE")
	})
	_, _ = io.Copy(io.Discard, stdout)
	if err := errors.Join(serr, derr, closeSenders()); err != nil {
		return 0, err
	}
	if len(done) != 2 {
		return 0, fmt.Errorf("bench: receiver said DONE %q", done)
	}
	count, err1 := strconv.ParseUint(done[0], 10, 64)
	ns, err2 := strconv.ParseInt(done[1], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	if count != r.total {
		return 0, fmt.Errorf("%w: %d messages received, want %d", ErrBadReply, count, r.total)
	}
	if ns <= 0 {
		return 0, errors.New("bench: no time measured")
	}
	return float64(sc.Msgs) / time.Duration(ns).Seconds(), nil
}

// PipeMarkdown writes the results as a markdown table: median messages per
// second of each kind, and the ratios of zrouter (as the runtime sets
// itself up, and with GOMAXPROCS=1) to libzmq and to the raw TCP stream
// (zrouter-p1's to the stream with GOMAXPROCS=1 when that was measured).
func PipeMarkdown(w io.Writer, results []*PipeResult) {
	fmt.Fprintf(w, "| scenario | libzmq msg/s | zrouter msg/s | zrouter/libzmq | zrouter-p1 msg/s | zrouter-p1/libzmq | zrouter>libzmq | libzmq>zrouter | tcp msg/s | zrouter/tcp | tcp-p1 msg/s | zrouter-p1/tcp-p1 |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		lz, zr, p1 := r.Median(PipeLibzmq), r.Median(PipeZRouter), r.Median(PipeZRouterP1)
		tcp, tcp1 := r.Median(PipeTCP), r.Median(PipeTCPP1)
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Scenario.Name,
			pipeNum(lz), pipeNum(zr), pipeRatio(zr, lz), pipeNum(p1), pipeRatio(p1, lz),
			pipeNum(r.Median(PipeZRouterLibzmq)), pipeNum(r.Median(PipeLibzmqZRouter)),
			pipeNum(tcp), pipeRatio(zr, tcp), pipeNum(tcp1), pipeRatio(p1, tcp1))
	}
	var notes []string
	for _, r := range results {
		lz := r.Median(PipeLibzmq)
		for _, k := range pipeZRouter {
			zr := r.Median(k)
			ceil, ceilKind := pipeCeiling(r, k)
			switch {
			case zr == 0:
			case r.Scenario.Size <= 1024 && lz > 0:
				notes = append(notes, fmt.Sprintf("%s: %s/libzmq %.2f (target 1.20) %s", r.Scenario.Name, k, zr/lz, pipeMet(zr/lz >= 1.2)))
			case r.Scenario.Size >= 64<<10 && ceil > 0:
				notes = append(notes, fmt.Sprintf("%s: %s/%s %.2f (target 0.70) %s", r.Scenario.Name, k, ceilKind, zr/ceil, pipeMet(zr/ceil >= 0.7)))
			}
		}
	}
	fmt.Fprintf(w, "\n%s\n", strings.Join(notes, "\n"))
}

// pipeCeiling returns the raw TCP stream that a zrouter kind's 64 KiB
// target is against, and its kind: the one with the same GOMAXPROCS when
// it was measured, the other otherwise.
func pipeCeiling(r *PipeResult, kind string) (float64, string) {
	if kind == PipeZRouterP1 {
		if c := r.Median(PipeTCPP1); c > 0 {
			return c, PipeTCPP1
		}
	}
	return r.Median(PipeTCP), PipeTCP
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
