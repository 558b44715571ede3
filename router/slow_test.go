package router

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// waitDisconnect returns the reason of the first EventDisconnected on mon,
// failing after limit.
func waitDisconnect(t *testing.T, mon *socket.Monitor, limit time.Duration) socket.CloseReason {
	t.Helper()
	deadline := time.After(limit)
	for {
		select {
		case ev := <-mon.C:
			if ev.Kind == socket.EventDisconnected {
				return ev.Reason
			}
		case <-deadline:
			t.Fatalf("no disconnect within %v", limit)
		}
	}
}

// fillSlowPeer connects a peer that never reads, with a small receive
// window, and sends it 16 KiB messages until the router's writer must wait
// for the kernel: more than any loopback socket buffers.
func fillSlowPeer(t *testing.T, r *Router) {
	t.Helper()
	p := dialRaw(t, r.Addr(), zmtp.DEALER, "slow")
	require.NoError(t, p.conn.(*net.TCPConn).SetReadBuffer(4<<10))
	waitPeers(t, r, 1)
	body := make([]byte, 16<<10)
	for range 1000 {
		require.NoError(t, r.SendFrames(t.Context(), []byte("slow"), body))
	}
}

// TestSlowConsumerHeartbeat: with heartbeats on, a peer whose receive
// window is full (it stopped reading) is dropped as a slow consumer within
// the heartbeat timeout, though the writer waits in a write. The kernel's
// zero window is the point, so this runs over real TCP.
func TestSlowConsumerHeartbeat(t *testing.T) {
	r := newRouter(t, socket.WithHeartbeat(socket.Heartbeat{Interval: time.Second, Timeout: time.Second}))
	mon := r.Monitor(64)
	fillSlowPeer(t, r)
	assert.Equal(t, socket.SlowConsumer, waitDisconnect(t, mon, 20*time.Second))
	assert.EqualValues(t, 1, r.Stats().CloseReasons[socket.SlowConsumer])
}

// TestSlowConsumerSendTimeout: without heartbeats, the send timeout does
// the same.
func TestSlowConsumerSendTimeout(t *testing.T) {
	r := newRouter(t, socket.WithSendTimeout(time.Second))
	mon := r.Monitor(64)
	fillSlowPeer(t, r)
	assert.Equal(t, socket.SlowConsumer, waitDisconnect(t, mon, 20*time.Second))
}

// sendEmptyFrames writes n empty frames with the MORE flag, and no last
// frame: a message that never ends. It stops at the first write error (the
// router hung up).
func sendEmptyFrames(p *rawPeer, n int) {
	chunk := make([]byte, 0, 2<<10)
	for range 1 << 10 {
		chunk = append(chunk, zmtp.FlagMore, 0)
	}
	for sent := 0; sent < n; sent += 1 << 10 {
		b := chunk[:2*min(n-sent, 1<<10)]
		if _, err := p.conn.Write(b); err != nil {
			return
		}
	}
}

// TestMessageBounds: a message of more frames, or more frame bytes, than
// the bound closes its connection as too large (issue 17, defect 2). The
// default bound on frames is above the million empty frames a libzmq peer
// may send.
func TestMessageBounds(t *testing.T) {
	t.Run("default frames", func(t *testing.T) {
		r := newRouter(t, socket.WithMaxMsgSize(16))
		mon := r.Monitor(64)
		p := dialRaw(t, r.Addr(), zmtp.DEALER, "")
		waitPeers(t, r, 1)
		go sendEmptyFrames(p, 4*socket.DefaultMaxMsgFrames) // 8 MiB
		assert.Equal(t, socket.TooLarge, waitDisconnect(t, mon, 20*time.Second))
	})
	t.Run("a million frames pass", func(t *testing.T) {
		r := newRouter(t)
		p := dialRaw(t, r.Addr(), zmtp.DEALER, "")
		sendEmptyFrames(p, 1_000_000-1)
		p.send("last")
		got := recvMsg(t, r)
		assert.Equal(t, 1+1_000_000, len(got.Frames))
		got.Release()
	})
	tests := []struct {
		name   string
		frames int
		bytes  int64
		send   [][]byte
		closed bool
	}{
		{"frames at the bound", 3, 0, [][]byte{{1}, {2}, {3}}, false},
		{"frames over", 3, 0, [][]byte{{1}, {2}, {3}, {4}}, true},
		{"bytes at the bound", 0, 6, [][]byte{[]byte("abc"), []byte("def")}, false},
		{"bytes over in the last frame", 0, 6, [][]byte{[]byte("abc"), []byte("defg")}, true},
		{"bytes over claimed by a header", 0, 100, [][]byte{[]byte("abc"), make([]byte, 1<<20)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRouter(t, socket.WithMaxMessage(tt.frames, tt.bytes))
			mon := r.Monitor(64)
			p := dialRaw(t, r.Addr(), zmtp.DEALER, "")
			_, _ = p.conn.Write(zmtp.AppendMessage(nil, tt.send))
			if tt.closed {
				assert.Equal(t, socket.TooLarge, waitDisconnect(t, mon, 20*time.Second))
				return
			}
			got := recvMsg(t, r)
			assert.Equal(t, 1+len(tt.send), len(got.Frames))
			got.Release()
			p.send("x")
			assert.Equal(t, 2, len(recvStrings(t, r)), "the connection stays up")
		})
	}
}

func recvMsg(t *testing.T, r *Router) *wire.Msg {
	t.Helper()
	m, err := r.Recv(testutil.Context(t, 20*time.Second))
	require.NoError(t, err)
	return m
}

// TestNotifyBound: peers that come and go while the application does not
// read leave at most the receive high-water mark of ROUTER_NOTIFY messages
// in the inbox; the rest are dropped and counted (issue 17, defect 2).
func TestNotifyBound(t *testing.T) {
	r := newRouter(t, WithNotify(NotifyConnect|NotifyDisconnect), socket.WithRecvHWM(5))
	for i := range 20 {
		p := dialRaw(t, r.Addr(), zmtp.DEALER, "")
		testutil.CheckFor(t, 10*time.Second, func() bool { return r.Stats().Connected == uint64(i+1) })
		p.conn.Close()
		testutil.CheckFor(t, 10*time.Second, func() bool { return r.Stats().Disconnected == uint64(i+1) })
	}
	testutil.CheckFor(t, 10*time.Second, func() bool { return r.Stats().DroppedHWM == 35 }, "40 notifications, 5 kept")
	n := 0
	for {
		m, err := r.TryRecv()
		if err != nil {
			break
		}
		m.Release()
		n++
	}
	assert.Equal(t, 5, n)
}
