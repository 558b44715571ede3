package servers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"

	gozmq "github.com/go-zeromq/zmq4"
	"github.com/zrouter/zrouter/interop/internal/zmqc"
	"github.com/zrouter/zrouter/router"
)

// Kinds of server.
const (
	// ZRouter echoes with a zrouter router.Router: Recv, then Send of the
	// same message.
	ZRouter = "zrouter"
	// ZRouterP1 is the same zrouter echo in a process that runs Go code on
	// one thread at a time (GOMAXPROCS=1), as a user would set it on a
	// small machine the server shares with its peers. Serve does not touch
	// the runtime: the process that serves it sets GOMAXPROCS.
	ZRouterP1 = "zrouter-p1"
	// Libzmq echoes with a libzmq ROUTER and an echo loop written in C.
	Libzmq = "libzmq"
	// GoZMQ echoes with a go-zeromq/zmq4 ROUTER.
	GoZMQ = "gozmq"
	// RawTCP writes every connection's bytes back to it: no ZMTP at all.
	RawTCP = "rawtcp"
	// RawTCPZMQ is the same byte echo, meant for the libzmq DEALER clients
	// the ZeroMQ servers get: it mirrors a DEALER's greeting and READY, so
	// the client handshakes with a DEALER (itself) and gets its messages
	// back. It measures what those clients allow with no server work
	// beyond the kernel's.
	RawTCPZMQ = "rawtcp-zmq"
	// LibzmqProxy is zmq_proxy(ROUTER, DEALER) in C: the frontend is the
	// first address, the backend the second.
	LibzmqProxy = "libzmq-proxy"

	// ZRouterCurve is the zrouter echo as a CURVE server
	// (socket.WithCurveServer), with socket.AllowCurveKeys of
	// Config.CurveAllow as its authenticator.
	ZRouterCurve = "zrouter-curve"
	// ZRouterP1Curve is ZRouterCurve in a process with GOMAXPROCS=1.
	ZRouterP1Curve = "zrouter-p1-curve"
	// LibzmqCurve is the libzmq echo with its ROUTER a CURVE server
	// (ZMQ_CURVE_SERVER, ZMQ_CURVE_SECRETKEY), and a ZAP handler written in
	// C, in the server's context, that lets in the keys of
	// Config.CurveAllow.
	LibzmqCurve = "libzmq-curve"
)

// Kinds lists the echo servers in the order the harness runs them.
var Kinds = []string{ZRouter, ZRouterP1, Libzmq, GoZMQ, RawTCP, RawTCPZMQ}

// CurveKinds lists the CURVE echo servers.
var CurveKinds = []string{ZRouterCurve, ZRouterP1Curve, LibzmqCurve}

// IsCurve reports whether the server of the given kind is a CURVE server,
// whose clients must be CURVE clients of its key.
func IsCurve(kind string) bool { return slices.Contains(CurveKinds, kind) }

// Config configures a server.
type Config struct {
	// Kind is one of the kinds above.
	Kind string
	// Addrs are the endpoints to bind, tcp://HOST:PORT, where PORT may be
	// 0; LibzmqProxy takes two.
	Addrs []string
	// HWM is the send and receive high-water mark of the ZeroMQ sockets
	// that have one (0: unlimited).
	HWM int
	// CurveSecret is a CURVE server's secret key, in Z85.
	CurveSecret string
	// CurveAllow are the public keys, in Z85, of the clients a CURVE
	// server lets in; when it is empty the server has no authenticator (no
	// ZAP handler for libzmq) and lets in every client that knows its key.
	CurveAllow []string
}

// Serve runs the server described by cfg until ctx ends, then closes it and
// returns nil. It calls ready once with the endpoints actually bound, before
// it serves.
func Serve(ctx context.Context, cfg Config, ready func(addrs []string)) error {
	want := 1
	if cfg.Kind == LibzmqProxy {
		want = 2
	}
	if len(cfg.Addrs) != want {
		return fmt.Errorf("servers: %s needs %d address(es), got %d", cfg.Kind, want, len(cfg.Addrs))
	}
	if IsCurve(cfg.Kind) && cfg.CurveSecret == "" {
		return fmt.Errorf("servers: %s needs a CURVE secret key", cfg.Kind)
	}
	switch cfg.Kind {
	case ZRouter, ZRouterP1, ZRouterCurve, ZRouterP1Curve:
		return serveZRouter(ctx, cfg, ready)
	case Libzmq, LibzmqCurve:
		return serveLibzmq(ctx, cfg, ready)
	case LibzmqProxy:
		return serveProxy(ctx, cfg, ready)
	case GoZMQ:
		return serveGoZMQ(ctx, cfg, ready)
	case RawTCP, RawTCPZMQ:
		return serveRawTCP(ctx, cfg, ready)
	case ZRouterRep:
		return serveZRouterRep(ctx, cfg, ready)
	case LibzmqRep:
		return serveLibzmqRep(ctx, cfg, ready)
	}
	return fmt.Errorf("servers: unknown kind %q", cfg.Kind)
}

// zrouterCurve returns the options of a zrouter CURVE server.
func zrouterCurve(cfg Config) ([]socket.Option, error) {
	secret, err := socket.ParseCurveKey(cfg.CurveSecret)
	if err != nil {
		return nil, fmt.Errorf("servers: CURVE secret key: %w", err)
	}
	opts := []socket.Option{socket.WithCurveServer(secret)}
	if len(cfg.CurveAllow) == 0 {
		return opts, nil
	}
	keys := make([]socket.CurveKey, len(cfg.CurveAllow))
	for i, k := range cfg.CurveAllow {
		if keys[i], err = socket.ParseCurveKey(k); err != nil {
			return nil, fmt.Errorf("servers: CURVE client key %q: %w", k, err)
		}
	}
	return append(opts, socket.WithAuthenticator(socket.AllowCurveKeys(keys...))), nil
}

func serveZRouter(ctx context.Context, cfg Config, ready func([]string)) error {
	opts := []socket.Option{socket.WithSendHWM(cfg.HWM), socket.WithRecvHWM(cfg.HWM)}
	if IsCurve(cfg.Kind) {
		curve, err := zrouterCurve(cfg)
		if err != nil {
			return err
		}
		opts = append(opts, curve...)
	}
	r, err := router.New(opts...)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := r.Bind(cfg.Addrs[0]); err != nil {
		return err
	}
	ready([]string{r.Addr()})
	return echoMsgs(ctx, r)
}

// echoMsgs sends every message s receives back through s until ctx ends
// (nil) or s fails.
func echoMsgs(ctx context.Context, s interface {
	Recv(ctx context.Context) (*wire.Msg, error)
	Send(ctx context.Context, m *wire.Msg) error
}) error {
	for {
		m, err := s.Recv(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := s.Send(ctx, m); err != nil {
			m.Release()
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// zmqEndpoint turns a port 0 into libzmq's "*".
func zmqEndpoint(ep string) string {
	if strings.HasSuffix(ep, ":0") {
		return strings.TrimSuffix(ep, "0") + "*"
	}
	return ep
}

// runC binds one libzmq socket per address, calls ready, then runs loop in
// a goroutine until ctx ends, when it shuts the context down so that the
// loop returns. For a CURVE kind the first socket is a CURVE server with
// cfg.CurveSecret, and when cfg.CurveAllow lists keys a ZAP handler in C
// (zmqc.ZAPAllow) runs in the same context, bound before any client can
// connect.
func runC(ctx context.Context, cfg Config, types []zmqc.Type, ready func([]string), loop func([]*zmqc.Socket) error) (err error) {
	zctx, err := zmqc.NewContext()
	if err != nil {
		return err
	}
	defer func() {
		if terr := zctx.Term(); err == nil {
			err = terr
		}
	}()
	var opened []*zmqc.Socket
	defer func() {
		for _, s := range opened {
			if cerr := s.Close(); err == nil {
				err = cerr
			}
		}
	}()
	var loops []func() error
	if IsCurve(cfg.Kind) && len(cfg.CurveAllow) > 0 {
		zap, err := zctx.Socket(zmqc.REP)
		if err != nil {
			return err
		}
		opened = append(opened, zap)
		if err := zap.SetInt(zmqc.Linger, 0); err != nil {
			return err
		}
		if _, err := zap.Bind(zmqc.ZAPEndpoint); err != nil {
			return err
		}
		loops = append(loops, func() error { return zmqc.ZAPAllow(zap, cfg.CurveAllow) })
	}
	socks := make([]*zmqc.Socket, 0, len(types))
	addrs := make([]string, len(types))
	for i, t := range types {
		s, err := zctx.Socket(t)
		if err != nil {
			return err
		}
		opened = append(opened, s)
		socks = append(socks, s)
		for _, o := range []zmqc.Option{zmqc.SndHWM, zmqc.RcvHWM} {
			if err := s.SetInt(o, cfg.HWM); err != nil {
				return err
			}
		}
		if err := s.SetInt(zmqc.Linger, 0); err != nil {
			return err
		}
		if i == 0 && IsCurve(cfg.Kind) {
			if err := s.SetCurveServer(cfg.CurveSecret); err != nil {
				return err
			}
		}
		if addrs[i], err = s.Bind(zmqEndpoint(cfg.Addrs[i])); err != nil {
			return err
		}
	}
	loops = append(loops, func() error { return loop(socks) })
	ready(addrs)
	done := make(chan error, len(loops))
	for _, l := range loops {
		go func() { done <- l() }()
	}
	pending := len(loops)
	var first error
	select {
	case first = <-done:
		pending--
		if first == nil {
			first = errors.New("servers: libzmq loop ended on its own")
		}
	case <-ctx.Done():
	}
	if err := zctx.Shutdown(); err != nil {
		return errors.Join(first, err)
	}
	errs := []error{first}
	for range pending {
		errs = append(errs, <-done)
	}
	return errors.Join(errs...)
}

func serveLibzmq(ctx context.Context, cfg Config, ready func([]string)) error {
	return runC(ctx, cfg, []zmqc.Type{zmqc.ROUTER}, ready, func(s []*zmqc.Socket) error {
		return zmqc.Echo(s[0])
	})
}

func serveProxy(ctx context.Context, cfg Config, ready func([]string)) error {
	return runC(ctx, cfg, []zmqc.Type{zmqc.ROUTER, zmqc.DEALER}, ready, func(s []*zmqc.Socket) error {
		return zmqc.Proxy(s[0], s[1])
	})
}

func serveGoZMQ(ctx context.Context, cfg Config, ready func([]string)) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := gozmq.NewRouter(sctx)
	defer s.Close()
	if err := s.Listen(cfg.Addrs[0]); err != nil {
		return err
	}
	ready([]string{"tcp://" + s.Addr().String()})
	for {
		m, err := s.Recv()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := s.Send(m); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

func serveRawTCP(ctx context.Context, cfg Config, ready func([]string)) error {
	addr, ok := strings.CutPrefix(cfg.Addrs[0], "tcp://")
	if !ok {
		return fmt.Errorf("servers: %q is not a tcp:// endpoint", cfg.Addrs[0])
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	ready([]string{"tcp://" + ln.Addr().String()})
	var (
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
		wg    sync.WaitGroup
	)
	stop := context.AfterFunc(ctx, func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for c := range conns {
			_ = c.Close()
		}
	})
	defer stop()
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			_ = c.Close()
			return nil
		}
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			echo(c)
			_ = c.Close()
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
		}()
	}
}

// rawBufSize is the read buffer of each raw TCP connection. Only the pages a
// read touches become resident, so an idle connection costs one page of it.
const rawBufSize = 64 << 10

// echo writes back whatever c sends until either side fails. It does not use
// io.Copy: on Linux that splices through a pipe, which holds two more file
// descriptors per connection for as long as the connection is idle.
func echo(c net.Conn) {
	buf := make([]byte, rawBufSize)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
