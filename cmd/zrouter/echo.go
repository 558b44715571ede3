package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
)

// sockFlags are the socket options a device command exposes.
type sockFlags struct {
	sndHWM     int
	rcvHWM     int
	maxMsgSize int64
	heartbeat  time.Duration
	sendTO     time.Duration
	maxPeers   int
	linger     time.Duration
}

// defaultSockFlags are the flags' defaults, for the devices a command runs
// without flags of its own (the demo).
var defaultSockFlags = sockFlags{sndHWM: 1000, rcvHWM: 1000, maxMsgSize: -1, linger: time.Second}

func addSockFlags(f *flags) *sockFlags {
	s := &sockFlags{}
	d := defaultSockFlags
	f.IntVar(&s.sndHWM, "sndhwm", d.sndHWM, "messages queued per peer before sending drops (0 = no limit)")
	f.IntVar(&s.rcvHWM, "rcvhwm", d.rcvHWM, "messages waiting per peer before reading pauses (0 = no limit)")
	f.Int64Var(&s.maxMsgSize, "max-msg-size", d.maxMsgSize, "close a peer that sends a bigger frame, in bytes (-1 = no limit)")
	f.DurationVar(&s.heartbeat, "heartbeat", d.heartbeat, "ZMTP PING interval; silent peers are dropped after it (0 = off)")
	f.DurationVar(&s.sendTO, "send-timeout", d.sendTO, "drop a peer that takes no bytes of a write for this long (0 = the heartbeat's bound, or none)")
	f.IntVar(&s.maxPeers, "max-peers", d.maxPeers, "refuse connections beyond this many peers per socket (0 = no limit)")
	f.DurationVar(&s.linger, "linger", d.linger, "on SIGINT or SIGTERM, how long queued messages may take to go out (-1 = until they have)")
	f.checks = append(f.checks, s.check)
	return s
}

// check returns a usage error naming the first flag of s out of range.
func (s *sockFlags) check() error {
	switch {
	case s.sndHWM < 0:
		return usagef("bad --sndhwm %d: want 0 (no limit) or more", s.sndHWM)
	case s.rcvHWM < 0:
		return usagef("bad --rcvhwm %d: want 0 (no limit) or more", s.rcvHWM)
	case s.maxMsgSize < -1:
		return usagef("bad --max-msg-size %d: want -1 (no limit) or more", s.maxMsgSize)
	case s.heartbeat < 0:
		return usagef("bad --heartbeat %v: want 0 (off) or more", s.heartbeat)
	case s.maxPeers < 0:
		return usagef("bad --max-peers %d: want 0 (no limit) or more", s.maxPeers)
	}
	return nil
}

// options returns the socket options of s, logging to log.
func (s *sockFlags) options(log *slog.Logger) []socket.Option {
	opts := []socket.Option{
		socket.WithLogger(log),
		socket.WithSendHWM(s.sndHWM),
		socket.WithRecvHWM(s.rcvHWM),
		socket.WithMaxMsgSize(s.maxMsgSize),
		socket.WithMaxPeers(s.maxPeers),
		socket.WithLinger(s.linger),
		socket.WithSendTimeout(s.sendTO),
	}
	if s.heartbeat > 0 {
		opts = append(opts, socket.WithHeartbeat(socket.Heartbeat{Interval: s.heartbeat, TTL: 3 * s.heartbeat, Timeout: s.heartbeat}))
	}
	return opts
}

const echoHelp = `
Usage: zrouter echo --bind ENDPOINT [flags]

A ROUTER socket that sends every message back to its sender, unchanged:
whatever a peer sends (a REQ envelope included) is what it receives. It
accepts REQ, DEALER and ROUTER peers and runs until SIGINT or SIGTERM, then
exits with status 0.
`

const echoExamples = `
  zrouter echo --bind tcp://*:5555
  zrouter keygen > server.key && zrouter echo --bind tcp://*:5555 --curve-secret-file server.key
  zrouter echo --bind tcp://127.0.0.1:5555 --stats-interval 1s --log-level debug
  zrouter echo --bind tcp://*:5555 --metrics :9100
  zrouter echo --bind ipc:///run/echo.sock`

func runEcho(ctx context.Context, c *cli, args []string) error {
	f := newFlags("echo", echoHelp, echoExamples)
	bind := f.String("bind", "", "endpoint to bind, tcp://HOST:PORT or ipc://PATH (required)")
	statsIvl := f.Duration("stats-interval", 0, "log a stats line this often (0 = off)")
	metrics := f.String("metrics", "", "serve Prometheus metrics at http://ADDR/metrics (ADDR is HOST:PORT)")
	sock := addSockFlags(f)
	sec := addSecFlags(f, "", "the socket")
	log, err := f.parse(c, args)
	if err != nil {
		return err
	}
	if err := required(f, map[string]string{"bind": *bind}); err != nil {
		return err
	}
	secOpts, err := sec.options(log, "")
	if err != nil {
		return err
	}
	r, err := router.New(append(sock.options(log), secOpts...)...)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := r.Bind(*bind); err != nil {
		return endpointError("bind", *bind, err)
	}
	obs, err := observe(ctx, log, *statsIvl, *metrics, []source{{Name: "echo", Stats: r.Stats}}, nil)
	if err != nil {
		return err
	}
	defer obs.stop()
	log.Info("echo: listening", "endpoint", r.Addr())
	serveEcho(ctx, r)
	log.Info("echo: shutting down")
	return nil
}

// serveEcho sends every message r receives back to its sender until ctx
// ends or r closes.
func serveEcho(ctx context.Context, r *router.Router) {
	for {
		m, err := r.Recv(ctx)
		if err != nil {
			return
		}
		// [id, frames...] goes back to id. Without mandatory mode Send
		// only fails when r is closing.
		if r.Send(ctx, m) != nil {
			m.Release()
			return
		}
	}
}
