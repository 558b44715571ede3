package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// The benchmarks drive the router over real TCP loopback with raw ZMTP
// DEALER peers: a handshake from package zmtp, then frames written and read
// by hand, so that the client side costs little and allocates nothing.
// Cross-library comparisons (libzmq, go-zeromq/zmq4, raw TCP) live in the
// interop module's zbench harness.

// benchIOTimeout bounds every read and write of a benchmark peer, so that a
// lost message fails the benchmark instead of hanging it.
const benchIOTimeout = 30 * time.Second

// benchPeer is one raw ZMTP DEALER connection.
type benchPeer struct {
	conn net.Conn
	sess *zmtp.Session
}

func benchRouter(b *testing.B, opts ...socket.Option) *Router {
	b.Helper()
	r, err := New(opts...)
	require.NoError(b, err)
	require.NoError(b, r.Bind("tcp://127.0.0.1:0"))
	b.Cleanup(func() { require.NoError(b, r.Close()) })
	return r
}

// dialBench connects a DEALER with routing id id (none when empty) and
// waits until the router has admitted it.
func dialBench(b *testing.B, r *Router, id string) *benchPeer {
	b.Helper()
	before := r.Stats().Connected
	c, err := net.Dial("tcp", strings.TrimPrefix(r.Addr(), "tcp://"))
	require.NoError(b, err)
	b.Cleanup(func() { _ = c.Close() })
	cfg := &zmtp.Config{SocketType: zmtp.DEALER, Timeout: benchIOTimeout, MaxSize: -1}
	if id != "" {
		cfg.Identity = []byte(id)
	}
	s, err := zmtp.Handshake(c, cfg)
	require.NoError(b, err)
	require.Eventually(b, func() bool { return r.Stats().Connected > before }, benchIOTimeout, time.Millisecond)
	return &benchPeer{conn: c, sess: s}
}

// write sends n one-frame messages holding body, encoding as many as it may
// into each write. With tokens set it takes one token for each message
// first, which bounds the messages in flight; it gives up when stop closes.
func (p *benchPeer) write(n int, body []byte, tokens chan struct{}, stop <-chan struct{}) error {
	buf := make([]byte, 0, 256<<10)
	for sent := 0; sent < n; {
		buf = buf[:0]
		k := 0
	fill:
		for sent+k < n && len(buf) < 128<<10 {
			if tokens != nil {
				if k == 0 {
					select {
					case tokens <- struct{}{}:
					case <-stop:
						return nil
					}
				} else {
					select {
					case tokens <- struct{}{}:
					default:
						break fill
					}
				}
			}
			buf = zmtp.AppendFrame(buf, 0, body)
			k++
		}
		if err := p.conn.SetWriteDeadline(time.Now().Add(benchIOTimeout)); err != nil {
			return err
		}
		if _, err := p.conn.Write(buf); err != nil {
			return err
		}
		sent += k
	}
	return nil
}

// read receives n messages and passes each to check; the message is reused
// afterwards. Commands are skipped.
func (p *benchPeer) read(n int, check func(m *wire.Msg) error) error {
	rd := p.sess.Reader
	m := wire.Get()
	defer m.Release()
	for got := 0; got < n; {
		if err := p.conn.SetReadDeadline(time.Now().Add(benchIOTimeout)); err != nil {
			return err
		}
		h, err := rd.ReadHeader()
		if err != nil {
			return err
		}
		if h.IsCommand() {
			if _, err := rd.ReadCommand(h); err != nil {
				return err
			}
			continue
		}
		if err := rd.ReadFrameInto(m, h); err != nil {
			return err
		}
		if h.More() {
			continue
		}
		if check != nil {
			if err := check(m); err != nil {
				return err
			}
		}
		m.Reset()
		got++
	}
	return nil
}

// share splits n messages over k clients.
func share(n, k, i int) int {
	s := n / k
	if i < n%k {
		s++
	}
	return s
}

// runEcho serves r as an echo server until the benchmark ends.
func runEcho(b *testing.B, r *Router) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := r.Recv(ctx)
			if err != nil {
				return
			}
			if r.Send(ctx, m) != nil {
				m.Release()
			}
		}
	}()
	b.Cleanup(func() {
		cancel()
		<-done
	})
}

func oneFrameOf(size int) func(m *wire.Msg) error {
	return func(m *wire.Msg) error {
		if len(m.Frames) != 1 || len(m.Frames[0]) != size {
			return fmt.Errorf("got %d frames (first %d bytes), want one of %d bytes", len(m.Frames), len(m.Frames[0]), size)
		}
		return nil
	}
}

// BenchmarkEcho measures the whole round trip: DEALER peers send messages
// over loopback, the router's user Recvs each one and Sends it back, and
// the peers read the replies. Each peer keeps up to a window of messages in
// flight. One op is one message echoed.
func BenchmarkEcho(b *testing.B) {
	for _, bc := range []struct {
		clients, size, window int
	}{
		{1, 16, 256},
		{8, 16, 256},
		{8, 1 << 10, 256},
		{8, 64 << 10, 16},
	} {
		name := fmt.Sprintf("%dx%dB", bc.clients, bc.size)
		b.Run(name, func(b *testing.B) {
			r := benchRouter(b)
			runEcho(b, r)
			peers := make([]*benchPeer, bc.clients)
			for i := range peers {
				peers[i] = dialBench(b, r, "")
			}
			body := make([]byte, bc.size)
			b.SetBytes(int64(bc.size))
			b.ReportAllocs()
			b.ResetTimer()
			errs := make(chan error, 2*bc.clients)
			for i, p := range peers {
				n := share(b.N, bc.clients, i)
				tokens := make(chan struct{}, bc.window)
				stop := make(chan struct{})
				go func() { errs <- p.write(n, body, tokens, stop) }()
				go func() {
					check := oneFrameOf(bc.size)
					err := p.read(n, func(m *wire.Msg) error {
						<-tokens
						return check(m)
					})
					close(stop)
					errs <- err
				}()
			}
			for range 2 * bc.clients {
				require.NoError(b, <-errs)
			}
		})
	}
}

// BenchmarkFanIn measures receiving: eight peers send as fast as they can
// and the router's user Recvs every message. One op is one message
// received.
func BenchmarkFanIn(b *testing.B) {
	const clients = 8
	r := benchRouter(b)
	peers := make([]*benchPeer, clients)
	for i := range peers {
		peers[i] = dialBench(b, r, "")
	}
	body := make([]byte, 16)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	errs := make(chan error, clients)
	for i, p := range peers {
		go func() { errs <- p.write(share(b.N, clients, i), body, nil, nil) }()
	}
	ctx, cancel := context.WithTimeout(context.Background(), benchIOTimeout)
	defer cancel()
	for range b.N {
		m, err := r.Recv(ctx)
		require.NoError(b, err)
		if len(m.Frames) != 2 || len(m.Frames[1]) != len(body) {
			require.Fail(b, "bad message", "%d frames", len(m.Frames))
		}
		m.Release()
	}
	b.StopTimer()
	for range clients {
		require.NoError(b, <-errs)
	}
}

// counter counts the messages that peers read, and reports when a target
// is reached.
type counter struct {
	n      atomic.Int64
	target int64
	done   chan struct{}
}

func newCounter(target int) *counter {
	c := &counter{target: int64(target), done: make(chan struct{})}
	if target == 0 {
		close(c.done)
	}
	return c
}

func (c *counter) add(*wire.Msg) error {
	if c.n.Add(1) == c.target {
		close(c.done)
	}
	return nil
}

// wait waits until the target is reached, or fails the benchmark.
func (c *counter) wait(b *testing.B) {
	b.Helper()
	select {
	case <-c.done:
	case <-time.After(benchIOTimeout):
		require.Fail(b, "messages lost", "%d of %d arrived", c.n.Load(), c.target)
	}
}

// readAll runs a reader for every peer that hands each message to onMsg
// until the router closes the connection. The returned function closes r
// and waits for the readers; a reader that failed otherwise fails the
// benchmark.
func readAll(b *testing.B, r *Router, peers []*benchPeer, onMsg func(*wire.Msg) error) (closeAndWait func()) {
	var wg sync.WaitGroup
	errs := make(chan error, len(peers))
	for _, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := p.read(int(^uint(0)>>1), onMsg)
			if err != nil && !errors.Is(err, net.ErrClosed) && !isEOF(err) {
				errs <- err
			}
		}()
	}
	return func() {
		require.NoError(b, r.Close())
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(b, err)
		}
	}
}

// BenchmarkFanOut measures sending: the router's user sends to eight peers,
// and the peers read everything. In Standard mode the user names each peer
// in turn; in LoadBalancer mode the hub picks the next peer with room.
// Mandatory mode makes Send wait for room instead of dropping, so that
// every message arrives. One op is one message sent and read.
func BenchmarkFanOut(b *testing.B) {
	const clients = 8
	for _, mode := range []Mode{Standard, LoadBalancer} {
		b.Run(mode.String(), func(b *testing.B) {
			r := benchRouter(b, WithMode(mode), WithMandatory(true))
			peers := make([]*benchPeer, clients)
			ids := make([][]byte, clients)
			for i := range peers {
				ids[i] = fmt.Appendf(nil, "peer-%d", i)
				peers[i] = dialBench(b, r, string(ids[i]))
			}
			body := make([]byte, 16)
			ctx, cancel := context.WithTimeout(context.Background(), benchIOTimeout)
			defer cancel()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			got := newCounter(b.N)
			check := oneFrameOf(len(body))
			closeAndWait := readAll(b, r, peers, func(m *wire.Msg) error {
				if err := check(m); err != nil {
					return err
				}
				return got.add(m)
			})
			for i := range b.N {
				m := wire.Get()
				if mode == Standard {
					m.AppendRef(ids[i%clients])
				}
				m.AppendFrame(body)
				if err := r.Send(ctx, m); err != nil {
					m.Release()
					require.NoError(b, err)
				}
			}
			got.wait(b)
			b.StopTimer()
			closeAndWait()
		})
	}
}

// BenchmarkStandardSend measures the Standard-mode Send path alone: table
// lookup and queueing for one of many connected peers, whose writers drain
// the queues to readers that discard everything. Send waits for room when a
// queue is full (mandatory mode), so the writers set the pace once the
// queues fill. One op is one Send.
func BenchmarkStandardSend(b *testing.B) {
	for _, npeers := range []int{1, 64} {
		b.Run(fmt.Sprintf("peers=%d", npeers), func(b *testing.B) {
			r := benchRouter(b, WithMandatory(true))
			ids := make([][]byte, npeers)
			peers := make([]*benchPeer, npeers)
			for i := range ids {
				ids[i] = fmt.Appendf(nil, "peer-%d", i)
				peers[i] = dialBench(b, r, string(ids[i]))
			}
			closeAndWait := readAll(b, r, peers, nil)
			body := make([]byte, 16)
			ctx, cancel := context.WithTimeout(context.Background(), benchIOTimeout)
			defer cancel()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				m := wire.Get()
				m.AppendRef(ids[i%npeers])
				m.AppendFrame(body)
				if err := r.Send(ctx, m); err != nil {
					m.Release()
					require.NoError(b, err)
				}
			}
			b.StopTimer()
			closeAndWait()
		})
	}
}

// isEOF reports whether err is the end of a connection the other side
// closed.
func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}
