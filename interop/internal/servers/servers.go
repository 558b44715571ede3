package servers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/zrouter/zrouter/socket"

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
)

// Kinds lists the echo servers in the order the harness runs them.
var Kinds = []string{ZRouter, ZRouterP1, Libzmq, GoZMQ, RawTCP, RawTCPZMQ}

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
	switch cfg.Kind {
	case ZRouter, ZRouterP1:
		return serveZRouter(ctx, cfg, ready)
	case Libzmq:
		return serveLibzmq(ctx, cfg, ready)
	case LibzmqProxy:
		return serveProxy(ctx, cfg, ready)
	case GoZMQ:
		return serveGoZMQ(ctx, cfg, ready)
	case RawTCP, RawTCPZMQ:
		return serveRawTCP(ctx, cfg, ready)
	}
	return fmt.Errorf("servers: unknown kind %q", cfg.Kind)
}

func serveZRouter(ctx context.Context, cfg Config, ready func([]string)) error {
	r, err := router.New(socket.WithSendHWM(cfg.HWM), socket.WithRecvHWM(cfg.HWM))
	if err != nil {
		return err
	}
	defer r.Close()
	if err := r.Bind(cfg.Addrs[0]); err != nil {
		return err
	}
	ready([]string{r.Addr()})
	for {
		m, err := r.Recv(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := r.Send(ctx, m); err != nil {
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
// loop returns.
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
	socks := make([]*zmqc.Socket, 0, len(types))
	defer func() {
		for _, s := range socks {
			if cerr := s.Close(); err == nil {
				err = cerr
			}
		}
	}()
	addrs := make([]string, len(types))
	for i, t := range types {
		s, err := zctx.Socket(t)
		if err != nil {
			return err
		}
		socks = append(socks, s)
		for _, o := range []zmqc.Option{zmqc.SndHWM, zmqc.RcvHWM} {
			if err := s.SetInt(o, cfg.HWM); err != nil {
				return err
			}
		}
		if err := s.SetInt(zmqc.Linger, 0); err != nil {
			return err
		}
		if addrs[i], err = s.Bind(zmqEndpoint(cfg.Addrs[i])); err != nil {
			return err
		}
	}
	ready(addrs)
	done := make(chan error, 1)
	go func() { done <- loop(socks) }()
	select {
	case err = <-done:
		if err == nil {
			err = errors.New("servers: libzmq loop ended on its own")
		}
		return err
	case <-ctx.Done():
	}
	if err := zctx.Shutdown(); err != nil {
		return err
	}
	return <-done
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
