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
	results, err := bench.RunMemory(ctx, o)
	printMachine()
	return printTable(func(w io.Writer) { bench.WriteMemory(w, o, results) }, err, md)
}
