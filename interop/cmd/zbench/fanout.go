package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/zrouter/zrouter/interop/internal/bench"
)

// runFanout runs the fan-out scenarios of o, with this program as the
// child processes, and prints their table, also to md when it is set.
func runFanout(o *bench.FanOptions, quiet bool, md string) error {
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
	results, err := bench.RunFanout(ctx, o)
	env := bench.CollectEnv()
	fmt.Printf("go run ./cmd/zbench %s\n\n%s, libzmq %s, %s, %d cores; HWM %d, warm-up %v, window %v\n\n",
		strings.Join(os.Args[1:], " "), env.CPUModel, env.Libzmq, env.GoVersion, env.NumCPU, o.HWM, o.Warmup, o.Duration)
	return printTable(func(w io.Writer) { bench.FanMarkdown(w, results) }, err, md)
}
