package servers

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/interop/internal/zmqc"
)

const ioTimeout = 5 * time.Second

// start runs a server until the test ends and returns its endpoints.
func start(t *testing.T, cfg Config) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan []string, 1)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, cfg, func(a []string) { addrs <- a }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err, "Serve after cancel")
		case <-time.After(ioTimeout):
			t.Error("Serve did not return after cancel")
		}
	})
	select {
	case a := <-addrs:
		for _, ep := range a {
			require.Regexp(t, `^tcp://127\.0\.0\.1:[1-9]\d*$`, ep)
		}
		return a
	case err := <-done:
		require.NoError(t, err)
		require.FailNow(t, "Serve returned before it was ready")
	case <-time.After(ioTimeout):
		require.FailNow(t, "Serve never became ready")
	}
	return nil
}

// zmqClients returns n sockets of type typ connected to ep, closed (with
// their context) when the test ends.
func zmqClients(t *testing.T, typ zmqc.Type, n int, ep string) []*zmqc.Socket {
	t.Helper()
	c, err := zmqc.NewContext()
	require.NoError(t, err)
	socks := make([]*zmqc.Socket, n)
	t.Cleanup(func() {
		for _, s := range socks {
			if s != nil {
				assert.NoError(t, s.Close())
			}
		}
		assert.NoError(t, c.Term())
	})
	for i := range socks {
		socks[i], err = c.Socket(typ)
		require.NoError(t, err)
		require.NoError(t, socks[i].SetTimeouts(ioTimeout))
		require.NoError(t, socks[i].Connect(ep))
	}
	return socks
}

func drive(t *testing.T, socks []*zmqc.Socket, size, window int) {
	t.Helper()
	d := zmqc.NewDriver(socks, 0)
	defer d.Free()
	res, err := d.Run(zmqc.DriveConfig{Size: size, Window: window, Sample: 1, Duration: 30 * time.Millisecond, Timeout: ioTimeout})
	require.NoError(t, err)
	assert.Positive(t, res.Msgs)
}

func TestEchoServers(t *testing.T) {
	for _, kind := range []string{ZRouter, Libzmq, GoZMQ} {
		t.Run(kind, func(t *testing.T) {
			ep := start(t, Config{Kind: kind, Addrs: []string{"tcp://127.0.0.1:0"}, HWM: 10000})
			drive(t, zmqClients(t, zmqc.DEALER, 3, ep[0]), 40, 20)
			drive(t, zmqClients(t, zmqc.DEALER, 1, ep[0]), 20000, 4)
		})
	}
}

// TestRawTCPWithDealers checks that a libzmq DEALER can talk to the byte
// echo: it handshakes with its own mirrored greeting and gets its messages
// back.
func TestRawTCPWithDealers(t *testing.T) {
	ep := start(t, Config{Kind: RawTCPZMQ, Addrs: []string{"tcp://127.0.0.1:0"}})
	drive(t, zmqClients(t, zmqc.DEALER, 3, ep[0]), 40, 20)
	drive(t, zmqClients(t, zmqc.DEALER, 1, ep[0]), 20000, 4)
}

func TestRawTCP(t *testing.T) {
	ep := start(t, Config{Kind: RawTCP, Addrs: []string{"tcp://127.0.0.1:0"}})
	c, err := net.Dial("tcp", strings.TrimPrefix(ep[0], "tcp://"))
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(ioTimeout)))
	msg := bytes.Repeat([]byte("echo"), 1000)
	_, err = c.Write(msg)
	require.NoError(t, err)
	got := make([]byte, len(msg))
	_, err = io.ReadFull(c, got)
	require.NoError(t, err)
	assert.Equal(t, msg, got)
}

func TestProxy(t *testing.T) {
	eps := start(t, Config{Kind: LibzmqProxy, Addrs: []string{"tcp://127.0.0.1:0", "tcp://127.0.0.1:0"}})
	wctx, err := zmqc.NewContext()
	require.NoError(t, err)
	rep, err := wctx.Socket(zmqc.REP)
	require.NoError(t, err)
	require.NoError(t, rep.SetInt(zmqc.Linger, 0))
	require.NoError(t, rep.Connect(eps[1]))
	done := make(chan error, 1)
	go func() { done <- zmqc.Echo(rep) }()
	defer func() {
		require.NoError(t, wctx.Shutdown())
		assert.NoError(t, <-done)
		assert.NoError(t, rep.Close())
		assert.NoError(t, wctx.Term())
	}()
	drive(t, zmqClients(t, zmqc.REQ, 2, eps[0]), 64, 1)
}

func TestServeRejectsBadConfig(t *testing.T) {
	ready := func([]string) { t.Error("ready called") }
	ctx := context.Background()
	assert.Error(t, Serve(ctx, Config{Kind: "nope", Addrs: []string{"tcp://127.0.0.1:0"}}, ready))
	assert.Error(t, Serve(ctx, Config{Kind: LibzmqProxy, Addrs: []string{"tcp://127.0.0.1:0"}}, ready))
	assert.Error(t, Serve(ctx, Config{Kind: RawTCP, Addrs: []string{"udp://127.0.0.1:0"}}, ready))
}
