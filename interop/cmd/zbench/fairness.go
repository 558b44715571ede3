package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/zrouter/zrouter/interop/internal/bench"
)

// runFairness runs the fairness benchmark and prints its table, writing it
// to md too when set.
func runFairness(rounds int, scale float64, timeout time.Duration, raw, quiet bool, md string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	o := bench.FairnessOptions{
		Servers: bench.DefaultFairnessServers, Flooders: 6, Size: 16 << 10, Interval: 5 * time.Millisecond,
		Duration: time.Duration(2 * float64(time.Second) * scale), Warmup: time.Duration(float64(time.Second) * scale),
		Rounds: rounds, HWM: 1000, Timeout: timeout, RawFlood: raw,
		Self: func(args []string) *exec.Cmd { return exec.Command(self, args...) },
	}
	if !quiet {
		o.Log = os.Stderr
	}
	results, err := bench.RunFairness(ctx, o)
	printMachine()
	return printTable(func(w io.Writer) { bench.WriteFairness(w, o, results) }, err, md)
}
