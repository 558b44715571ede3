package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"time"

	"github.com/zrouter/zrouter/rep"
)

const repHelp = `
Usage: zrouter rep (--bind ENDPOINT | --connect ENDPOINT) (--echo | -- COMMAND [ARG...]) [flags]

A REP worker: it takes one request at a time and answers it. With --echo
the reply is the request itself. With a COMMAND, after --, each request
runs the command: it gets the request's frames on stdin, one per line, and
its stdout, less one trailing newline, is the reply, one frame. A command
that fails (exits with an error, runs longer than --command-timeout, writes
more than --max-output bytes, or cannot start) is logged at WARN with what
it wrote to stderr, and the reply is one frame, "ERROR: " and why; the
worker goes on with the next request. It runs until SIGINT or SIGTERM, then
exits with status 0.

With --bind it is a server for REQ clients (or DEALERs that speak REQ's
envelope), and takes the security flags of 'zrouter echo'. With --connect
it is a worker of a broker's backend ('zrouter broker --lb rr'), or a
server that connects out; --curve-server-key and --plain-user make it a
CURVE or PLAIN client, as for 'zrouter req'.
`

const repExamples = `
  zrouter rep --bind tcp://*:5555 --echo
  zrouter rep --connect tcp://127.0.0.1:5556 -- tr a-z A-Z
  zrouter rep --connect tcp://127.0.0.1:5556 --command-timeout 2s -- sh -c 'wc -l'
  zrouter rep --bind tcp://*:5555 --curve-secret-file server.key --echo`

// repConfig is what a rep command does.
type repConfig struct {
	command   []string // empty: echo
	timeout   time.Duration
	maxOutput int
	maxStderr int // bytes of a failing command's stderr that are logged
	log       *slog.Logger
	onRequest func() // tests: called when a request has been answered
}

func runRep(ctx context.Context, c *cli, args []string) error {
	f := newFlags("rep", repHelp, repExamples)
	f.args = true
	bind := f.String("bind", "", "endpoint to bind, tcp://HOST:PORT or ipc://PATH")
	connect := f.String("connect", "", "endpoint to connect to, tcp://HOST:PORT or ipc://PATH")
	echo := f.Bool("echo", false, "answer each request with the request itself")
	timeout := f.Duration("command-timeout", 10*time.Second, "kill the command after this long, and reply with an error")
	maxOutput := f.Int("max-output", 1<<20, "the most bytes of the command's stdout taken as a reply; more is an error")
	sock := addSockFlags(f)
	sec := addEitherSecFlags(f)
	log, err := f.parse(c, args)
	if err != nil {
		return err
	}
	cfg := repConfig{command: f.Args(), timeout: *timeout, maxOutput: *maxOutput, maxStderr: 4 << 10, log: log}
	if err := bindOrConnect("rep", *bind, *connect); err != nil {
		return err
	}
	switch {
	case *echo && len(cfg.command) > 0:
		return usagef("--echo and a COMMAND: answer with one or the other")
	case !*echo && len(cfg.command) == 0:
		return usagef("missing --echo or -- COMMAND")
	case cfg.timeout <= 0:
		return usagef("bad --command-timeout %v: want more than 0", cfg.timeout)
	case cfg.maxOutput < 0:
		return usagef("bad --max-output %d: want 0 or more", cfg.maxOutput)
	}
	secOpts, connOpts, err := sec.options(log, *bind != "")
	if err != nil {
		return err
	}
	r, err := rep.New(append(sock.options(log), secOpts...)...)
	if err != nil {
		return err
	}
	defer r.Close()
	if *bind != "" {
		if err := r.Bind(*bind); err != nil {
			return endpointError("bind", *bind, err)
		}
		log.Info("rep: listening", "endpoint", r.Addr())
	} else {
		if err := r.Connect(*connect, connOpts...); err != nil {
			return endpointError("connect", *connect, err)
		}
		log.Info("rep: connecting", "endpoint", *connect)
	}
	serveRep(ctx, r, &cfg)
	log.Info("rep: shutting down")
	return nil
}

// serveRep answers the requests r receives until ctx ends or r closes.
func serveRep(ctx context.Context, r *rep.Rep, cfg *repConfig) {
	for {
		m, err := r.Recv(ctx)
		if err != nil {
			return
		}
		if len(cfg.command) == 0 {
			// The request itself goes back; Send takes it.
			if r.Send(ctx, m) != nil {
				m.Release()
				return
			}
		} else {
			reply := cfg.run(ctx, m.Frames)
			m.Release()
			if ctx.Err() != nil {
				return
			}
			if r.SendFrames(ctx, reply) != nil {
				return
			}
		}
		if cfg.onRequest != nil {
			cfg.onRequest()
		}
	}
}

// run runs the command for one request and returns the reply: its
// output, or an error message.
func (cfg *repConfig) run(ctx context.Context, frames [][]byte) []byte {
	rctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	var stdin bytes.Buffer
	for _, f := range frames {
		stdin.Write(f)
		stdin.WriteByte('\n')
	}
	stdout := &capped{max: cfg.maxOutput, cancel: cancel}
	stderr := &capped{max: cfg.maxStderr}
	cmd := exec.CommandContext(rctx, cfg.command[0], cfg.command[1:]...)
	cmd.Stdin = &stdin
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	// A command whose children keep its pipes open must not hold the
	// worker after it has been killed.
	killGroup(cmd)
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	var why string
	switch {
	case stdout.over:
		why = fmt.Sprintf("the command wrote more than --max-output %d bytes", cfg.maxOutput)
	case ctx.Err() != nil:
		return nil // shutting down: no reply
	case errors.Is(rctx.Err(), context.DeadlineExceeded):
		why = fmt.Sprintf("the command ran longer than --command-timeout %v", cfg.timeout)
	case err != nil:
		why = "the command failed: " + err.Error()
	default:
		return bytes.TrimSuffix(stdout.buf.Bytes(), []byte("\n"))
	}
	cfg.log.Warn("rep: command failed", "command", strings.Join(cfg.command, " "), "why", why,
		"stderr", strings.TrimSpace(stderr.buf.String()))
	return []byte("ERROR: " + why)
}

// capped is a writer that keeps the first max bytes written to it. Beyond
// them it notes that there was more and calls cancel (if set), and takes
// the rest without keeping it, so that the command is never blocked on a
// full pipe.
type capped struct {
	buf    bytes.Buffer
	max    int
	over   bool
	cancel func()
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); len(p) > room {
		c.buf.Write(p[:max(room, 0)])
		if !c.over && c.cancel != nil {
			c.cancel()
		}
		c.over = true
		return len(p), nil
	}
	return c.buf.Write(p)
}
