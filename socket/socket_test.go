package socket_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
)

// TestOptionsValidated: as zmq_setsockopt returns EINVAL, New refuses a bad
// value, an option of another socket type, and a Connect option given to the
// socket, all with ErrBadOption; the cause is in the error too.
func TestOptionsValidated(t *testing.T) {
	tests := []struct {
		name  string
		opt   socket.Option
		cause error
	}{
		{"empty routing id", socket.WithRoutingID(nil), socket.ErrBadRoutingID},
		{"reserved routing id", socket.WithRoutingID([]byte{0, 'x'}), socket.ErrBadRoutingID},
		{"long routing id", socket.WithRoutingID(make([]byte, 256)), socket.ErrBadRoutingID},
		{"negative send hwm", socket.WithSendHWM(-1), nil},
		{"negative recv hwm", socket.WithRecvHWM(-1), nil},
		{"negative peer limit", socket.WithMaxPeers(-1), nil},
		// libzmq: ZMQ_HEARTBEAT_TTL of 6553600 ms is EINVAL, 6553599 is not.
		{"TTL above what the wire carries", socket.WithHeartbeat(socket.Heartbeat{TTL: socket.MaxHeartbeatTTL + time.Millisecond}), nil},
		{"negative heartbeat", socket.WithHeartbeat(socket.Heartbeat{Interval: -time.Second}), nil},
		{"negative handshake timeout", socket.WithHandshakeTimeout(-1), nil},
		{"negative keepalive", socket.WithTCPKeepalive(socket.TCPKeepalive{Enable: true, Idle: -1}), nil},
		{"zero option", socket.Option{}, nil},
		{"metadata not X-", socket.WithMetadata("Role", "x"), nil},
		{"empty metadata value", socket.WithMetadata("X-Role", ""), nil},
		{"ROUTER option on a DEALER", router.WithMandatory(true), nil},
		{"Connect option on New", router.ConnectRoutingID([]byte("x")), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dealer.New(tc.opt)
			require.ErrorIs(t, err, socket.ErrBadOption)
			if tc.cause != nil {
				assert.ErrorIs(t, err, tc.cause)
			}
		})
	}
	d, err := dealer.New(socket.WithHeartbeat(socket.Heartbeat{Interval: time.Second, TTL: socket.MaxHeartbeatTTL}), socket.WithLinger(0))
	require.NoError(t, err, "the largest TTL is allowed")
	defer d.Close()
	assert.ErrorIs(t, d.Connect("tcp://127.0.0.1:1", socket.WithLinger(time.Second)), socket.ErrBadOption, "linger is the socket's, not one connection's")
	assert.ErrorIs(t, d.Connect("tcp://127.0.0.1:1", router.ConnectRoutingID([]byte("x"))), socket.ErrBadOption, "a ROUTER's option")
	assert.ErrorIs(t, d.SetSendHWM(-1), socket.ErrBadOption)
}

func TestCloseReasonString(t *testing.T) {
	assert.Equal(t, "heartbeat timeout", socket.HeartbeatTimeout.String())
	assert.Equal(t, "unknown", socket.CloseReason(99).String())
	assert.Equal(t, "handshake succeeded", socket.EventHandshakeSucceeded.String())
	assert.Equal(t, "unknown", socket.EventKind(0).String())
	assert.Equal(t, "socket type", socket.HandshakeSocketType.String())
}

// TestMonitorNeverSlowsTheSocket: events beyond a monitor's buffer are
// dropped and counted; Stop sends EventMonitorStopped last and closes C.
func TestMonitorNeverSlowsTheSocket(t *testing.T) {
	r, err := router.New(socket.WithLinger(0))
	require.NoError(t, err)
	m := r.Monitor(2)
	for range 5 {
		require.NoError(t, r.Bind("tcp://127.0.0.1:*")) // one EventListening each
	}
	assert.EqualValues(t, 3, m.Dropped())
	assert.EqualValues(t, 3, r.Stats().EventsDropped)
	m.Stop()
	m.Stop()
	var got []socket.EventKind
	for ev := range m.C {
		got = append(got, ev.Kind)
	}
	assert.Equal(t, []socket.EventKind{socket.EventListening, socket.EventListening, socket.EventMonitorStopped}, got)

	closing := r.Monitor(16)
	require.NoError(t, r.Close())
	var last socket.Event
	n := 0
	for ev := range closing.C {
		last = ev
		n++
	}
	assert.Equal(t, socket.EventMonitorStopped, last.Kind, "Close stops the monitors")
	assert.Equal(t, 6, n, "a closed listener each, then the end")
	after := r.Monitor(16)
	ev, ok := <-after.C
	assert.True(t, ok)
	assert.Equal(t, socket.EventMonitorStopped, ev.Kind, "a monitor made after Close only stops")
	_, ok = <-after.C
	assert.False(t, ok)
}
