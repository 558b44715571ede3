package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/sub"
)

const subHelp = `
Usage: zrouter sub (--bind ENDPOINT | --connect ENDPOINT) [--count N] [--timeout D]
                   [flags] [TOPIC...]

A subscriber. It subscribes to each TOPIC (none: to everything) and prints
each message it receives on one line, frames separated by a space (the
first frame is the message's topic). With --count it exits with status 0
after N messages, and with status 1 when --timeout passes before they all
came; without it, it runs until SIGINT or SIGTERM, then exits with status 0.
It exits with status 1 when the server refuses our credentials, or on
another error.

A message matches a subscription when its first frame starts with the
topic: 'news' gets 'news', 'newsroom' and 'news.sport'.

With --connect it is a subscriber of a publisher or of a forwarder's
backend ('zrouter pubsub'); --curve-server-key and --plain-user make it a
CURVE or PLAIN client, as for 'zrouter req'. With --bind publishers connect
to it, and it takes the security flags of a server ('zrouter echo').
`

const subExamples = `
  zrouter sub --connect tcp://127.0.0.1:5558
  zrouter sub --connect tcp://127.0.0.1:5558 news weather
  zrouter sub --connect tcp://127.0.0.1:5558 --count 1 --timeout 5s news
  zrouter sub --bind tcp://*:5556 --curve-secret-file server.key logs`

// subConfig is what a sub command does.
type subConfig struct {
	bind, connect string
	count         int           // 0: until ctx ends
	timeout       time.Duration // for the count; 0: no limit
	topics        [][]byte
	sockOpts      []socket.Option
	connOpts      []socket.Option
	log           *slog.Logger
}

func runSub(ctx context.Context, c *cli, args []string) error {
	f := newFlags("sub", subHelp, subExamples)
	f.args = true
	f.logLevel = "warn"
	f.Lookup("log-level").DefValue = "warn"
	bind := f.String("bind", "", "endpoint to bind, tcp://HOST:PORT or ipc://PATH")
	connect := f.String("connect", "", "endpoint to connect to, tcp://HOST:PORT or ipc://PATH")
	count := f.Int("count", 0, "exit after this many messages (0 = run until SIGINT or SIGTERM)")
	timeout := f.Duration("timeout", 0, "with --count: fail if the messages have not all come within this long (0 = no limit)")
	sock := addSockFlags(f)
	sec := addEitherSecFlags(f)
	log, err := f.parse(c, args)
	if err != nil {
		return err
	}
	if err := bindOrConnect("sub", *bind, *connect); err != nil {
		return err
	}
	switch {
	case *count < 0:
		return usagef("bad --count %d: want 0 (no limit) or more", *count)
	case *timeout < 0:
		return usagef("bad --timeout %v: want 0 (no limit) or more", *timeout)
	case *timeout > 0 && *count == 0:
		return usagef("--timeout needs --count: it bounds the wait for --count messages")
	}
	cfg := subConfig{bind: *bind, connect: *connect, count: *count, timeout: *timeout, log: log}
	for _, a := range f.Args() {
		cfg.topics = append(cfg.topics, []byte(a))
	}
	if cfg.sockOpts, cfg.connOpts, err = sec.options(log, cfg.bind != ""); err != nil {
		return err
	}
	cfg.sockOpts = append(sock.options(log), cfg.sockOpts...)
	return subscribe(ctx, c, cfg)
}

// subscribe runs the sub command cfg describes, printing each message.
func subscribe(ctx context.Context, c *cli, cfg subConfig) error {
	s, err := sub.New(cfg.sockOpts...)
	if err != nil {
		return err
	}
	defer s.Close()
	if len(cfg.topics) == 0 {
		s.Subscribe(nil)
	}
	for _, t := range cfg.topics {
		s.Subscribe(t)
	}
	// A client's handshake that fails for good ends the command; a
	// server's ends only that peer.
	wctx := ctx
	if cfg.connect != "" {
		var stopWatch func()
		wctx, stopWatch = watchHandshakes(ctx, s.Monitor(64))
		defer stopWatch()
	}
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(wctx, cfg.timeout)
		defer cancel()
	}
	if cfg.bind != "" {
		if err := s.Bind(cfg.bind); err != nil {
			return endpointError("bind", cfg.bind, err)
		}
		cfg.log.Info("sub: listening", "endpoint", s.Addr())
	} else if err := s.Connect(cfg.connect, cfg.connOpts...); err != nil {
		return endpointError("connect", cfg.connect, err)
	}
	for got := 0; cfg.count == 0 || got < cfg.count; got++ {
		m, err := s.Recv(wctx)
		switch {
		case err == nil:
		case handshakeCause(wctx) != nil:
			return handshakeCause(wctx)
		case ctx.Err() != nil:
			return nil // SIGINT or SIGTERM
		case wctx.Err() != nil:
			return fmt.Errorf("got %d of %d messages within --timeout %v", got, cfg.count, cfg.timeout)
		default:
			return err
		}
		line := bytes.Join(m.Frames, []byte(" "))
		m.Release()
		if _, err := fmt.Fprintln(c.stdout, string(line)); err != nil {
			return err
		}
	}
	return nil
}
