package bench

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zrouter/zrouter/device"
	"github.com/zrouter/zrouter/interop/internal/zmqc"
	"github.com/zrouter/zrouter/pub"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/sub"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/xpub"
	"github.com/zrouter/zrouter/xsub"
)

// The fan-out scenarios measure one publisher to 1, 10 or 100 subscribers,
// every subscriber taking every message, directly (PUB to SUBs) or through a
// forwarder (PUB to XSUB, XPUB to SUBs). The rate is the messages delivered
// per second, summed over the subscribers, counted by the subscribers
// themselves in a window that opens once every subscriber has had a message
// and a warm-up has passed: the slow joiners have joined before it, and
// nothing sent before it counts. The publisher sends as fast as it can and
// never waits, as PUB does: what a full queue (at the high-water mark,
// FanOptions.HWM, on every socket) drops is simply not delivered, so a
// system that drops more scores less. The publisher runs in this process,
// the subscribers in a child process, and the forwarder in another.
//
//   - libzmq: C loops over libzmq PUB and SUB, and zmq_proxy(XSUB, XPUB);
//   - zrouter: packages pub and sub, and device.Forwarder over xsub and xpub;
//   - zrouter-p1: the same, with GOMAXPROCS=1 in every process (the
//     publisher's, the subscribers' and the forwarder's), as the README
//     recommends where zrouter shares a small machine with its peers;
//   - nats: nats-server (embedded in a child process of its own) with
//     nats.go clients, one connection per client; it has only the brokered
//     shape, which is the one in the forwarder scenarios. A subscription's
//     pending limits are the high-water mark (messages, and as many times the
//     message size in bytes): beyond them nats.go drops, as a SUB does.
//
// The matching scenarios put 100,000 subscriptions that match nothing
// ("topic-N/", N from 1) and one that matches ("topic-z/") on a direct PUB
// with one subscriber, against that subscriber with the one subscription.

// Fan-out kinds.
const (
	FanLibzmq    = "libzmq"
	FanZRouter   = "zrouter"
	FanZRouterP1 = "zrouter-p1"
	FanNATS      = "nats"
)

// FanKinds are the fan-out kinds, in round order.
var FanKinds = []string{FanLibzmq, FanZRouter, FanZRouterP1, FanNATS}

// fanZRouter lists the fan-out kinds that are zrouter: the targets are
// evaluated for each.
var fanZRouter = []string{FanZRouter, FanZRouterP1}

// fanStack returns the stack a kind runs, and the GOMAXPROCS its processes
// are to have (0: as the runtime sets itself up).
func fanStack(kind string) (stack string, procs int) {
	if kind == FanZRouterP1 {
		return FanZRouter, 1
	}
	return kind, 0
}

// FanoutGroup names the fan-out scenarios.
const FanoutGroup = "fanout"

// FanScenario is one fan-out workload.
type FanScenario struct {
	Name      string `json:"name"`
	Subs      int    `json:"subs"`
	Size      int    `json:"size"`
	Forwarder bool   `json:"forwarder"`
	// Extra is the number of subscriptions that match nothing, besides the
	// one that matches, all on the one subscriber (matching scenarios only);
	// -1 means the subscribers take everything (the empty subscription).
	Extra int `json:"extra"`
}

func (sc FanScenario) matching() bool { return sc.Extra >= 0 }

// kinds returns the kinds that run sc: NATS only where there is a broker,
// and not in the matching scenarios (its subjects are not prefixes).
func (sc FanScenario) kinds(want []string) []string {
	var out []string
	for _, k := range want {
		if k == FanNATS && (!sc.Forwarder || sc.matching()) {
			continue
		}
		out = append(out, k)
	}
	return out
}

// FanScenarios returns the fan-out scenarios: 1, 10 and 100 subscribers at
// 16 B and 1 KiB, direct and through the forwarder, then the two matching
// ones.
func FanScenarios() []FanScenario {
	var out []FanScenario
	for _, fwd := range []bool{false, true} {
		shape := "direct"
		if fwd {
			shape = "forwarder"
		}
		for _, n := range []int{1, 10, 100} {
			for _, size := range []int{16, 1024} {
				out = append(out, FanScenario{Name: fmt.Sprintf("%s-%s-%d-%s", FanoutGroup, shape, n, sizeLabel(size)),
					Subs: n, Size: size, Forwarder: fwd, Extra: -1})
			}
		}
	}
	for _, extra := range []int{0, 100_000} {
		out = append(out, FanScenario{Name: fmt.Sprintf("%s-match-%d", FanoutGroup, extra+1), Subs: 1, Size: 16, Extra: extra})
	}
	return out
}

// PickFanScenarios returns the scenarios whose names contain one of the
// comma-separated parts of names; all of them when names is empty.
func PickFanScenarios(all []FanScenario, names string) []FanScenario {
	return pickNamed(all, func(sc FanScenario) string { return sc.Name }, names)
}

// pickNamed returns the items of all whose name contains one of the
// comma-separated parts of names; all of them when names is empty.
func pickNamed[T any](all []T, name func(T) string, names string) []T {
	if names == "" {
		return all
	}
	var out []T
	for _, it := range all {
		for _, n := range strings.Split(names, ",") {
			if n != "" && strings.Contains(name(it), n) {
				out = append(out, it)
				break
			}
		}
	}
	return out
}

// FanOptions configures RunFanout.
type FanOptions struct {
	Scenarios []FanScenario
	Kinds     []string // FanKinds by default
	Rounds    int
	// Warmup is waited, after every subscriber has had a message, before the
	// window of Duration opens.
	Warmup, Duration time.Duration
	// Timeout bounds every start and stop.
	Timeout time.Duration
	// HWM is the high-water mark of every queue (SNDHWM and RCVHWM, nats.go's
	// pending messages).
	HWM int
	// CPUProfile, when set, makes the zrouter forwarder write a CPU profile
	// of each run to CPUProfile-<scenario>.pprof, the zrouter subscribers'
	// process to CPUProfile-<scenario>-subs.pprof, and this process, where
	// the publisher runs, to CPUProfile-<scenario>-pub.pprof; zrouter-p1's
	// to CPUProfile-p1-<scenario>.pprof and so on.
	CPUProfile string
	// Self runs this program as a child process, with arguments that it must
	// pass to FanChildMain (IsFanChild tells them).
	Self func(args []string) *exec.Cmd
	Log  io.Writer
}

// FanResult holds the rates of one scenario: for each kind, messages
// delivered per second in each round.
type FanResult struct {
	Scenario FanScenario          `json:"scenario"`
	Rates    map[string][]float64 `json:"rates"`
}

// Median returns the median rate of kind, or 0.
func (r *FanResult) Median(kind string) float64 { return median(r.Rates[kind]) }

// RunFanout runs every fan-out scenario of o, each kind once per round.
func RunFanout(ctx context.Context, o *FanOptions) ([]*FanResult, error) {
	kinds := o.Kinds
	if len(kinds) == 0 {
		kinds = FanKinds
	}
	var out []*FanResult
	for _, sc := range o.Scenarios {
		res := &FanResult{Scenario: sc, Rates: map[string][]float64{}}
		out = append(out, res)
		logTo(o.Log, "== %s: 1 PUB x %d SUB, %s, forwarder %v", sc.Name, sc.Subs, sizeLabel(sc.Size), sc.Forwarder)
		for round := range max(o.Rounds, 1) {
			for _, k := range sc.kinds(kinds) {
				if err := ctx.Err(); err != nil {
					return out, err
				}
				rate, err := runFan(o, k, sc)
				if err != nil {
					return out, fmt.Errorf("%s %s: %w", sc.Name, k, err)
				}
				res.Rates[k] = append(res.Rates[k], rate)
				logTo(o.Log, "round %d %-8s %12.0f msg/s delivered", round+1, k, rate)
			}
		}
	}
	return out, nil
}

const fanChildFlag = "-fanout-child"

// IsFanChild reports whether args are those of a fan-out child process.
func IsFanChild(args []string) bool { return len(args) > 0 && args[0] == fanChildFlag }

// fanPayload is the message the publisher sends: size bytes, starting with
// the matching topic in the matching scenarios.
func fanPayload(sc FanScenario) []byte {
	b := make([]byte, sc.Size)
	for i := range b {
		b[i] = 'p'
	}
	if sc.matching() {
		copy(b, matchTopic)
	}
	return b
}

// matchTopic is the subscription that matches, in the matching scenarios.
// It sorts after every "topic-N/": a SUB sends what it subscribed to before
// connecting in byte order, zrouter's and libzmq's alike, so that the
// first message comes, and the warm-up begins, only once the publisher
// has every subscription; the window then measures matching, and not the
// publisher taking in 100,000 subscriptions under the flood.
const matchTopic = "topic-z/"

// fanTopics returns the subscriptions of a subscriber: the non-matching
// ones first, the matching one last.
func fanTopics(sc FanScenario) [][]byte {
	if !sc.matching() {
		return [][]byte{nil}
	}
	out := make([][]byte, 0, sc.Extra+1)
	for i := 1; i <= sc.Extra; i++ {
		out = append(out, []byte("topic-"+strconv.Itoa(i)+"/"))
	}
	return append(out, []byte(matchTopic))
}

// child is a running child process and its output lines.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	errb  strings.Builder
	done  chan struct{}
}

// startChild starts self with args, and GOMAXPROCS=procs in its
// environment when procs is not 0.
func startChild(self func([]string) *exec.Cmd, args []string, procs int) (*child, error) {
	c := &child{cmd: self(args), lines: make(chan string, 4), done: make(chan struct{})}
	if procs != 0 {
		if c.cmd.Env == nil {
			c.cmd.Env = os.Environ()
		}
		c.cmd.Env = append(c.cmd.Env, "GOMAXPROCS="+strconv.Itoa(procs))
	}
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c.cmd.Stderr = &c.errb
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	return c, nil
}

// line waits for the child's next line starting with prefix.
func (c *child) line(prefix string, timeout time.Duration) ([]string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				return nil, fmt.Errorf("child ended before %s: %s", prefix, strings.TrimSpace(c.errb.String()))
			}
			if f := strings.Fields(l); len(f) > 0 && f[0] == prefix {
				return f[1:], nil
			}
		case <-t.C:
			return nil, fmt.Errorf("no %s from the child within %v", prefix, timeout)
		}
	}
}

// stop closes the child's input, which ends it, and waits for it.
func (c *child) stop(timeout time.Duration) error {
	_ = c.stdin.Close()
	select {
	case <-c.done:
	case <-time.After(timeout):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	if err := c.cmd.Wait(); err != nil {
		return fmt.Errorf("child: %w: %s", err, strings.TrimSpace(c.errb.String()))
	}
	return nil
}

// runFan runs one scenario once for kind and returns the delivered rate.
func runFan(o *FanOptions, kind string, sc FanScenario) (rate float64, err error) {
	if o.Self == nil {
		return 0, errors.New("bench: the fan-out needs child processes (FanOptions.Self)")
	}
	stack, procs := fanStack(kind)
	if procs != 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	}
	hwm := strconv.Itoa(o.HWM)
	// profile names the CPU profile of one of the run's processes, or is
	// "" when it is not profiled: only zrouter's are, with each kind's
	// profiles apart.
	profile := func(part string) string {
		switch {
		case o.CPUProfile == "" || kind != FanZRouter && kind != FanZRouterP1:
			return ""
		case kind == FanZRouterP1:
			return o.CPUProfile + "-p1-" + sc.Name + part + ".pprof"
		}
		return o.CPUProfile + "-" + sc.Name + part + ".pprof"
	}
	var front, back string
	if sc.Forwarder || kind == FanNATS {
		args := []string{fanChildFlag, "broker", "-kind", stack, "-hwm", hwm, "-procs", strconv.Itoa(procs)}
		if f := profile(""); f != "" {
			args = append(args, "-cpuprofile", f)
		}
		b, err := startChild(o.Self, args, procs)
		if err != nil {
			return 0, err
		}
		defer func() { err = errors.Join(err, b.stop(o.Timeout)) }()
		f, err := b.line("READY", o.Timeout)
		if err != nil {
			return 0, err
		}
		if len(f) != 2 {
			return 0, fmt.Errorf("broker said READY %v", f)
		}
		front, back = f[0], f[1]
	}
	p, err := startPublisher(stack, front, o.HWM, fanPayload(sc))
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, p.stop()) }()
	if back == "" {
		back = p.endpoint
	}
	subArgs := []string{fanChildFlag, "subs", "-kind", stack, "-procs", strconv.Itoa(procs), "-subs", strconv.Itoa(sc.Subs),
		"-size", strconv.Itoa(sc.Size), "-extra", strconv.Itoa(sc.Extra), "-endpoint", back, "-hwm", hwm,
		"-warmup", o.Warmup.String(), "-duration", o.Duration.String(), "-timeout", o.Timeout.String()}
	if f := profile("-subs"); f != "" {
		subArgs = append(subArgs, "-cpuprofile", f)
	}
	s, err := startChild(o.Self, subArgs, procs)
	if err != nil {
		return 0, err
	}
	// The publisher starts once the subscribers are connected, so that
	// connecting does not compete with a flood.
	if _, err := s.line("CONNECTED", o.Timeout); err != nil {
		return 0, errors.Join(err, s.stop(o.Timeout))
	}
	stopProfile := func() {}
	if f := profile("-pub"); f != "" {
		if stopProfile, err = startProfile(f); err != nil {
			return 0, errors.Join(err, s.stop(o.Timeout))
		}
	}
	p.start()
	f, lerr := s.line("DONE", o.Timeout+o.Warmup+o.Duration+o.Timeout)
	stopProfile()
	// The publisher stops before the subscribers close: closing them
	// under a flood measures nothing, and a process of 100 subscribers
	// that are all busy reading takes its time to close one.
	perr := p.stop()
	p.stop = func() error { return nil }
	if err := errors.Join(lerr, perr, s.stop(o.Timeout)); err != nil {
		return 0, err
	}
	if len(f) != 2 {
		return 0, fmt.Errorf("subscribers said DONE %v", f)
	}
	n, err1 := strconv.ParseUint(f[0], 10, 64)
	ns, err2 := strconv.ParseInt(f[1], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	if n == 0 || ns <= 0 {
		return 0, fmt.Errorf("%w: %d messages delivered in %d ns", ErrBadReply, n, ns)
	}
	return float64(n) / time.Duration(ns).Seconds(), nil
}

// publisher is the sending side of a run, in this process.
type publisher struct {
	endpoint string        // where subscribers connect, when it binds
	run      chan struct{} // closed by start
	quit     chan struct{} // closed when stopping
	stop     func() error
}

// start lets the publisher send.
func (p *publisher) start() { close(p.run) }

// wait waits for start or quit; it reports whether to send.
func (p *publisher) wait() bool {
	select {
	case <-p.run:
		return true
	case <-p.quit:
		return false
	}
}

// startPublisher starts a publisher of kind that sends msg as fast as it
// can: connected to front when it is set, else bound to a loopback port.
func startPublisher(kind, front string, hwm int, msg []byte) (*publisher, error) {
	switch kind {
	case FanZRouter:
		return startZPub(front, hwm, msg)
	case FanLibzmq:
		return startCPub(front, hwm, msg)
	case FanNATS:
		return startNATSPub(front, msg)
	}
	return nil, fmt.Errorf("bench: unknown fan-out kind %q", kind)
}

func startZPub(front string, hwm int, msg []byte) (*publisher, error) {
	p, err := pub.New(socket.WithLinger(0), socket.WithSendHWM(hwm))
	if err != nil {
		return nil, err
	}
	pb := &publisher{run: make(chan struct{}), quit: make(chan struct{})}
	if front != "" {
		err = p.Connect(front)
	} else if err = p.Bind("tcp://127.0.0.1:0"); err == nil {
		pb.endpoint = p.Addr()
	}
	if err != nil {
		return nil, errors.Join(err, p.Close())
	}
	var stopped atomic.Bool
	errc := make(chan error, 1)
	go func() {
		ctx := context.Background()
		if !pb.wait() {
			errc <- nil
			return
		}
		for !stopped.Load() {
			m := wire.Get()
			m.AppendFrame(msg)
			if err := p.Send(ctx, m); err != nil {
				m.Release()
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	pb.stop = func() error {
		stopped.Store(true)
		close(pb.quit)
		return errors.Join(<-errc, p.Close())
	}
	return pb, nil
}

func startCPub(front string, hwm int, msg []byte) (*publisher, error) {
	zctx, err := zmqc.NewContext()
	if err != nil {
		return nil, err
	}
	s, err := zctx.Socket(zmqc.PUB)
	if err != nil {
		return nil, errors.Join(err, zctx.Term())
	}
	pb := &publisher{run: make(chan struct{}), quit: make(chan struct{})}
	err = errors.Join(s.SetInt(zmqc.Linger, 0), s.SetInt(zmqc.SndHWM, hwm))
	if err == nil {
		if front != "" {
			err = s.Connect(front)
		} else {
			pb.endpoint, err = s.Bind("tcp://127.0.0.1:*")
		}
	}
	if err != nil {
		return nil, errors.Join(err, s.Close(), zctx.Term())
	}
	f := zmqc.NewFlag()
	errc := make(chan error, 1)
	go func() {
		if !pb.wait() {
			errc <- nil
			return
		}
		errc <- zmqc.Pub(s, msg, f)
	}()
	pb.stop = func() error {
		close(pb.quit)
		f.Stop()
		err := <-errc
		f.Free()
		return errors.Join(err, s.Close(), zctx.Term())
	}
	return pb, nil
}

// FanChildMain runs a child process of the fan-out: the broker (a forwarder
// or nats-server), which prints "READY FRONTEND BACKEND" and runs until its
// standard input ends, or the subscribers, which connect, count, print
// "DONE DELIVERED NANOSECONDS" for the window and wait for their standard
// input to end.
func FanChildMain(args []string, out io.Writer) error {
	if !IsFanChild(args) || len(args) < 2 {
		return errors.New("bench: not a fan-out child")
	}
	role := args[1]
	fs := flag.NewFlagSet("fanout-"+role, flag.ContinueOnError)
	kind := fs.String("kind", "", "libzmq, zrouter or nats")
	hwm := fs.Int("hwm", 10000, "high-water mark")
	var sc FanScenario
	fs.IntVar(&sc.Subs, "subs", 1, "subscribers")
	fs.IntVar(&sc.Size, "size", 16, "message size")
	fs.IntVar(&sc.Extra, "extra", -1, "non-matching subscriptions; -1: subscribe to everything")
	ep := fs.String("endpoint", "", "where the subscribers connect")
	warmup := fs.Duration("warmup", 200*time.Millisecond, "warm-up")
	duration := fs.Duration("duration", 600*time.Millisecond, "window")
	timeout := fs.Duration("timeout", 10*time.Second, "longest wait")
	profile := fs.String("cpuprofile", "", "write the child's CPU profile (the zrouter forwarder's or subscribers') to FILE")
	procs := fs.Int("procs", 0, "the GOMAXPROCS the child must have, or 0")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	if got := runtime.GOMAXPROCS(0); *procs != 0 && got != *procs {
		return fmt.Errorf("bench: fan-out child runs with GOMAXPROCS %d, want %d", got, *procs)
	}
	if role != "broker" && role != "subs" {
		return fmt.Errorf("bench: unknown fan-out role %q", role)
	}
	if *profile != "" {
		stop, err := startProfile(*profile)
		if err != nil {
			return err
		}
		defer stop()
	}
	if role == "broker" {
		return fanBroker(*kind, *hwm, out)
	}
	return fanSubs(*kind, sc, *ep, *hwm, *warmup, *duration, *timeout, out)
}

// waitInput blocks until standard input ends.
func waitInput() { _, _ = io.Copy(io.Discard, os.Stdin) }

func fanBroker(kind string, hwm int, out io.Writer) error {
	switch kind {
	case FanZRouter:
		return zrouterForwarder(hwm, out)
	case FanLibzmq:
		return libzmqForwarder(hwm, out)
	case FanNATS:
		return natsBroker(out)
	}
	return fmt.Errorf("bench: unknown fan-out kind %q", kind)
}

func zrouterForwarder(hwm int, out io.Writer) (err error) {
	hw := []socket.Option{socket.WithLinger(0), socket.WithSendHWM(hwm), socket.WithRecvHWM(hwm)}
	xs, err := xsub.New(hw...)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, xs.Close()) }()
	xp, err := xpub.New(hw...)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, xp.Close()) }()
	if err := errors.Join(xs.Bind("tcp://127.0.0.1:0"), xp.Bind("tcp://127.0.0.1:0")); err != nil {
		return err
	}
	fwd, err := device.NewForwarder(xs, xp)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- fwd.Run(ctx) }()
	fmt.Fprintf(out, "READY %s %s\n", xs.Addr(), xp.Addr())
	waitInput()
	cancel()
	if err := <-errc; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func libzmqForwarder(hwm int, out io.Writer) (err error) {
	zctx, err := zmqc.NewContext()
	if err != nil {
		return err
	}
	var socks []*zmqc.Socket
	defer func() {
		for _, s := range socks {
			err = errors.Join(err, s.Close())
		}
		err = errors.Join(err, zctx.Term())
	}()
	var eps []string
	for _, t := range []zmqc.Type{zmqc.XSUB, zmqc.XPUB} {
		s, err := zctx.Socket(t)
		if err != nil {
			return err
		}
		socks = append(socks, s)
		if err := errors.Join(s.SetInt(zmqc.Linger, 0), s.SetInt(zmqc.SndHWM, hwm), s.SetInt(zmqc.RcvHWM, hwm)); err != nil {
			return err
		}
		ep, err := s.Bind("tcp://127.0.0.1:*")
		if err != nil {
			return err
		}
		eps = append(eps, ep)
	}
	errc := make(chan error, 1)
	go func() { errc <- zmqc.Proxy(socks[0], socks[1]) }()
	fmt.Fprintf(out, "READY %s %s\n", eps[0], eps[1])
	waitInput()
	return errors.Join(zctx.Shutdown(), <-errc)
}

// counter is one subscriber's count, on a cache line of its own.
type counter struct {
	n atomic.Uint64
	_ [56]byte
}

// subSet is the subscribers of a run: their counts, and how to stop them.
type subSet struct {
	counts func() (total uint64, least uint64)
	stop   func() error
}

func fanSubs(kind string, sc FanScenario, ep string, hwm int, warmup, duration, timeout time.Duration, out io.Writer) error {
	var set *subSet
	var err error
	switch kind {
	case FanZRouter:
		set, err = zrouterSubs(sc, ep, hwm)
	case FanLibzmq:
		set, err = libzmqSubs(sc, ep, hwm)
	case FanNATS:
		set, err = natsSubs(sc, ep, hwm)
	default:
		err = fmt.Errorf("bench: unknown fan-out kind %q", kind)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "CONNECTED")
	// Every subscriber has joined when it has had a message.
	deadline := time.Now().Add(timeout)
	for {
		if _, least := set.counts(); least > 0 {
			break
		}
		if time.Now().After(deadline) {
			return errors.Join(fmt.Errorf("bench: a subscriber had no message within %v", timeout), set.stop())
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(warmup)
	c0, _ := set.counts()
	t0 := time.Now()
	time.Sleep(duration)
	c1, _ := set.counts()
	// A loaded machine can stall the whole chain for a short window: it
	// then lasts until a message has come in it, up to the timeout, so
	// that a rate is never zero for want of time.
	for c1 == c0 && time.Since(t0) < timeout {
		time.Sleep(time.Millisecond)
		c1, _ = set.counts()
	}
	d := time.Since(t0)
	fmt.Fprintf(out, "DONE %d %d\n", c1-c0, d.Nanoseconds())
	waitInput() // the publisher stops meanwhile
	return set.stop()
}

func sumCounts(cs []counter) (total, least uint64) {
	for i := range cs {
		n := cs[i].n.Load()
		total += n
		if i == 0 || n < least {
			least = n
		}
	}
	return total, least
}

func zrouterSubs(sc FanScenario, ep string, hwm int) (*subSet, error) {
	cs := make([]counter, sc.Subs)
	subs := make([]*sub.Sub, 0, sc.Subs)
	var stopping atomic.Bool
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	closeAll := func() error {
		stopping.Store(true)
		// All at once: a process of 100 subscribers busy reading takes its
		// time to schedule each one's reader to its end, and one at a time
		// those times add up.
		cerrs := make([]error, len(subs))
		var cwg sync.WaitGroup
		for i, s := range subs {
			cwg.Go(func() { cerrs[i] = s.Close() })
		}
		cwg.Wait()
		err := errors.Join(cerrs...)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return errors.Join(append(errs, err)...)
	}
	topics := fanTopics(sc)
	for i := range sc.Subs {
		s, err := sub.New(socket.WithRecvHWM(hwm))
		if err != nil {
			return nil, errors.Join(err, closeAll())
		}
		subs = append(subs, s)
		for _, t := range topics {
			s.Subscribe(t)
		}
		if err := s.Connect(ep); err != nil {
			return nil, errors.Join(err, closeAll())
		}
		wg.Go(func() {
			ctx := context.Background()
			for {
				m, err := s.Recv(ctx)
				if err != nil {
					if !stopping.Load() {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
					return
				}
				ok := len(m.Frames) == 1 && len(m.Frames[0]) == sc.Size
				m.Release()
				if !ok {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%w: not one frame of %d bytes", ErrBadReply, sc.Size))
					mu.Unlock()
					return
				}
				cs[i].n.Add(1)
			}
		})
	}
	return &subSet{counts: func() (uint64, uint64) { return sumCounts(cs) }, stop: closeAll}, nil
}

func libzmqSubs(sc FanScenario, ep string, hwm int) (*subSet, error) {
	zctx, err := zmqc.NewContext()
	if err != nil {
		return nil, err
	}
	var socks []*zmqc.Socket
	var flags []*zmqc.Flag
	var wg sync.WaitGroup
	errc := make(chan error, sc.Subs)
	closeAll := func() error {
		for _, f := range flags {
			f.Stop()
		}
		wg.Wait()
		close(errc)
		var err error
		for e := range errc {
			err = errors.Join(err, e)
		}
		for _, f := range flags {
			f.Free()
		}
		for _, s := range socks {
			err = errors.Join(err, s.Close())
		}
		return errors.Join(err, zctx.Term())
	}
	topics := fanTopics(sc)
	for range sc.Subs {
		s, err := zctx.Socket(zmqc.SUB)
		if err != nil {
			return nil, errors.Join(err, closeAll())
		}
		socks = append(socks, s)
		// libzmq's SUB sends what it subscribed to before connecting
		// through its outbound pipe, and drops what SNDHWM does not let
		// in (xsub_t::send_subscription): without a bound, the publisher
		// has all 100,001 of a matching scenario, as zrouter's has.
		err = errors.Join(s.SetInt(zmqc.Linger, 0), s.SetInt(zmqc.RcvHWM, hwm), s.SetInt(zmqc.SndHWM, 0),
			s.SetInt(zmqc.RcvTimeo, 100))
		for _, t := range topics {
			err = errors.Join(err, s.Subscribe(t))
		}
		if err == nil {
			err = s.Connect(ep)
		}
		if err != nil {
			return nil, errors.Join(err, closeAll())
		}
		f := zmqc.NewFlag()
		flags = append(flags, f)
		wg.Go(func() {
			if err := zmqc.Sub(s, sc.Size, f); err != nil {
				errc <- err
			}
		})
	}
	counts := func() (total, least uint64) {
		for i, f := range flags {
			n := f.Load()
			total += n
			if i == 0 || n < least {
				least = n
			}
		}
		return total, least
	}
	return &subSet{counts: counts, stop: closeAll}, nil
}
