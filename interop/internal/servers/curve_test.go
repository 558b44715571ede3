package servers

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/interop/internal/zmqc"
)

type curvePair struct{ public, secret string }

func curveKeys(t *testing.T, n int) []curvePair {
	t.Helper()
	keys := make([]curvePair, n)
	for i := range keys {
		var err error
		keys[i].public, keys[i].secret, err = zmqc.CurveKeypair()
		require.NoError(t, err)
	}
	return keys
}

// curveDealers returns a CURVE DEALER of the server key srv for each client
// key pair, connected to ep; the first returned socket's events are read
// from events (its monitor, set before it connects).
func curveDealers(t *testing.T, ep, srv string, keys []curvePair) (socks []*zmqc.Socket, events *zmqc.Socket) {
	t.Helper()
	c, err := zmqc.NewContext()
	require.NoError(t, err)
	var opened []*zmqc.Socket
	t.Cleanup(func() {
		for _, s := range opened {
			assert.NoError(t, s.Close())
		}
		assert.NoError(t, c.Term())
	})
	for i, k := range keys {
		s, err := c.Socket(zmqc.DEALER)
		require.NoError(t, err)
		opened = append(opened, s)
		require.NoError(t, s.SetTimeouts(ioTimeout))
		require.NoError(t, s.SetCurveClient(srv, k.public, k.secret))
		if i == 0 {
			mon := fmt.Sprintf("inproc://servers-test-monitor-%p", s)
			require.NoError(t, s.Monitor(mon, zmqc.EventAll))
			events, err = c.Socket(zmqc.PAIR)
			require.NoError(t, err)
			opened = append(opened, events)
			require.NoError(t, events.SetTimeouts(ioTimeout))
			require.NoError(t, events.Connect(mon))
		}
		require.NoError(t, s.Connect(ep))
		socks = append(socks, s)
	}
	return socks, events
}

// nextHandshake returns the first handshake outcome the monitor reports:
// the event and its value.
func nextHandshake(t *testing.T, events *zmqc.Socket) (int, uint32) {
	t.Helper()
	for {
		ev, value, err := zmqc.ReadEvent(events)
		require.NoError(t, err)
		if ev == zmqc.EventHandshakeSucceeded || ev == zmqc.EventHandshakeFailedAuth {
			return ev, value
		}
	}
}

// TestCurveEchoServers runs both CURVE echo servers with an allow-list:
// libzmq CURVE DEALERs with listed keys are echoed, in small and large
// messages, and one with another key is refused with status 400 (libzmq's
// ZAP handler and zrouter's AllowCurveKeys answer the same). Without an
// allow-list every key gets in.
func TestCurveEchoServers(t *testing.T) {
	for _, kind := range []string{ZRouterCurve, LibzmqCurve} {
		t.Run(kind, func(t *testing.T) {
			srv := curveKeys(t, 1)[0]
			clients := curveKeys(t, 3)
			cfg := Config{Kind: kind, Addrs: []string{"tcp://127.0.0.1:0"}, HWM: 10000, CurveSecret: srv.secret}
			for _, k := range clients[:2] {
				cfg.CurveAllow = append(cfg.CurveAllow, k.public)
			}
			ep := start(t, cfg)[0]
			socks, events := curveDealers(t, ep, srv.public, clients[:2])
			ev, _ := nextHandshake(t, events)
			require.Equal(t, zmqc.EventHandshakeSucceeded, ev)
			drive(t, socks, 40, 20)
			drive(t, socks[:1], 20000, 4)

			_, events = curveDealers(t, ep, srv.public, clients[2:])
			ev, status := nextHandshake(t, events)
			assert.Equal(t, zmqc.EventHandshakeFailedAuth, ev, "a key not on the list")
			assert.Equal(t, uint32(400), status)

			cfg.CurveAllow = nil
			open := start(t, cfg)[0]
			socks, _ = curveDealers(t, open, srv.public, clients[2:])
			drive(t, socks, 40, 20)
		})
	}
}

func TestServeRejectsBadCurveConfig(t *testing.T) {
	ready := func([]string) { t.Error("ready called") }
	addrs := []string{"tcp://127.0.0.1:0"}
	k := curveKeys(t, 1)[0]
	for _, kind := range []string{ZRouterCurve, LibzmqCurve} {
		assert.Error(t, Serve(t.Context(), Config{Kind: kind, Addrs: addrs}, ready), "%s without a key", kind)
	}
	assert.Error(t, Serve(t.Context(), Config{Kind: ZRouterCurve, Addrs: addrs, CurveSecret: "nope"}, ready))
	assert.Error(t, Serve(t.Context(), Config{Kind: ZRouterCurve, Addrs: addrs, CurveSecret: k.secret, CurveAllow: []string{"nope"}}, ready))
	assert.Error(t, Serve(t.Context(), Config{Kind: LibzmqCurve, Addrs: addrs, CurveSecret: "nope"}, ready))
	assert.True(t, IsCurve(ZRouterP1Curve))
	assert.False(t, IsCurve(ZRouter))
}
