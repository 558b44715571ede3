package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/zrouter/zrouter/req"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
)

const reqHelp = `
Usage: zrouter req --connect ENDPOINT [--count N] [--timeout D]
                   [--curve-server-key KEY --curve-secret-file FILE]
                   [--plain-user U --plain-password P] FRAME...

A REQ client. It connects to ENDPOINT, sends FRAME... as one message, waits
for the reply and prints it on one line, frames separated by a space; it
does so --count times, one request at a time. It exits with status 0 when
every reply came, and 1 when one did not come within --timeout, when the
server refused our credentials, or on another error.

With --curve-server-key it is a CURVE client of the server with that public
key, proving itself with the key pair in --curve-secret-file (what 'zrouter
keygen' prints), or with a fresh one. With --plain-user it is a PLAIN
client; --plain-password-file reads the password from a file rather than
the command line.
`

const reqExamples = `
  zrouter req --connect tcp://127.0.0.1:5555 hello world
  zrouter req --connect tcp://127.0.0.1:5555 --count 10 --timeout 1s ping
  zrouter req --connect tcp://server:5555 --curve-server-key 'rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7' \
      --curve-secret-file client.key hello`

// reqConfig is what a req command does.
type reqConfig struct {
	endpoint string
	count    int
	timeout  time.Duration
	frames   [][]byte
	opts     []socket.Option // the Connect's, for its security
}

func runReq(ctx context.Context, c *cli, args []string) error {
	f := newFlags("req", reqHelp, reqExamples)
	f.args = true
	// A client's own failures are its output; the socket's account of
	// each attempt is for --log-level info or debug.
	f.logLevel = "warn"
	f.Lookup("log-level").DefValue = "warn"
	connect := f.String("connect", "", "endpoint to connect to, tcp://HOST:PORT or ipc://PATH (required)")
	count := f.Int("count", 1, "how many times to send the request")
	timeout := f.Duration("timeout", 5*time.Second, "how long to wait for each reply")
	serverKey := f.String("curve-server-key", "", "be a CURVE client of the server with this public `KEY` (Z85)")
	secretFile := f.String("curve-secret-file", "", "our CURVE secret key, in `FILE` (default: a fresh key pair)")
	plainUser := f.String("plain-user", "", "be a PLAIN client with this user name")
	plainPass := f.String("plain-password", "", "the PLAIN password")
	plainPassFile := f.String("plain-password-file", "", "read the PLAIN password from the first line of `FILE`")
	log, err := f.parse(c, args)
	if err != nil {
		return err
	}
	if err := required(f, map[string]string{"connect": *connect}); err != nil {
		return err
	}
	cfg := reqConfig{endpoint: *connect, count: *count, timeout: *timeout}
	if f.NArg() == 0 {
		return usagef("no FRAME to send")
	}
	for _, a := range f.Args() {
		cfg.frames = append(cfg.frames, []byte(a))
	}
	if cfg.count < 1 || cfg.timeout <= 0 {
		return usagef("--count and --timeout must be positive")
	}
	switch {
	case *serverKey != "" && *plainUser != "":
		return usagef("--curve-server-key and --plain-user: a client is CURVE or PLAIN, not both")
	case *serverKey != "":
		key, err := socket.ParseCurveKey(*serverKey)
		if err != nil {
			return usagef("bad --curve-server-key: %v", err)
		}
		var secret socket.CurveKey
		if *secretFile != "" {
			if secret, err = socket.ReadCurveSecret(*secretFile); err != nil {
				return fmt.Errorf("reading the CURVE secret key: %w", err)
			}
		} else if _, secret, err = socket.NewCurveKeys(); err != nil {
			return err
		}
		log.Debug("CURVE client", "public-key", secret.Public().String())
		cfg.opts = append(cfg.opts, socket.WithCurveClient(key, secret))
	case *secretFile != "":
		return usagef("--curve-secret-file needs --curve-server-key")
	case *plainUser != "":
		pass := *plainPass
		if *plainPassFile != "" {
			b, err := os.ReadFile(*plainPassFile)
			if err != nil {
				return fmt.Errorf("reading the PLAIN password: %w", err)
			}
			pass, _, _ = strings.Cut(string(b), "\n")
		}
		cfg.opts = append(cfg.opts, socket.WithPlainClient(*plainUser, pass))
	case *plainPass != "" || *plainPassFile != "":
		return usagef("a PLAIN password needs --plain-user")
	}
	return request(ctx, c, cfg, socket.WithLogger(log))
}

// request runs the requests of cfg, printing each reply.
func request(ctx context.Context, c *cli, cfg reqConfig, opts ...socket.Option) error {
	r, err := req.New(append(opts, socket.WithLinger(0))...)
	if err != nil {
		return err
	}
	defer r.Close()
	mon := r.Monitor(64)
	defer mon.Stop()
	if err := r.Connect(cfg.endpoint, cfg.opts...); err != nil {
		return endpointError("connect", cfg.endpoint, err)
	}
	for range cfg.count {
		rctx, cancel := context.WithTimeout(ctx, cfg.timeout)
		reply, err := roundTrip(rctx, r, mon, cfg.frames)
		cancel()
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintln(c.stdout, string(bytes.Join(reply, []byte(" ")))); err != nil {
			return err
		}
	}
	return nil
}

// errNoReply is what a request that got no reply in time returns.
var errNoReply = errors.New("no reply in time")

// roundTrip sends the request and returns the reply's frames. It gives up
// at once when the server refuses our handshake for good, and says why
// when the time runs out after a failed handshake. The monitor is watched
// while the request waits to go out too: a handshake that fails for good
// leaves the request no connection to go out on.
func roundTrip(ctx context.Context, r *req.Req, mon *socket.Monitor, request [][]byte) ([][]byte, error) {
	type result struct {
		m   *wire.Msg
		err error
	}
	done := make(chan result, 1)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		if err := r.SendFrames(rctx, request...); err != nil {
			done <- result{err: err}
			return
		}
		m, err := r.Recv(rctx)
		done <- result{m, err}
	}()
	// stop ends the request early and waits for its goroutine.
	stop := func() {
		cancel()
		if res := <-done; res.m != nil {
			res.m.Release()
		}
	}
	var last *socket.Event // the last failed handshake
	for {
		select {
		case res := <-done:
			if res.err != nil {
				if ctx.Err() != nil {
					return nil, timedOut(ctx.Err(), last)
				}
				return nil, res.err
			}
			defer res.m.Release()
			out := make([][]byte, len(res.m.Frames))
			for i, f := range res.m.Frames {
				out[i] = bytes.Clone(f)
			}
			return out, nil
		case ev := <-mon.C:
			if ev.Kind != socket.EventHandshakeFailed {
				continue
			}
			last = &ev
			switch ev.Failure {
			case socket.HandshakeAuth:
				if ev.Status != socket.AuthTemporary {
					stop()
					return nil, fmt.Errorf("the server refused our credentials (status %d)", ev.Status)
				}
			case socket.HandshakeMechanism, socket.HandshakeSocketType, socket.HandshakeProtocol:
				stop()
				return nil, fmt.Errorf("handshake with the server failed: %v", ev.Err)
			}
		}
	}
}

// timedOut turns the end of a request's time into errNoReply, with what
// the last failed handshake said, if any.
func timedOut(err error, last *socket.Event) error {
	if !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if last != nil {
		return fmt.Errorf("%w: the handshake with the server failed (%v); is the server key right?", errNoReply, last.Err)
	}
	return errNoReply
}
