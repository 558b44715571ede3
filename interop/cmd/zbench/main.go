package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/zrouter/zrouter/interop/internal/bench"
	"github.com/zrouter/zrouter/interop/internal/servers"
)

func main() {
	log.SetFlags(0)
	if bench.IsPipeChild(os.Args[1:]) {
		// The receivers of a pipeline run, started by the harness.
		log.SetPrefix("zbench pipe-recv: ")
		if err := bench.PipeChildMain(os.Args[1:], os.Stdout); err != nil {
			log.Fatal(err)
		}
		return
	}
	if bench.IsFanChild(os.Args[1:]) {
		// A forwarder, nats-server or the subscribers of a fan-out run.
		log.SetPrefix("zbench fanout: ")
		if err := bench.FanChildMain(os.Args[1:], os.Stdout); err != nil {
			log.Fatal(err)
		}
		return
	}
	if bench.IsChild(os.Args[1:]) {
		// A server or a set of idle peers, started by the harness.
		log.SetPrefix("zbench " + os.Args[2] + ": ")
		if err := bench.ChildMain(os.Args[1:]); err != nil {
			log.Fatal(err)
		}
		return
	}
	var (
		scenarios  = flag.String("scenarios", "all", "scenarios to run, comma separated: 1x16B,8x16B,8x1KiB,8x64KiB,latency,idle,broker,ipc-8x16B,ipc-8x1KiB,ipc-8x64KiB,curve-8x16B,curve-8x1KiB,curve-8x64KiB,curve-handshake,reqrep-latency,reqrep-latency-zreq; curve for the four CURVE ones, ipc for the three ipc ones, reqrep for the two REQ/REP ones")
		serverList = flag.String("servers", strings.Join(servers.Kinds, ","), "echo servers to compare, in round order")
		curveList  = flag.String("curve-servers", strings.Join(bench.DefaultCurveServers, ","), "servers of the CURVE scenarios, in round order (a NULL server gets NULL clients)")
		ipcList    = flag.String("ipc-servers", strings.Join(bench.DefaultIPCServers, ","), "servers of the ipc scenarios, in round order (those that have ipc)")
		curveAuth  = flag.Bool("curve-auth", true, "give the CURVE servers an allow-list of the clients' keys (zrouter: socket.AllowCurveKeys; libzmq: a ZAP handler in C); false: no authenticator, no ZAP handler")
		hsPar      = flag.Int("handshake-parallel", 8, "connections the curve-handshake scenario makes at once")
		rounds     = flag.Int("rounds", 5, "interleaved rounds per scenario")
		idleRounds = flag.Int("idle-rounds", 2, "rounds of the idle scenario (a fresh server each)")
		duration   = flag.Duration("duration", 600*time.Millisecond, "measured time per run")
		warmup     = flag.Duration("warmup", 200*time.Millisecond, "warm-up time before each measured run")
		scale      = flag.Float64("scale", 1, "multiply -duration and -warmup by this")
		settle     = flag.Duration("settle", 500*time.Millisecond, "pause after the idle peers connect before reading RSS")
		maxOther   = flag.Float64("max-other-load", 0.3, "measure a run again (up to -max-attempts times) when other processes used more than this many cores during it; 0: never")
		attempts   = flag.Int("max-attempts", 3, "most runs of one sample while the machine is busier than -max-other-load (the last is kept)")
		busyPause  = flag.Duration("busy-pause", 0, "pause before measuring a run again on a busy machine")
		timeout    = flag.Duration("timeout", 10*time.Second, "longest wait for a reply, a server start or stop")
		hwm        = flag.Int("hwm", 10000, "SNDHWM/RCVHWM of every ZeroMQ socket; must exceed the window")
		keepFreed  = flag.Int("client-keep-freed", 256<<20, "bytes of freed memory the libzmq clients' C allocator keeps instead of trimming (glibc M_TRIM_THRESHOLD); 0: glibc's default")
		idle       = flag.Int("idle", 10000, "idle peers in the idle scenario")
		idleProc   = flag.Int("idle-per-process", 5000, "idle peers per client process (each libzmq socket takes two file descriptors)")
		bClients   = flag.Int("broker-clients", 16, "REQ clients in the broker scenario")
		bWorkers   = flag.Int("broker-workers", 4, "REP workers in the broker scenario")
		zrBin      = flag.String("zrouter-bin", "", "zrouter CLI for the broker scenario (default: build it from -zrouter-src)")
		zrSrc      = flag.String("zrouter-src", "..", "the zrouter repository (its go.work), to build ./cmd/zrouter from")
		cpuProfile = flag.String("cpuprofile", "", "write CPU profiles of the zrouter echo servers to PREFIX-<kind>-<scenario>.pprof (with -fanout: of the zrouter forwarder, to PREFIX-<scenario>.pprof, of the zrouter subscribers, to PREFIX-<scenario>-subs.pprof, and of the zrouter publisher, to PREFIX-<scenario>-pub.pprof, zrouter-p1's to PREFIX-p1-<scenario>...; with -pushpull: of the zrouter receivers and senders, to PREFIX-<scenario>-recv.pprof and -send.pprof)")
		jsonOut    = flag.String("json", "", "write the full results as JSON to FILE")
		mdOut      = flag.String("md", "", "write the tables as markdown to FILE")
		svgOut     = flag.String("svg", "", "write a chart of throughput and CPU against message size to FILE")
		quiet      = flag.Bool("q", false, "do not log progress")
		pushpull   = flag.Bool("pushpull", false, "run the PUSH to PULL throughput scenarios instead (libzmq's local_thr/remote_thr shape): 1x1 and 4x4 at 16B, 1KiB and 64KiB, for libzmq, zrouter (as the runtime sets itself up and with GOMAXPROCS=1), each with the other, and raw TCP; -rounds, -scale, -timeout and -md apply")
		inproc     = flag.Bool("inproc", false, "run only the inproc comparison: a zrouter ROUTER and DEALER against libzmq's over inproc in C, in this process")
		inprocMsgs = flag.Int64("inproc-msgs", 1_000_000, "messages per inproc throughput run")
		inprocRTT  = flag.Int64("inproc-trips", 100_000, "round trips per inproc latency run")
		fairness   = flag.Bool("fairness", false, "run only the fairness benchmark: flooding libzmq DEALERs that never read against a light one, on the zrouter echo (as the runtime sets itself up and with GOMAXPROCS=1) and libzmq's; -rounds, -scale, -timeout and -md apply")
		memory     = flag.Bool("memory", false, "run only the memory benchmark: the echo servers' resident memory per connection stalled in a long command, and after bursts of 100,000-frame messages from peers that then go, for zrouter (as the runtime sets itself up and with GOMAXPROCS=1) and libzmq; -rounds, -scale, -timeout and -md apply")
		memoryFrom = flag.String("memory-servers", "", "with -memory: run the servers from this zbench binary, another build, instead of this one: its before and after in the same harness")
		fairRaw    = flag.Bool("fairness-raw", true, "the fairness benchmark's flooders are raw TCP connections (false: libzmq DEALERs, which send less)")
		fanout     = flag.Bool("fanout", false, "run only the PUB/SUB fan-out: one publisher to 1, 10 and 100 subscribers at 16B and 1KiB, direct and through a forwarder, for libzmq (C loops, zmq_proxy), zrouter (pub, sub, device.Forwarder; as the runtime sets itself up and with GOMAXPROCS=1 in every process) and NATS (nats-server in a child process, nats.go clients), then matching with 100,000 subscriptions that miss; -rounds, -warmup, -duration, -scale, -hwm, -timeout and -md apply")
		fanOnly    = flag.String("fanout-scenarios", "", "with -fanout: run only the scenarios whose names contain one of these, comma separated")
		pipeOnly   = flag.String("pushpull-scenarios", "", "with -pushpull: run only the scenarios whose names contain one of these, comma separated")
		fanKinds   = flag.String("fanout-kinds", "", "with -fanout: run only these kinds, comma separated: libzmq, zrouter, zrouter-p1 (GOMAXPROCS=1 in every zrouter process), nats")
		pipeKinds  = flag.String("pushpull-kinds", "", "with -pushpull: run only these kinds, comma separated: libzmq, zrouter, zrouter-p1 (GOMAXPROCS=1 in both processes), zrouter>libzmq, libzmq>zrouter, tcp, tcp-p1 (GOMAXPROCS=1 in both processes; the table needs libzmq, zrouter and tcp for its ratios)")
		fromJSON   = flag.String("report", "", "measure nothing: read a report written by -json from FILE, evaluate its targets again, and print and write it (to redraw -md and -svg)")
	)
	flag.Parse()
	log.SetPrefix("zbench: ")

	out := outputs{json: *jsonOut, md: *mdOut, svg: *svgOut}
	if *inproc {
		o := bench.InprocOptions{Sizes: []int{16, 1 << 10}, Rounds: *rounds, Msgs: *inprocMsgs, Trips: *inprocRTT,
			HWM: *hwm, CPUProfile: *cpuProfile}
		if !*quiet {
			o.Log = os.Stderr
		}
		if err := runInproc(o, out); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *fromJSON != "" {
		if err := rewrite(*fromJSON, out); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *memory {
		if err := runMemory(*rounds, *scale, *timeout, *memoryFrom, *quiet, *mdOut); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *fairness {
		if err := runFairness(*rounds, *scale, *timeout, *fairRaw, *quiet, *mdOut); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *fanout {
		o := &bench.FanOptions{Scenarios: bench.PickFanScenarios(bench.FanScenarios(), *fanOnly), Rounds: *rounds, HWM: *hwm, Timeout: *timeout,
			Warmup: time.Duration(float64(*warmup) * *scale), Duration: time.Duration(float64(*duration) * *scale),
			CPUProfile: *cpuProfile}
		if *fanKinds != "" {
			o.Kinds = strings.Split(*fanKinds, ",")
		}
		if err := runFanout(o, *quiet, *mdOut); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *pushpull {
		o := &bench.PipeOptions{Scenarios: bench.PickPipeScenarios(bench.PipeScenarios(*scale), *pipeOnly), Rounds: *rounds,
			Timeout: *timeout, CPUProfile: *cpuProfile}
		if *pipeKinds != "" {
			o.Kinds = strings.Split(*pipeKinds, ",")
		}
		if err := runPipeline(o, *quiet, *mdOut); err != nil {
			log.Fatal(err)
		}
		return
	}
	if _, err := bench.RaiseFileLimit(bench.FileLimit); err != nil {
		log.Printf("cannot raise the file limit: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	all := bench.Scenarios(*idle, *bClients, *bWorkers, *hsPar)
	picked, err := bench.FindScenarios(all, *scenarios)
	if err != nil {
		log.Fatal(err)
	}
	o := &bench.Options{
		Scenarios:       picked,
		Servers:         strings.Split(*serverList, ","),
		Rounds:          *rounds,
		IdleRounds:      *idleRounds,
		Warmup:          time.Duration(float64(*warmup) * *scale),
		Duration:        time.Duration(float64(*duration) * *scale),
		Settle:          *settle,
		Timeout:         *timeout,
		MaxOtherLoad:    *maxOther,
		MaxAttempts:     *attempts,
		BusyPause:       *busyPause,
		HWM:             *hwm,
		ClientKeepFreed: *keepFreed,
		CPUProfile:      *cpuProfile,
		IdlePerProcess:  *idleProc,
		CurveServers:    strings.Split(*curveList, ","),
		IPCServers:      strings.Split(*ipcList, ","),
		CurveAuth:       *curveAuth,
		Self:            func(args []string) *exec.Cmd { return exec.Command(self, args...) },
	}
	if !*quiet {
		o.Log = os.Stderr
	}
	if err := run(o, *zrBin, *zrSrc, out); err != nil {
		log.Fatal(err)
	}
}

// outputs are the files to write the report to; empty names are skipped.
type outputs struct{ json, md, svg string }

// run runs the benchmark that o describes, prints the report and writes it
// to the outputs. The zrouter CLI for the broker scenario is zrBin, or is
// built from zrSrc.
func run(o *bench.Options, zrBin, zrSrc string, out outputs) error {
	for _, sc := range o.Scenarios {
		if !sc.Broker {
			continue
		}
		o.ZRouterBin, o.ZRouterMissing = zrouterCLI(zrBin, zrSrc)
		if o.ZRouterMissing != "" {
			log.Printf("broker scenario without zrouter: %s", o.ZRouterMissing)
		}
		if o.ZRouterBin != "" && zrBin == "" {
			defer os.RemoveAll(filepath.Dir(o.ZRouterBin))
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := bench.CollectEnv()
	results, err := bench.Run(ctx, o)
	rep := bench.NewReport(env, o, "go run ./cmd/zbench "+strings.Join(os.Args[1:], " "), results)
	rep.WriteText(os.Stdout)
	if err != nil {
		return fmt.Errorf("run failed: %w", err)
	}
	return write(rep, out)
}

// rewrite reads a report saved with -json from name, evaluates its targets
// again (with this program's rules), prints it and writes it to the outputs.
func rewrite(name string, out outputs) error {
	b, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	var rep bench.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	rep.Targets = bench.Evaluate(rep.Scenarios)
	rep.WriteText(os.Stdout)
	return write(&rep, out)
}

// write writes rep to the outputs.
func write(rep *bench.Report, out outputs) error {
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{out.json, rep.WriteJSON},
		{out.md, func(w io.Writer) error { rep.WriteMarkdown(w); return nil }},
		{out.svg, rep.WriteSVG},
	} {
		if f.name == "" {
			continue
		}
		if err := writeFile(f.name, f.write); err != nil {
			return err
		}
	}
	return nil
}

// printTable prints a run's table, and writes it to md too when set and
// the run, whose error is runErr, did not fail.
func printTable(table func(io.Writer), runErr error, md string) error {
	table(os.Stdout)
	if runErr != nil {
		return fmt.Errorf("run failed: %w", runErr)
	}
	if md == "" {
		return nil
	}
	return writeFile(md, func(w io.Writer) error { table(w); return nil })
}

// printMachine prints the command line and the machine it ran on.
func printMachine() {
	env := bench.CollectEnv()
	fmt.Printf("go run ./cmd/zbench %s\n%s, libzmq %s, %s, %d cores\n\n", strings.Join(os.Args[1:], " "), env.CPUModel, env.Libzmq, env.GoVersion, env.NumCPU)
}

func writeFile(name string, write func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	return f.Close()
}

// zrouterCLI returns the zrouter CLI to run the broker with: bin when set,
// else one built from src/cmd/zrouter into a temporary directory. When
// there is none it returns why.
func zrouterCLI(bin, src string) (path, missing string) {
	if bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Sprintf("the zrouter CLI %s is not there: %v", bin, err)
		}
		return bin, ""
	}
	dir, err := os.MkdirTemp("", "zbench")
	if err != nil {
		return "", err.Error()
	}
	out := filepath.Join(dir, "zrouter")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/zrouter")
	cmd.Dir = src
	// cmd/zrouter is a module of its own, built against the library next
	// to it through the repository's workspace, whatever GOWORK says.
	if abs, err := filepath.Abs(filepath.Join(src, "go.work")); err == nil {
		cmd.Env = append(os.Environ(), "GOWORK="+abs)
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		first, _, _ := strings.Cut(strings.TrimSpace(string(msg)), "\n")
		return "", fmt.Sprintf("the zrouter CLI (cmd/zrouter) could not be built: %s", first)
	}
	return out, ""
}

// runPipeline runs the PUSH to PULL scenarios and prints their table, also
// to md when it is set.
func runPipeline(o *bench.PipeOptions, quiet bool, md string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	o.Self = func(args []string) *exec.Cmd { return exec.Command(self, args...) }
	if !quiet {
		o.Log = os.Stderr
	}
	results, err := bench.RunPipeline(ctx, o)
	fmt.Printf("go run ./cmd/zbench %s\n\n", strings.Join(os.Args[1:], " "))
	bench.PipeMarkdown(os.Stdout, results)
	if err != nil {
		return fmt.Errorf("run failed: %w", err)
	}
	if md == "" {
		return nil
	}
	return writeFile(md, func(w io.Writer) error { bench.PipeMarkdown(w, results); return nil })
}

// runInproc runs the inproc comparison, prints its table and writes it to
// the markdown and JSON outputs.
func runInproc(o bench.InprocOptions, out outputs) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := bench.CollectEnv()
	rs, err := bench.RunInproc(ctx, o)
	if err != nil {
		return err
	}
	fmt.Printf("inproc, %d rounds, %s, libzmq %s, %s, %d cores\n\n", o.Rounds, env.CPUModel, env.Libzmq, env.GoVersion, env.NumCPU)
	bench.WriteInproc(os.Stdout, rs)
	if out.md != "" {
		f, err := os.Create(out.md)
		if err != nil {
			return err
		}
		bench.WriteInproc(f, rs)
		if err := f.Close(); err != nil {
			return err
		}
	}
	if out.json != "" {
		b, err := json.MarshalIndent(struct {
			Env    bench.Env            `json:"env"`
			Inproc []bench.InprocResult `json:"inproc"`
		}{env, rs}, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(out.json, b, 0o644)
	}
	return nil
}
