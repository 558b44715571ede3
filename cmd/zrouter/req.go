package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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

Without FRAME it reads its requests from stdin, one message per line: each
line is a request of one frame, sent in turn (--count times each), and each
reply is printed as it comes.

With --curve-server-key it is a CURVE client of the server with that public
key, proving itself with the key pair in --curve-secret-file (what 'zrouter
keygen' prints), or with a fresh one. With --plain-user it is a PLAIN
client; --plain-password-file reads the password from a file rather than
the command line.
`

const reqExamples = `
  zrouter req --connect tcp://127.0.0.1:5555 hello world
  zrouter req --connect tcp://127.0.0.1:5555 --count 10 --timeout 1s ping
  printf 'one\ntwo\n' | zrouter req --connect tcp://127.0.0.1:5555
  zrouter req --connect tcp://server:5555 --curve-server-key 'rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7' \
      --curve-secret-file client.key hello`

// reqConfig is what a req command does.
type reqConfig struct {
	endpoint string
	count    int
	timeout  time.Duration
	frames   [][]byte
	lines    io.Reader       // without frames: one request per line
	opts     []socket.Option // the Connect's, for its security
}

// clientSec are the security flags of a client: CURVE or PLAIN.
type clientSec struct {
	serverKey, secretFile               string
	plainUser, plainPass, plainPassFile string
}

func addClientSecFlags(f *flags) *clientSec {
	s := &clientSec{}
	f.StringVar(&s.serverKey, "curve-server-key", "", "be a CURVE client of the server with this public `KEY` (Z85)")
	f.StringVar(&s.secretFile, "curve-secret-file", "", "our CURVE secret key, in `FILE` (default: a fresh key pair)")
	s.addPlain(f)
	return s
}

// addPlain adds the PLAIN client's flags alone.
func (s *clientSec) addPlain(f *flags) {
	f.StringVar(&s.plainUser, "plain-user", "", "be a PLAIN client with this user name")
	f.StringVar(&s.plainPass, "plain-password", "", "the PLAIN password")
	f.StringVar(&s.plainPassFile, "plain-password-file", "", "read the PLAIN password from the first line of `FILE`")
}

// options returns the Connect options the flags ask for.
func (s *clientSec) options(log *slog.Logger) ([]socket.Option, error) {
	switch {
	case s.serverKey != "" && s.plainUser != "":
		return nil, usagef("--curve-server-key and --plain-user: a client is CURVE or PLAIN, not both")
	case s.serverKey != "":
		key, err := socket.ParseCurveKey(s.serverKey)
		if err != nil {
			return nil, usagef("bad --curve-server-key: %v", err)
		}
		var secret socket.CurveKey
		if s.secretFile != "" {
			if secret, err = socket.ReadCurveSecret(s.secretFile); err != nil {
				return nil, fmt.Errorf("reading the CURVE secret key: %w", err)
			}
		} else if _, secret, err = socket.NewCurveKeys(); err != nil {
			return nil, err
		}
		log.Debug("CURVE client", "public-key", secret.Public().String())
		return []socket.Option{socket.WithCurveClient(key, secret)}, nil
	case s.secretFile != "":
		return nil, usagef("--curve-secret-file needs --curve-server-key")
	case s.plainUser != "":
		pass := s.plainPass
		if s.plainPassFile != "" {
			b, err := os.ReadFile(s.plainPassFile)
			if err != nil {
				return nil, fmt.Errorf("reading the PLAIN password: %w", err)
			}
			pass, _, _ = strings.Cut(string(b), "\n")
		}
		return []socket.Option{socket.WithPlainClient(s.plainUser, pass)}, nil
	case s.plainPass != "" || s.plainPassFile != "":
		return nil, usagef("a PLAIN password needs --plain-user")
	}
	return nil, nil
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
	sec := addClientSecFlags(f)
	log, err := f.parse(c, args)
	if err != nil {
		return err
	}
	if err := required(f, map[string]string{"connect": *connect}); err != nil {
		return err
	}
	cfg := reqConfig{endpoint: *connect, count: *count, timeout: *timeout}
	if cfg.count < 1 {
		return usagef("bad --count %d: want 1 or more", cfg.count)
	}
	if cfg.timeout <= 0 {
		return usagef("bad --timeout %v: want more than 0", cfg.timeout)
	}
	for _, a := range f.Args() {
		cfg.frames = append(cfg.frames, []byte(a))
	}
	if len(cfg.frames) == 0 {
		cfg.lines = c.stdin
	}
	if cfg.opts, err = sec.options(log); err != nil {
		return err
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
	ask := func(frames [][]byte) error {
		for range cfg.count {
			rctx, cancel := context.WithTimeout(ctx, cfg.timeout)
			reply, err := roundTrip(rctx, r, mon, frames)
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
	if cfg.lines == nil {
		return ask(cfg.frames)
	}
	sc := bufio.NewScanner(cfg.lines)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for sc.Scan() {
		if err := ask([][]byte{bytes.TrimSuffix(sc.Bytes(), []byte("\r"))}); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading requests from stdin: %w", err)
	}
	return nil
}

// maxLine is the longest line of stdin taken as a request.
const maxLine = 1 << 20

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
