package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"time"

	"github.com/zrouter/zrouter/interop/internal/servers"
	"github.com/zrouter/zrouter/interop/internal/zmqc"
)

// Sample is one measured run of one server.
type Sample struct {
	Round int `json:"round"`
	// Msgs is the number of replies the clients received and checked.
	Msgs uint64 `json:"msgs"`
	// Seconds is the length of the run.
	Seconds float64 `json:"seconds"`
	// CPUSeconds is the user and system time the server process used
	// during the run.
	CPUSeconds float64 `json:"cpu_seconds"`
	// P50Micros and P99Micros are round-trip percentiles (latency runs).
	P50Micros float64 `json:"p50_us,omitempty"`
	P99Micros float64 `json:"p99_us,omitempty"`
	// RSSBefore and RSSIdle are the server's resident set before and after
	// the idle peers connected, in bytes (idle runs).
	RSSBefore int64 `json:"rss_before,omitempty"`
	RSSIdle   int64 `json:"rss_idle,omitempty"`
	// ClientCPUSeconds is the user and system time this process, which
	// runs the clients (and the broker scenario's workers), used during the
	// run.
	ClientCPUSeconds float64 `json:"client_cpu_seconds,omitempty"`
	// OtherCPU is the CPU the rest of the machine used during the run,
	// in cores: everything but the server and the harness (whose clients
	// and workers are part of the measurement). It tells how quiet the
	// machine was.
	OtherCPU float64 `json:"other_cpu_cores"`
}

// MsgsPerSec is the run's throughput.
func (s Sample) MsgsPerSec() float64 { return float64(s.Msgs) / s.Seconds }

// CPUMicrosPerMsg is the server's CPU time per message.
func (s Sample) CPUMicrosPerMsg() float64 { return s.CPUSeconds * 1e6 / float64(s.Msgs) }

// ClientCPUMicrosPerMsg is the clients' CPU time per message.
func (s Sample) ClientCPUMicrosPerMsg() float64 { return s.ClientCPUSeconds * 1e6 / float64(s.Msgs) }

// ServerResult is one server's samples in one scenario and their medians.
type ServerResult struct {
	Kind    string   `json:"kind"`
	Samples []Sample `json:"samples"`

	MsgsPerSec      float64 `json:"msgs_per_sec"`
	MBPerSec        float64 `json:"mb_per_sec"`
	CPUMicrosPerMsg float64 `json:"cpu_us_per_msg"`
	// ClientCPUMicrosPerMsg is what the clients spent per message: a
	// server's way of writing can make its clients cheaper or dearer.
	ClientCPUMicrosPerMsg float64 `json:"client_cpu_us_per_msg,omitempty"`
	P50Micros             float64 `json:"p50_us,omitempty"`
	P99Micros             float64 `json:"p99_us,omitempty"`
	// RSSPerIdleKiB is the growth of the server's RSS per idle peer.
	RSSPerIdleKiB float64 `json:"rss_per_idle_kib,omitempty"`
}

// ScenarioResult is the outcome of one scenario.
type ScenarioResult struct {
	Scenario
	Servers []*ServerResult `json:"servers"`
	// Note says what is missing from the scenario, such as a server that
	// could not be run.
	Note string `json:"note,omitempty"`
	// Failed is the error that stopped the scenario.
	Failed string `json:"failed,omitempty"`
}

// Server returns the result of the server of the given kind, or nil.
func (r *ScenarioResult) Server(kind string) *ServerResult {
	for _, s := range r.Servers {
		if s.Kind == kind {
			return s
		}
	}
	return nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// percentile returns the p-th percentile (0 < p < 100) of ds, in
// microseconds, by the nearest-rank method.
func percentile(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	i = min(max(i, 0), len(s)-1)
	return float64(s[i]) / float64(time.Microsecond)
}

// summarize fills in the medians from the samples of a scenario with
// messages of size bytes and idle idle peers.
func (r *ServerResult) summarize(size, idle int) {
	if len(r.Samples) == 0 {
		return
	}
	var tp, cpu, ccpu, p50, p99, rss []float64
	for _, s := range r.Samples {
		tp = append(tp, s.MsgsPerSec())
		cpu = append(cpu, s.CPUMicrosPerMsg())
		ccpu = append(ccpu, s.ClientCPUMicrosPerMsg())
		p50 = append(p50, s.P50Micros)
		p99 = append(p99, s.P99Micros)
		if idle > 0 {
			rss = append(rss, float64(s.RSSIdle-s.RSSBefore)/1024/float64(idle))
		}
	}
	r.MsgsPerSec = median(tp)
	r.MBPerSec = r.MsgsPerSec * float64(size) / 1e6
	r.CPUMicrosPerMsg = median(cpu)
	r.ClientCPUMicrosPerMsg = median(ccpu)
	r.P50Micros = median(p50)
	r.P99Micros = median(p99)
	r.RSSPerIdleKiB = median(rss)
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// Run runs every scenario of o and returns the results. It stops at the
// first error: a server that fails, or a reply that is wrong.
func Run(ctx context.Context, o *Options) ([]*ScenarioResult, error) {
	if o.ClientKeepFreed > 0 {
		if err := zmqc.KeepFreedMemory(o.ClientKeepFreed); err != nil {
			return nil, err
		}
	}
	if n := o.needCurve(); n > 0 && o.Curve == nil {
		if !zmqc.HasCurve() {
			return nil, errors.New("bench: this libzmq has no CURVE")
		}
		keys, err := NewCurveKeys(n)
		if err != nil {
			return nil, err
		}
		o.Curve = keys
	}
	var out []*ScenarioResult
	for _, sc := range o.Scenarios {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		res := &ScenarioResult{Scenario: sc}
		out = append(out, res)
		o.logf("== %s: %s", sc.Name, sc.Title)
		var err error
		if sc.Broker && o.ZRouterBin == "" {
			res.Note = o.ZRouterMissing + "; only libzmq's zmq_proxy was measured."
			o.logf("%s", res.Note)
		}
		if sc.Idle > 0 {
			err = runIdle(ctx, o, res)
		} else {
			err = runShared(ctx, o, res)
		}
		if err != nil {
			res.Failed = err.Error()
			return out, fmt.Errorf("%s: %w", sc.Name, err)
		}
		for _, s := range res.Servers {
			s.summarize(sc.Size, sc.Idle)
		}
	}
	return out, nil
}

// kinds returns the servers of a scenario.
func (o *Options) kinds(sc Scenario) []string {
	if sc.Broker {
		if o.ZRouterBin == "" {
			return []string{LibzmqProxy}
		}
		return []string{ZRouterBroker, ZRouterBrokerP1, LibzmqProxy}
	}
	if sc.ReqRep {
		return servers.RepKinds
	}
	if sc.IPC {
		if o.IPCServers == nil {
			return DefaultIPCServers
		}
		return o.IPCServers
	}
	if sc.Curve {
		if o.CurveServers == nil {
			return DefaultCurveServers
		}
		return o.CurveServers
	}
	return o.Servers
}

// start starts the server of the given kind for scenario sc.
func (o *Options) start(kind string, sc Scenario) (*server, error) {
	cmd, addrs, err := o.serverCmd(kind, sc)
	if err != nil {
		return nil, err
	}
	if slices.Contains(oneProc, kind) {
		if cmd.Env == nil {
			cmd.Env = os.Environ()
		}
		cmd.Env = append(cmd.Env, "GOMAXPROCS=1")
	}
	return startServer(kind, cmd, addrs, addrs == nil, o.Timeout)
}

// serverCmd returns the command of a server, and the addresses to wait on
// when it does not print a READY line.
func (o *Options) serverCmd(kind string, sc Scenario) (*exec.Cmd, []string, error) {
	switch kind {
	case ZRouterBroker, ZRouterBrokerP1:
		front, err := freePort()
		if err != nil {
			return nil, nil, err
		}
		back, err := freePort()
		if err != nil {
			return nil, nil, err
		}
		addrs := []string{front, back}
		return exec.Command(o.ZRouterBin, "broker", "--frontend", front, "--backend", back), addrs, nil
	case LibzmqProxy:
		// libzmq's default high-water mark, as the zrouter CLI uses its
		// own default; REQ clients keep one request in flight anyway.
		c := Child{Kind: kind, Addrs: []string{"tcp://127.0.0.1:0", "tcp://127.0.0.1:0"}, HWM: 1000}
		return o.Self(c.Args()), nil, nil
	}
	c := Child{Kind: kind, Addrs: []string{sc.bindAddr()}, HWM: o.HWM}
	if o.CPUProfile != "" && slices.Contains(profiled, kind) {
		c.CPUProfile = fmt.Sprintf("%s-%s-%s.pprof", o.CPUProfile, kind, sc.Name)
	}
	if servers.IsCurve(kind) {
		if o.Curve == nil {
			return nil, nil, fmt.Errorf("bench: %s needs CURVE keys", kind)
		}
		c.CurveSecret = o.Curve.Server.Secret
		if o.CurveAuth {
			c.CurveAllow = o.Curve.publics()
		}
	}
	cmd := o.Self(c.Args())
	env := c.Env()
	if sc.IPC {
		env = append(env, ipcEnv()...)
	}
	if len(env) > 0 {
		if cmd.Env == nil {
			cmd.Env = os.Environ()
		}
		cmd.Env = append(cmd.Env, env...)
	}
	return cmd, nil, nil
}

// runShared starts one process per server for the whole scenario, then
// runs the rounds.
func runShared(ctx context.Context, o *Options, res *ScenarioResult) (err error) {
	sc := res.Scenario
	var procs []*server
	defer func() {
		for _, p := range procs {
			if serr := p.stop(o.Timeout); err == nil {
				err = serr
			}
		}
	}()
	for _, kind := range o.kinds(sc) {
		p, err := o.start(kind, sc)
		if err != nil {
			return err
		}
		procs = append(procs, p)
		res.Servers = append(res.Servers, &ServerResult{Kind: kind})
	}
	for round := range o.Rounds {
		for i, p := range procs {
			if err := ctx.Err(); err != nil {
				return err
			}
			s, err := measure(o, sc, p, round)
			if err != nil {
				return err
			}
			res.Servers[i].Samples = append(res.Servers[i].Samples, s)
		}
	}
	return nil
}

// runIdle starts a fresh server for every run: it connects the idle peers,
// reads the RSS growth, then measures the active clients.
func runIdle(ctx context.Context, o *Options, res *ScenarioResult) error {
	sc := res.Scenario
	for _, kind := range o.kinds(sc) {
		res.Servers = append(res.Servers, &ServerResult{Kind: kind})
	}
	for round := range o.IdleRounds {
		for i, kind := range o.kinds(sc) {
			if err := ctx.Err(); err != nil {
				return err
			}
			s, err := measureIdle(o, sc, kind, round)
			if err != nil {
				return err
			}
			res.Servers[i].Samples = append(res.Servers[i].Samples, s)
		}
	}
	return nil
}

func measureIdle(o *Options, sc Scenario, kind string, round int) (s Sample, err error) {
	p, err := o.start(kind, sc)
	if err != nil {
		return s, err
	}
	var idle idlePeers
	defer func() {
		// Stop the server before the idle peers hang up: the side that
		// closes first keeps TIME_WAIT, and thousands of client ports in
		// TIME_WAIT would soon leave none free for the next run.
		t0 := time.Now()
		if serr := p.stop(o.Timeout); err == nil {
			err = serr
		}
		t1 := time.Now()
		if idle != nil {
			if cerr := idle.close(); err == nil {
				err = cerr
			}
		}
		o.logf("  %-15s server stopped in %v, idle peers closed in %v", kind,
			t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
	}()
	if s.RSSBefore, err = p.rss(); err != nil {
		return s, err
	}
	t0 := time.Now()
	if idle, err = connectIdle(kind, sc.Idle, p.addrs[0], o); err != nil {
		return s, withExit(p, err)
	}
	o.logf("  %-15s %d idle peers connected in %v", kind, sc.Idle, time.Since(t0).Round(time.Millisecond))
	time.Sleep(o.Settle)
	if s.RSSIdle, err = p.rss(); err != nil {
		return s, err
	}
	m, err := measure(o, sc, p, round)
	m.RSSBefore, m.RSSIdle = s.RSSBefore, s.RSSIdle
	return m, err
}

// withExit adds the server's fate to a client error.
func withExit(p *server, err error) error {
	if perr := p.exited(); perr != nil {
		return fmt.Errorf("%w (the %s server has exited: %v)", err, p.kind, perr)
	}
	return err
}

// maxAttempts bounds the runs measure makes while the rest of the machine
// is busier than Options.MaxOtherLoad, unless Options.MaxAttempts says
// otherwise.
const maxAttempts = 3

// attempts returns the most runs measure makes of one sample.
func (o *Options) attempts() int {
	if o.MaxAttempts > 0 {
		return o.MaxAttempts
	}
	return maxAttempts
}

// measure connects the scenario's clients to p, warms up, and measures one
// run; it measures again, up to o.attempts() times, while other processes
// take more than o.MaxOtherLoad cores.
func measure(o *Options, sc Scenario, p *server, round int) (s Sample, err error) {
	s.Round = round
	if sc.Broker {
		stop, err := startWorkers(sc.Workers, p.addrs[1], o)
		if err != nil {
			return s, withExit(p, err)
		}
		defer func() {
			if serr := stop(); err == nil {
				err = serr
			}
		}()
		if err := probeBroker(p.addrs[0], o); err != nil {
			return s, withExit(p, err)
		}
	}
	cl, err := newClients(p.kind, sc, p.addrs[0], o)
	if err != nil {
		return s, withExit(p, err)
	}
	defer func() {
		if cerr := cl.close(); err == nil {
			err = cerr
		}
	}()
	for attempt := 1; ; attempt++ {
		s, err = measureOnce(o, sc, p, cl)
		if err != nil || s.OtherCPU <= o.MaxOtherLoad || o.MaxOtherLoad <= 0 || attempt >= o.attempts() {
			break
		}
		o.logf("  %-16s round %d: %.2f cores of other load; measuring again", p.kind, round+1, s.OtherCPU)
		// Other work often comes in bursts longer than a run: give it
		// time to end.
		time.Sleep(o.BusyPause)
	}
	s.Round = round
	if err != nil {
		return s, err
	}
	unit := "msg"
	if sc.Handshake {
		unit = "handshake"
	}
	line := fmt.Sprintf("  %-16s round %d: %10.0f %ss/s  %7.2f µs CPU/%s  %7.2f µs client CPU/%s",
		p.kind, round+1, s.MsgsPerSec(), unit, s.CPUMicrosPerMsg(), unit, s.ClientCPUMicrosPerMsg(), unit)
	if sc.Latency {
		line += fmt.Sprintf("  p50 %.1f µs  p99 %.1f µs", s.P50Micros, s.P99Micros)
	}
	line += fmt.Sprintf("  (other load %.2f cores)", s.OtherCPU)
	o.logf("%s", line)
	return s, nil
}

// measureOnce warms the clients up and measures one run.
func measureOnce(o *Options, sc Scenario, p *server, cl clients) (s Sample, err error) {
	cfg := runConfig{Size: sc.Size, Window: sc.Window, Sample: sc.sample(), Duration: o.Warmup, Timeout: o.Timeout}
	if _, err := cl.run(cfg); err != nil {
		return s, withExit(p, fmt.Errorf("%s warm-up: %w", p.kind, err))
	}
	cfg.Duration = o.Duration
	cfg.Latency = sc.Latency
	load0, err := readLoad()
	if err != nil {
		return s, err
	}
	cpu0, err := p.cpu()
	if err != nil {
		return s, err
	}
	r, err := cl.run(cfg)
	if err != nil {
		return s, withExit(p, fmt.Errorf("%s: %w", p.kind, err))
	}
	cpu1, err := p.cpu()
	if err != nil {
		return s, err
	}
	load1, err := readLoad()
	if err != nil {
		return s, err
	}
	if r.Msgs == 0 {
		return s, fmt.Errorf("%s: no message echoed", p.kind)
	}
	s.Msgs = r.Msgs
	s.Seconds = r.Elapsed.Seconds()
	s.CPUSeconds = (cpu1 - cpu0).Seconds()
	s.ClientCPUSeconds = (load1.self - load0.self).Seconds()
	other := (load1.busy - load0.busy) - (load1.self - load0.self) - (cpu1 - cpu0)
	s.OtherCPU = max(other.Seconds(), 0) / s.Seconds
	if sc.Latency {
		s.P50Micros = percentile(r.RTTs, 50)
		s.P99Micros = percentile(r.RTTs, 99)
	}
	return s, nil
}
