package router

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/socket"
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
