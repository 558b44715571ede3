package peer

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// countingConn counts the Write calls on a connection.
type countingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// pair connects a ROUTER side (ours, to run as a Peer) to a DEALER side (the
// remote, driven by hand) over TCP loopback and runs both handshakes.
func pair(t *testing.T, maxSize int64) (local net.Conn, ls *zmtp.Session, remote net.Conn, rs *zmtp.Session) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	type res struct {
		c   net.Conn
		s   *zmtp.Session
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- res{err: err}
			return
		}
		s, err := zmtp.Handshake(c, &zmtp.Config{SocketType: zmtp.ROUTER, Timeout: 5 * time.Second, MaxSize: maxSize})
		ch <- res{c, s, err}
	}()
	remote, err = net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	rs, err = zmtp.Handshake(remote, &zmtp.Config{SocketType: zmtp.DEALER, Identity: []byte("dealer-1"), Timeout: 5 * time.Second, MaxSize: -1})
	require.NoError(t, err)
	r := <-ch
	require.NoError(t, r.err)
	t.Cleanup(func() { remote.Close() })
	return r.c, r.s, remote, rs
}

// pipePair is pair over net.Pipe, for tests that run on the fake clock of
// testing/synctest: the handshakes run in the bubble, and so does
// everything after.
func pipePair(t *testing.T, maxSize int64) (local net.Conn, ls *zmtp.Session, remote net.Conn, rs *zmtp.Session) {
	t.Helper()
	local, remote = net.Pipe()
	type res struct {
		s   *zmtp.Session
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := zmtp.Handshake(local, &zmtp.Config{SocketType: zmtp.ROUTER, MaxSize: maxSize})
		ch <- res{s, err}
	}()
	rs, err := zmtp.Handshake(remote, &zmtp.Config{SocketType: zmtp.DEALER, Identity: []byte("dealer-1"), MaxSize: -1})
	require.NoError(t, err)
	r := <-ch
	require.NoError(t, r.err)
	t.Cleanup(func() { remote.Close() })
	return local, r.s, remote, rs
}

type harness struct {
	p      *Peer
	in     *Inbox
	q      *Queue
	remote net.Conn
	rd     *zmtp.Reader
	exited chan struct{}
}

func startPeer(t *testing.T, cfg Config, maxSize int64, wrap func(net.Conn) net.Conn) *harness {
	t.Helper()
	local, ls, remote, rs := pair(t, maxSize)
	if wrap != nil {
		local = wrap(local)
	}
	return runPeer(t, cfg, local, ls, remote, rs)
}

// startPipePeer is startPeer over net.Pipe, for synctest.
func startPipePeer(t *testing.T, cfg Config) *harness {
	t.Helper()
	local, ls, remote, rs := pipePair(t, -1)
	return runPeer(t, cfg, local, ls, remote, rs)
}

func runPeer(t *testing.T, cfg Config, local net.Conn, ls *zmtp.Session, remote net.Conn, rs *zmtp.Session) *harness {
	h := &harness{in: NewInbox(), q: NewQueue(1000, 1), remote: remote, rd: rs.Reader, exited: make(chan struct{})}
	h.p = New(local, ls, h.q, h.in.NewSource(1000, nil), cfg, func(*Peer) { close(h.exited) })
	h.p.Run()
	t.Cleanup(func() {
		h.p.Close(socket.ClosedByOwner)
		<-h.exited
		h.q.Close()
		h.in.Close()
	})
	return h
}

// readMsg reads one message from the remote side, answering nothing.
func (h *harness) readMsg(t *testing.T) [][]byte {
	t.Helper()
	require.NoError(t, h.remote.SetReadDeadline(time.Now().Add(5*time.Second)))
	m := wire.Get()
	defer m.Release()
	for {
		hd, err := h.rd.ReadHeader()
		require.NoError(t, err)
		if hd.IsCommand() {
			_, err := h.rd.ReadCommand(hd)
			require.NoError(t, err)
			continue
		}
		require.NoError(t, h.rd.ReadFrameInto(m, hd))
		if !hd.More() {
			break
		}
	}
	var out [][]byte
	for _, f := range m.Frames {
		out = append(out, append([]byte{}, f...))
	}
	return out
}

// readCommand reads one command from the remote side.
func (h *harness) readCommand(t *testing.T) zmtp.Command {
	t.Helper()
	hd, err := h.rd.ReadHeader()
	require.NoError(t, err)
	require.True(t, hd.IsCommand())
	body, err := h.rd.ReadCommand(hd)
	require.NoError(t, err)
	c, err := zmtp.ParseCommand(body)
	require.NoError(t, err)
	return c
}

func TestPeerMessagesBothWays(t *testing.T) {
	h := startPeer(t, Config{ID: []byte("dealer-1")}, -1, nil)
	_, err := h.remote.Write(zmtp.AppendMessage(nil, [][]byte{{}, []byte("hello")}))
	require.NoError(t, err)
	m, err := h.in.Recv(context.Background())
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("dealer-1"), {}, []byte("hello")}, m.Frames)

	// Send it back: the writer leaves out the id frame and keeps the
	// empty delimiter.
	require.NoError(t, h.q.Push(m))
	assert.Equal(t, [][]byte{{}, []byte("hello")}, h.readMsg(t))
}

func TestPeerBurstIsFewWrites(t *testing.T) {
	var cc *countingConn
	h := startPeer(t, Config{}, -1, func(c net.Conn) net.Conn { cc = &countingConn{Conn: c}; return cc })
	const n = 1000
	// Queue the burst while the writer is busy with nothing: push all at
	// once under one take by holding the queue's lock.
	h.q.mu.Lock()
	for i := range n {
		m := wire.New([]byte("id"), []byte{byte(i)})
		h.q.msgs = append(h.q.msgs, m)
		h.q.n++
	}
	h.q.mu.Unlock()
	h.q.signal()
	for i := range n {
		got := h.readMsg(t)
		require.Equal(t, [][]byte{{byte(i)}}, got)
	}
	assert.LessOrEqual(t, cc.writes.Load(), int64(2), "a burst of %d messages", n)
}

func TestPeerLargeFramesGoOutIntact(t *testing.T) {
	h := startPeer(t, Config{}, -1, nil)
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	require.NoError(t, h.q.Push(wire.New([]byte("id"), []byte("a"), big, nil, []byte("z"))))
	got := h.readMsg(t)
	require.Len(t, got, 4)
	assert.Equal(t, "a", string(got[0]))
	assert.Equal(t, big, got[1])
	assert.Empty(t, got[2])
	assert.Equal(t, "z", string(got[3]))
}

// TestPeerLargeFramesComeInIntact: large frames, each followed by small
// ones, arrive whole over TCP, where the reader reads the end of each
// large body and what follows it in one readv.
func TestPeerLargeFramesComeInIntact(t *testing.T) {
	h := startPeer(t, Config{}, -1, nil)
	body := func(n, seed int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + seed)
		}
		return b
	}
	var want [][][]byte
	var stream []byte
	for i, n := range []int{64 << 10, 300 << 10, 40 << 10, 70000, 1 << 20} {
		m := [][]byte{body(n, i), []byte("tail")}
		want = append(want, m, [][]byte{{byte(i)}})
		stream = zmtp.AppendMessage(stream, m)
		stream = zmtp.AppendMessage(stream, [][]byte{{byte(i)}})
	}
	go func() { _, _ = h.remote.Write(stream) }()
	for i, w := range want {
		m, err := h.in.Recv(context.Background())
		require.NoError(t, err)
		require.Equal(t, len(w), len(m.Frames), "message %d", i)
		for j := range w {
			require.True(t, bytes.Equal(w[j], m.Frames[j]), "message %d frame %d", i, j)
		}
		m.Release()
	}
}

func TestPeerAnswersPing(t *testing.T) {
	h := startPeer(t, Config{}, -1, nil)
	_, err := h.remote.Write(zmtp.AppendCommand(nil, &zmtp.Ping{TTL: 0, Context: []byte("ctx-1")}))
	require.NoError(t, err)
	require.NoError(t, h.remote.SetReadDeadline(time.Now().Add(5*time.Second)))
	assert.Equal(t, &zmtp.Pong{Context: []byte("ctx-1")}, h.readCommand(t))
}

func TestPeerCloseReasons(t *testing.T) {
	tests := []struct {
		name    string
		maxSize int64
		send    []byte
		want    socket.CloseReason
	}{
		{"reserved flag bits", -1, []byte{0x80, 0x00}, socket.ProtocolError},
		{"oversized frame", 100, zmtp.AppendHeader(nil, 0, 1<<40), socket.TooLarge},
		{"peer ERROR", -1, zmtp.AppendCommand(nil, &zmtp.Error{Reason: "go away"}), socket.PeerSentError},
		{"bad command", -1, zmtp.AppendFrame(nil, zmtp.FlagCommand, nil), socket.ProtocolError},
		{"EOF mid-frame", -1, []byte{0x00, 0x10, 'a'}, socket.PeerClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := startPeer(t, Config{}, tt.maxSize, nil)
			_, err := h.remote.Write(tt.send)
			require.NoError(t, err)
			if tt.want == socket.PeerClosed {
				require.NoError(t, h.remote.Close())
			}
			select {
			case <-h.exited:
			case <-time.After(5 * time.Second):
				t.Fatal("peer did not end")
			}
			assert.Equal(t, tt.want, h.p.Reason())
		})
	}
}

// The heartbeat tests run on synctest's fake clock over net.Pipe: a timeout
// of seconds takes no time, and a loaded machine cannot make them flake.

func TestPeerHeartbeatTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startPipePeer(t, Config{HeartbeatIvl: time.Second, HeartbeatTimeout: 3 * time.Second})
		// The remote never answers: it reads the PINGs and says nothing.
		start := time.Now()
		go func() { _, _ = io.Copy(io.Discard, h.remote) }()
		<-h.exited
		assert.Equal(t, socket.HeartbeatTimeout, h.p.Reason())
		// The first PING goes out after 1s; it is dead 3s after that.
		assert.Equal(t, 4*time.Second, time.Since(start))
	})
}

func TestPeerHeartbeatKeepsAnsweringPeerAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startPipePeer(t, Config{HeartbeatIvl: time.Second, HeartbeatTTL: 10 * time.Second, HeartbeatTimeout: 5 * time.Second})
		// The remote answers every PING with a PONG for 30 PINGs, six
		// timeouts long, checking the TTL we asked for.
		start := time.Now()
		for pings := 0; pings < 30; {
			ping, ok := h.readCommand(t).(*zmtp.Ping)
			require.True(t, ok)
			assert.EqualValues(t, 100, ping.TTL, "TTL in tenths of a second")
			_, err := h.remote.Write(zmtp.AppendCommand(nil, &zmtp.Pong{Context: ping.Context}))
			require.NoError(t, err)
			pings++
		}
		assert.Equal(t, 30*time.Second, time.Since(start), "one PING a second")
		assert.Equal(t, socket.Open, h.p.Reason())
	})
}

func TestPeerHonoursPeerTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startPipePeer(t, Config{})
		go func() { _, _ = io.Copy(io.Discard, h.remote) }()
		// A PING asking for a 2.5s TTL, then silence: we must hang up
		// 2.5s later.
		_, err := h.remote.Write(zmtp.AppendCommand(nil, &zmtp.Ping{TTL: 25}))
		require.NoError(t, err)
		start := time.Now()
		<-h.exited
		assert.Equal(t, socket.HeartbeatTimeout, h.p.Reason())
		assert.Equal(t, 2500*time.Millisecond, time.Since(start))
	})
}

// TestPeerCutsLongPingContext: libzmq answers a PING whose context is longer
// than 16 bytes with the first 16, and keeps the connection.
func TestPeerCutsLongPingContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startPipePeer(t, Config{})
		long := "0123456789abcdef and 24 more bytes......"
		ping := zmtp.AppendHeader(nil, zmtp.FlagCommand, 1+4+2+len(long))
		ping = append(append(append(ping, 4), "PING"...), 0, 0)
		_, err := h.remote.Write(append(ping, long...))
		require.NoError(t, err)
		assert.Equal(t, &zmtp.Pong{Context: []byte(long[:16])}, h.readCommand(t))

		_, err = h.remote.Write(zmtp.AppendMessage(nil, [][]byte{[]byte("still here")}))
		require.NoError(t, err)
		m, err := h.in.Recv(context.Background())
		require.NoError(t, err, "the connection stays up")
		assert.Equal(t, "still here", string(m.Frames[0]))
		m.Release()
		assert.Equal(t, socket.Open, h.p.Reason())
	})
}

// TestPeerWriteTimeout: a write the remote never takes ends the connection
// as a slow consumer once the bound passes, whether the bound is the send
// timeout or the heartbeat timeout; a remote that reads keeps it up.
func TestPeerWriteTimeout(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want time.Duration // from the write to the close
	}{
		{"send timeout", Config{WriteTimeout: 2 * time.Second}, 2 * time.Second},
		{"heartbeat timeout", Config{HeartbeatIvl: time.Hour, HeartbeatTimeout: 3 * time.Second}, 3 * time.Second},
		{"heartbeat interval", Config{HeartbeatIvl: 5 * time.Second}, 5 * time.Second},
		{"shorter of both", Config{WriteTimeout: 7 * time.Second, HeartbeatIvl: time.Hour, HeartbeatTimeout: 4 * time.Second}, 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := startPipePeer(t, tt.cfg)
				// net.Pipe has no buffer: the write waits until the remote
				// reads, which it never does.
				start := time.Now()
				require.NoError(t, h.q.Push(wire.New([]byte("id"), []byte("never read"))))
				<-h.exited
				assert.Equal(t, socket.SlowConsumer, h.p.Reason())
				assert.Equal(t, tt.want, time.Since(start))
			})
		})
	}
	t.Run("reader keeps it up", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startPipePeer(t, Config{WriteTimeout: time.Second})
			for i := range 10 {
				time.Sleep(3 * time.Second) // idle longer than the bound: no write waits meanwhile
				require.NoError(t, h.q.Push(wire.New([]byte("id"), []byte{byte(i)})))
				assert.Equal(t, [][]byte{{byte(i)}}, h.readMsg(t))
			}
			assert.Equal(t, socket.Open, h.p.Reason())
		})
	})
}
