package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/zrouter/zrouter/pub"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/xpub"
)

const pubHelp = `
Usage: zrouter pub (--bind ENDPOINT | --connect ENDPOINT) [--count N] [--interval D]
                   [flags] TOPIC [FRAME...]

A publisher. It sends the message [TOPIC, FRAME...] --count times, --interval
apart, then exits with status 0 once the messages have gone out; 1 on an
error. Without FRAME it reads stdin: each line is one message [TOPIC, line],
sent --count times. A subscriber gets a message when TOPIC starts with one
of its subscriptions.

Subscribers that join late miss what was sent before their subscription
arrived (ZeroMQ's slow joiner). So by default (--wait-subscriber) pub sends
nothing until a subscription that TOPIC matches has arrived: the first
subscriber's, or the forwarder's ('zrouter pubsub') when its first
subscriber subscribes. It waits --timeout for it, then exits with status 1.
With --wait-subscriber=false it sends at once with --bind, and once the
connection is up with --connect (a forwarder without subscribers drops the
messages).

It is an XPUB on the wire, which PUB's peers (SUB and XSUB, libzmq's
included) take as a PUB. It waits for room at each subscriber rather than
dropping (ZMQ_XPUB_NODROP), so every subscriber present gets every message;
what is still queued --linger after the last send is dropped, and pub exits
with status 1. SIGINT or SIGTERM stops it with status 0.

With --bind it takes the security flags of a server ('zrouter echo'); with
--connect, --curve-server-key and --plain-user make it a CURVE or PLAIN
client, as for 'zrouter req'.
`

const pubExamples = `
  zrouter pub --bind tcp://*:5556 news "hello world"
  zrouter pub --connect tcp://127.0.0.1:5557 --count 10 --interval 100ms weather 21C
  tail -f app.log | zrouter pub --connect tcp://127.0.0.1:5557 logs
  zrouter pub --connect tcp://server:5557 --curve-server-key 'rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7' news hi`

// pubConfig is what a pub command does.
type pubConfig struct {
	bind, connect string
	count         int
	interval      time.Duration
	waitSub       bool
	timeout       time.Duration // for the subscriber or connection; 0: no limit
	linger        time.Duration // for the queued messages at the end; -1: no limit
	topic         []byte
	frames        [][]byte  // after the topic
	lines         io.Reader // without frames: one message per line
	sockOpts      []socket.Option
	connOpts      []socket.Option
	log           *slog.Logger
}

func runPub(ctx context.Context, c *cli, args []string) error {
	f := newFlags("pub", pubHelp, pubExamples)
	f.args = true
	f.logLevel = "warn"
	f.Lookup("log-level").DefValue = "warn"
	bind := f.String("bind", "", "endpoint to bind, tcp://HOST:PORT or ipc://PATH")
	connect := f.String("connect", "", "endpoint to connect to, tcp://HOST:PORT or ipc://PATH")
	count := f.Int("count", 1, "how many times to send the message (each line's, without FRAME)")
	interval := f.Duration("interval", 0, "wait this long between messages")
	waitSub := f.Bool("wait-subscriber", true, "send nothing until a subscription that TOPIC matches has arrived")
	timeout := f.Duration("timeout", 10*time.Second, "how long to wait for the subscriber, or the connection (0 = no limit)")
	sock := addSockFlags(f)
	_ = f.Set("linger", "5s")
	f.Lookup("linger").DefValue = "5s"
	f.Lookup("linger").Usage = "how long the messages queued at the end may take to go out (-1 = until they have)"
	sec := addEitherSecFlags(f)
	log, err := f.parse(c, args)
	if err != nil {
		return err
	}
	if err := bindOrConnect("pub", *bind, *connect); err != nil {
		return err
	}
	switch {
	case f.NArg() == 0:
		return usagef("missing TOPIC")
	case *count < 1:
		return usagef("bad --count %d: want 1 or more", *count)
	case *interval < 0:
		return usagef("bad --interval %v: want 0 or more", *interval)
	case *timeout < 0:
		return usagef("bad --timeout %v: want 0 (no limit) or more", *timeout)
	}
	cfg := pubConfig{
		bind: *bind, connect: *connect, count: *count, interval: *interval,
		waitSub: *waitSub, timeout: *timeout, linger: sock.linger,
		topic: []byte(f.Arg(0)), log: log,
	}
	for _, a := range f.Args()[1:] {
		cfg.frames = append(cfg.frames, []byte(a))
	}
	if len(cfg.frames) == 0 {
		cfg.lines = c.stdin
	}
	if cfg.sockOpts, cfg.connOpts, err = sec.options(log, cfg.bind != ""); err != nil {
		return err
	}
	cfg.sockOpts = append(sock.options(log), cfg.sockOpts...)
	return publish(ctx, cfg)
}

// publish runs the pub command cfg describes.
func publish(ctx context.Context, cfg pubConfig) error {
	x, err := xpub.New(append(cfg.sockOpts, pub.WithNoDrop(true))...)
	if err != nil {
		return err
	}
	// The XPub's subscriptions are read for as long as it lives, so that
	// they never back up; the first that TOPIC matches closes subscribed.
	subscribed := make(chan struct{})
	var wg sync.WaitGroup
	defer func() {
		_ = x.Close()
		wg.Wait()
	}()
	wg.Go(func() {
		first := true
		for {
			m, err := x.Recv(context.Background())
			if err != nil {
				return // closed
			}
			if len(m.Frames) > 0 && len(m.Frames[0]) > 0 && m.Frames[0][0] == 1 {
				prefix := m.Frames[0][1:]
				cfg.log.Debug("pub: subscription", "prefix", printable(string(prefix)))
				if first && bytes.HasPrefix(cfg.topic, prefix) {
					first = false
					close(subscribed)
				}
			}
			m.Release()
		}
	})
	// A client's handshake that fails for good ends the command; a
	// server's ends only that peer.
	wctx := ctx
	if cfg.connect != "" {
		var stopWatch func()
		wctx, stopWatch = watchHandshakes(ctx, x.Monitor(64))
		defer stopWatch()
	}
	if cfg.bind != "" {
		if err := x.Bind(cfg.bind); err != nil {
			return endpointError("bind", cfg.bind, err)
		}
		cfg.log.Info("pub: listening", "endpoint", x.Addr())
	} else if err := x.Connect(cfg.connect, cfg.connOpts...); err != nil {
		return endpointError("connect", cfg.connect, err)
	}
	if err := cfg.ready(wctx, x, subscribed); err != nil {
		if ctx.Err() != nil {
			return nil // SIGINT or SIGTERM
		}
		return err
	}
	sent := 0
	send := func(frames [][]byte) error {
		for range cfg.count {
			if sent > 0 && cfg.interval > 0 {
				t := time.NewTimer(cfg.interval)
				select {
				case <-wctx.Done():
					t.Stop()
					return wctx.Err()
				case <-t.C:
				}
			}
			if err := x.SendFrames(wctx, frames...); err != nil {
				return err
			}
			sent++
		}
		return nil
	}
	if cfg.lines == nil {
		err = send(append([][]byte{cfg.topic}, cfg.frames...))
	} else {
		sc := bufio.NewScanner(cfg.lines)
		sc.Buffer(make([]byte, 0, 64<<10), maxLine)
		for err == nil && sc.Scan() {
			line := bytes.Clone(bytes.TrimSuffix(sc.Bytes(), []byte("\r")))
			err = send([][]byte{cfg.topic, line})
		}
		if err == nil && sc.Err() != nil {
			err = fmt.Errorf("reading messages from stdin: %w", sc.Err())
		}
	}
	if herr := handshakeCause(wctx); herr != nil {
		return herr
	}
	if err != nil && ctx.Err() == nil {
		return err
	}
	// Done, or stopped by a signal: what is queued has --linger to go out.
	sctx, cancel := context.WithCancel(context.Background())
	if cfg.linger >= 0 {
		sctx, cancel = context.WithTimeout(context.Background(), cfg.linger)
	}
	defer cancel()
	if err := x.Shutdown(sctx); err != nil && ctx.Err() == nil {
		return fmt.Errorf("messages still queued after --linger %v were dropped", cfg.linger)
	}
	cfg.log.Info("pub: done", "sent", sent)
	return nil
}

// ready waits until pub may send: for the subscription (--wait-subscriber)
// or, with --connect, the connection, within --timeout.
func (cfg *pubConfig) ready(ctx context.Context, x *xpub.XPub, subscribed <-chan struct{}) error {
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.timeout)
		defer cancel()
	}
	var err error
	switch {
	case cfg.waitSub:
		select {
		case <-subscribed:
		case <-ctx.Done():
			err = errors.New("no subscription that the topic matches arrived within --timeout")
		}
	case cfg.connect != "":
		if x.WaitPeers(ctx, 1) != nil {
			err = errors.New("no connection within --timeout")
		}
	}
	if herr := handshakeCause(ctx); herr != nil {
		return herr
	}
	if err != nil {
		return fmt.Errorf("%w (%v)", err, cfg.timeout)
	}
	return nil
}
