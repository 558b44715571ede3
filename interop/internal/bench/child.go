package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zrouter/zrouter/interop/internal/servers"
)

// FileLimit is the RLIMIT_NOFILE the harness and its children ask for: idle
// libzmq DEALERs take two descriptors each.
const FileLimit = 1 << 17

// Child describes what a child process of the harness runs: a server (Kind
// is a servers kind), a set of idle peers (Kind idle-zmq or idle-raw), or
// flooding peers (Kind flood-zmq or flood-raw: N of them, with messages of
// Batch bytes).
type Child struct {
	Kind  string
	Addrs []string
	// HWM is the servers' high-water mark.
	HWM int
	// N idle peers, numbered from First, connecting Batch at a time, each
	// waiting at most Timeout for its echo.
	N       int
	First   int
	Batch   int
	Timeout time.Duration
	// CPUProfile is the file a server writes its CPU profile to.
	CPUProfile string
	// HeapFile is the file a server writes its live heap to, in bytes,
	// after a collection, at each SIGUSR1 (the memory benchmark).
	HeapFile string
	// CurveSecret is a CURVE server's secret key in Z85. It travels in
	// the child's environment (Env), not on its command line, which every
	// user of the machine may read.
	CurveSecret string
	// CurveAllow are the public keys a CURVE server lets in.
	CurveAllow []string
}

// curveSecretEnv carries Child.CurveSecret to the child.
const curveSecretEnv = "ZBENCH_CURVE_SECRET"

// Env returns the environment variables, NAME=VALUE, that the child needs
// on top of the harness's own: its CURVE secret key, if any.
func (c Child) Env() []string {
	if c.CurveSecret == "" {
		return nil
	}
	return []string{curveSecretEnv + "=" + c.CurveSecret}
}

// Args returns the command line that describes c, for ChildMain; it
// starts with "-serve".
func (c Child) Args() []string {
	args := []string{"-serve", c.Kind, "-addr", strings.Join(c.Addrs, ",")}
	if c.HWM != 0 {
		args = append(args, "-hwm", strconv.Itoa(c.HWM))
	}
	if c.N != 0 {
		args = append(args, "-idle", strconv.Itoa(c.N), "-idle-first", strconv.Itoa(c.First), "-idle-batch", strconv.Itoa(c.Batch))
	}
	if c.Timeout != 0 {
		args = append(args, "-timeout", c.Timeout.String())
	}
	if c.CPUProfile != "" {
		args = append(args, "-cpuprofile", c.CPUProfile)
	}
	if c.HeapFile != "" {
		args = append(args, "-heapfile", c.HeapFile)
	}
	if len(c.CurveAllow) > 0 {
		args = append(args, "-curve-allow", strings.Join(c.CurveAllow, ","))
	}
	return args
}

// RunChild runs c until ctx ends. It calls ready with the endpoints bound
// (a server) or with the number of peers connected (idle peers) once it is
// ready, which the program prints as its READY line.
func RunChild(ctx context.Context, c Child, ready func(fields []string)) error {
	switch c.Kind {
	case floodKind:
		return runFlood(ctx, c, ready)
	case floodRawKind:
		return runFloodRaw(ctx, c, ready)
	}
	if c.Kind != idleZMQKind && c.Kind != idleRawKind {
		cfg := servers.Config{Kind: c.Kind, Addrs: c.Addrs, HWM: c.HWM, CurveSecret: c.CurveSecret, CurveAllow: c.CurveAllow}
		return servers.Serve(ctx, cfg, ready)
	}
	if len(c.Addrs) != 1 || c.N <= 0 {
		return errors.New("bench: idle peers need one address and a count")
	}
	peers, err := holdIdle(c.Kind, c.First, c.N, c.Batch, c.Addrs[0], c.Timeout)
	if err != nil {
		return err
	}
	ready([]string{fmt.Sprint(c.N)})
	<-ctx.Done()
	return peers.close()
}

// IsChild reports whether args (without the program name) are a child's
// command line, made by Child.Args.
func IsChild(args []string) bool { return len(args) > 0 && args[0] == "-serve" }

// ChildMain runs the child that args (from Child.Args) describe until
// SIGTERM, SIGINT, or the end of stdin (the harness has gone), printing
// "READY ..." on stdout once it is ready.
func ChildMain(args []string) error {
	var c Child
	fs := flag.NewFlagSet("child", flag.ContinueOnError)
	fs.StringVar(&c.Kind, "serve", "", "server kind, or idle-zmq / idle-raw")
	addrs := fs.String("addr", "", "endpoints, comma separated")
	fs.IntVar(&c.HWM, "hwm", 0, "high-water mark")
	fs.IntVar(&c.N, "idle", 0, "idle peers")
	fs.IntVar(&c.First, "idle-first", 0, "number of the first idle peer")
	fs.IntVar(&c.Batch, "idle-batch", 1, "idle peers connecting at once")
	fs.DurationVar(&c.Timeout, "timeout", 10*time.Second, "wait for an echo")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "CPU profile file")
	fs.StringVar(&c.HeapFile, "heapfile", "", "file for the live heap, written at each SIGUSR1")
	allow := fs.String("curve-allow", "", "public keys a CURVE server lets in, in Z85, comma separated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c.Addrs = strings.Split(*addrs, ",")
	if *allow != "" {
		c.CurveAllow = strings.Split(*allow, ",")
	}
	c.CurveSecret = os.Getenv(curveSecretEnv)
	if _, err := RaiseFileLimit(FileLimit); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// Owned by the process: it ends with stdin, or with the process.
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	if c.HeapFile != "" {
		defer reportHeap(c.HeapFile)()
	}
	if c.CPUProfile != "" {
		stop, err := startProfile(c.CPUProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	err := RunChild(ctx, c, func(fields []string) {
		fmt.Printf("READY %s\n", strings.Join(fields, " "))
	})
	if err == nil && ctx.Err() == nil {
		err = errors.New("bench: child stopped on its own")
	}
	return err
}
