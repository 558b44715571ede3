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
	"time"

	"github.com/zrouter/zrouter/interop/internal/bench"
)

// runMemory runs the memory benchmark and prints its table, writing it to
// md too when set. The servers are this program's, or from's when set.
func runMemory(rounds int, scale float64, timeout time.Duration, from string, quiet bool, md string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if from != "" {
		self = from
	}
	o := bench.MemoryOptions{
		Servers: bench.DefaultMemoryServers, Stalled: 1000, Announce: 65000,
		Clients: 4, Bursts: 40, Frames: 100000,
		Settle: time.Duration(2 * float64(time.Second) * scale), Rounds: rounds, Timeout: timeout,
		Self: func(args []string) *exec.Cmd { return exec.Command(self, args...) },
	}
	if !quiet {
		o.Log = os.Stderr
	}
	env := bench.CollectEnv()
	results, err := bench.RunMemory(ctx, o)
	fmt.Printf("go run ./cmd/zbench %s\n%s, libzmq %s, %s, %d cores\n\n", strings.Join(os.Args[1:], " "), env.CPUModel, env.Libzmq, env.GoVersion, env.NumCPU)
	bench.WriteMemory(os.Stdout, o, results)
	if err != nil {
		return fmt.Errorf("run failed: %w", err)
	}
	if md == "" {
		return nil
	}
	return writeFile(md, func(w io.Writer) error { bench.WriteMemory(w, o, results); return nil })
}
