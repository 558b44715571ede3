package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// waitLimit bounds every wait for something that should happen soon: a
// connection coming up, a peer going away. It is generous so that a slow CI
// machine does not fail a test; a correct run takes a small fraction of it.
const waitLimit = 10 * time.Second

// newRouter returns a zrouter Router bound on tcp://127.0.0.1:0 and closed
// when the test ends.
// noLinger comes first in the options of the tests' sockets: they drop what
// is queued at Close, as a test that does not test linger wants, unless a
// later option says otherwise.
var noLinger = socket.WithLinger(0)

func newRouter(t testing.TB, opts ...socket.Option) *router.Router {
	t.Helper()
	r := newUnboundRouter(t, opts...)
	require.NoError(t, r.Bind("tcp://127.0.0.1:0"))
	require.Regexp(t, `^tcp://127\.0\.0\.1:\d+$`, r.Addr())
	return r
}

// newUnboundRouter returns a zrouter Router closed when the test ends.
func newUnboundRouter(t testing.TB, opts ...socket.Option) *router.Router {
	t.Helper()
	r, err := router.New(append([]socket.Option{noLinger}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, r.Close(), "close router") })
	return r
}

// copyFrames returns a deep copy of m's frames, so that m can be released.
func copyFrames(m *wire.Msg) [][]byte {
	out := make([][]byte, len(m.Frames))
	for i, f := range m.Frames {
		out[i] = bytes.Clone(f)
		if out[i] == nil {
			out[i] = []byte{}
		}
	}
	return out
}

// recvFrames receives one message from r within ioTimeout and returns a
// copy of its frames, [routing-id, frames...].
func recvFrames(t *testing.T, r *router.Router) [][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	m, err := r.Recv(ctx)
	require.NoError(t, err, "router Recv")
	defer m.Release()
	return copyFrames(m)
}

// sendFrames sends frames through r within ioTimeout.
func sendFrames(t *testing.T, r *router.Router, frames ...[]byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	require.NoError(t, r.SendFrames(ctx, frames...), "router Send")
}

// startEcho runs a goroutine that sends every message r receives back to
// its sender, unchanged. inspect, if not nil, sees each message first, on
// the echo goroutine (it may use assert, not require). The goroutine ends
// when the test does, before r is closed when r was made first.
func startEcho(t *testing.T, r *router.Router, inspect func(frames [][]byte)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := r.Recv(ctx)
			if err != nil {
				if ctx.Err() == nil {
					assert.ErrorIs(t, err, net.ErrClosed, "echo Recv")
				}
				return
			}
			if inspect != nil {
				inspect(m.Frames)
			}
			if err := r.Send(ctx, m); err != nil {
				m.Release()
				if ctx.Err() == nil {
					assert.NoError(t, err, "echo Send")
				}
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// zmqRecv receives one whole message from s within its receive timeout.
func zmqRecv(t *testing.T, s *zmq.Socket) [][]byte {
	t.Helper()
	msg, err := s.RecvMessageBytes(0)
	require.NoError(t, err, "libzmq receive")
	return msg
}

// zmqSend sends frames as one message on s.
func zmqSend(t *testing.T, s *zmq.Socket, frames ...[]byte) {
	t.Helper()
	_, err := s.SendMessage(frames)
	require.NoError(t, err, "libzmq send")
}

// strs turns frames into strings, so that an empty frame compares equal
// whether it is nil or not, and a failure prints readably.
func strs(frames [][]byte) []string {
	out := make([]string, len(frames))
	for i, f := range frames {
		out[i] = string(f)
	}
	return out
}

// bs turns strings into frames.
func bs(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// isErrno reports whether err is the libzmq error number e.
func isErrno(err error, e zmq.Errno) bool {
	return err != nil && zmq.AsErrno(err) == e
}

// tcpAddr strips the tcp:// scheme from an endpoint.
func tcpAddr(t *testing.T, endpoint string) string {
	t.Helper()
	addr, ok := strings.CutPrefix(endpoint, "tcp://")
	require.True(t, ok, "endpoint %q is not tcp://", endpoint)
	return addr
}

// handshakeResult is the outcome of a raw handshake run by acceptHandshake.
type handshakeResult struct {
	conn net.Conn
	sess *zmtp.Session
	err  error
}

// acceptHandshake listens on 127.0.0.1:0 and, on a goroutine, accepts one
// connection and runs zmtp.Handshake on it with cfg. It returns the
// endpoint to connect to and a channel that yields the result once. The
// listener and the accepted connection are closed when the test ends.
func acceptHandshake(t *testing.T, cfg *zmtp.Config) (endpoint string, result <-chan handshakeResult) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return acceptHandshakeOn(t, ln, cfg)
}

// acceptHandshakeOn is acceptHandshake on a listener of the caller's.
func acceptHandshakeOn(t *testing.T, ln net.Listener, cfg *zmtp.Config) (endpoint string, result <-chan handshakeResult) {
	t.Helper()
	ch := make(chan handshakeResult, 1)
	done := make(chan struct{})
	var conn net.Conn
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			ch <- handshakeResult{err: err}
			return
		}
		conn = c
		s, err := zmtp.Handshake(c, cfg)
		ch <- handshakeResult{conn: c, sess: s, err: err}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		if conn != nil {
			_ = conn.Close()
		}
	})
	return "tcp://" + ln.Addr().String(), ch
}

// waitHandshake returns the result of acceptHandshake, failing the test if
// it takes longer than ioTimeout.
func waitHandshake(t *testing.T, ch <-chan handshakeResult) handshakeResult {
	t.Helper()
	select {
	case res := <-ch:
		return res
	case <-time.After(ioTimeout):
		require.FailNow(t, "no handshake within "+ioTimeout.String())
		return handshakeResult{}
	}
}

// readMessage reads one whole message from a session's Reader, skipping
// commands (such as PING), and returns its frames.
func readMessage(t *testing.T, conn net.Conn, rd *zmtp.Reader) [][]byte {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(ioTimeout)))
	m := wire.Get()
	defer m.Release()
	for {
		h, err := rd.ReadHeader()
		require.NoError(t, err, "read frame header")
		if h.IsCommand() {
			_, err := rd.ReadCommand(h)
			require.NoError(t, err, "read command")
			continue
		}
		require.NoError(t, rd.ReadFrameInto(m, h), "read frame body")
		if !h.More() {
			return copyFrames(m)
		}
	}
}

// recordConn is a net.Conn that keeps a copy of every byte read from it.
type recordConn struct {
	net.Conn
	mu  sync.Mutex
	got []byte
}

func (c *recordConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.got = append(c.got, p[:n]...)
	c.mu.Unlock()
	return n, err
}

// bytesRead returns a copy of everything read so far.
func (c *recordConn) bytesRead() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.got)
}

// proxy is a loopback TCP proxy between libzmq and zrouter. It forwards
// bytes both ways, records up to maxRecord bytes of each direction, and can
// be told to black-hole all traffic, as a network partition would: from
// then on it reads and drops everything, forwards no close, and accepts new
// connections without connecting them anywhere.
type proxy struct {
	ln     net.Listener
	target string
	drop   atomic.Bool

	mu     sync.Mutex
	closed bool
	conns  []net.Conn
	up     []byte // client to target
	down   []byte // target to client
	wg     sync.WaitGroup
}

// maxRecord bounds what a proxy records in each direction.
const maxRecord = 1 << 20

// newProxy starts a proxy to target (tcp://HOST:PORT) on 127.0.0.1:0. It is
// closed when the test ends, after every goroutine it started has returned.
func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{ln: ln, target: tcpAddr(t, target)}
	p.wg.Add(1)
	go p.acceptLoop()
	t.Cleanup(p.close)
	return p
}

// Endpoint returns the proxy's address as tcp://HOST:PORT.
func (p *proxy) Endpoint() string { return "tcp://" + p.ln.Addr().String() }

// Drop makes the proxy silently drop all traffic from now on.
func (p *proxy) Drop() { p.drop.Store(true) }

// Count returns how many times pat occurs in what the proxy has forwarded
// (or dropped) from the client to the target (up) or the other way.
func (p *proxy) Count(up bool, pat []byte) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if up {
		return bytes.Count(p.up, pat)
	}
	return bytes.Count(p.down, pat)
}

// track registers c to be closed by close. Once the proxy is closing it
// closes c at once and reports false.
func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = c.Close()
		return false
	}
	p.conns = append(p.conns, c)
	return true
}

func (p *proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		if !p.track(client) {
			return
		}
		if p.drop.Load() {
			p.wg.Add(1)
			go p.pump(client, nil, nil)
			continue
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		if !p.track(server) {
			_ = client.Close()
			return
		}
		p.wg.Add(2)
		go p.pump(client, server, &p.up)
		go p.pump(server, client, &p.down)
	}
}

// pump copies src to dst (nil: drop everything) and records into rec.
func (p *proxy) pump(src, dst net.Conn, rec *[]byte) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && rec != nil {
			p.mu.Lock()
			if room := maxRecord - len(*rec); room > 0 {
				*rec = append(*rec, buf[:min(n, room)]...)
			}
			p.mu.Unlock()
		}
		if n > 0 && dst != nil && !p.drop.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil && err == nil {
				err = werr
			}
		}
		if err != nil {
			if !p.drop.Load() && dst != nil {
				// Pass the close on, as a plain TCP path would.
				_ = src.Close()
				_ = dst.Close()
			}
			return
		}
	}
}

// close stops the proxy and waits for its goroutines.
func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.mu.Unlock()
	_ = p.ln.Close()
	for _, c := range conns {
		_ = c.Close()
	}
	p.wg.Wait()
}

// pingPattern and pongPattern match the name part of a PING and a PONG
// command body as ZMTP 3.1 encodes it: name length, then name.
var (
	pingPattern = []byte("\x04PING")
	pongPattern = []byte("\x04PONG")
)

// frameTag names message i of sender id for crosstalk checks.
func frameTag(id, i int) string { return fmt.Sprintf("peer-%03d/msg-%03d", id, i) }

// errAs is errors.As for a target type, for one-line assertions.
func errAs[T error](err error) (T, bool) {
	var target T
	ok := errors.As(err, &target)
	return target, ok
}
