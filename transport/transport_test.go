package transport

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in, addr, str string
		wantErr       bool
	}{
		{in: "tcp://127.0.0.1:5555", addr: "127.0.0.1:5555", str: "tcp://127.0.0.1:5555"},
		{in: "tcp://*:5555", addr: ":5555", str: "tcp://*:5555"},
		{in: "tcp://*:*", addr: ":0", str: "tcp://*:0"},
		{in: "tcp://localhost:0", addr: "localhost:0", str: "tcp://localhost:0"},
		{in: "tcp://[::1]:5555", addr: "[::1]:5555", str: "tcp://[::1]:5555"},
		{in: "ipc:///tmp/x", wantErr: true},
		{in: "inproc://x", wantErr: true},
		{in: "127.0.0.1:5555", wantErr: true},
		{in: "tcp://127.0.0.1", wantErr: true},
		{in: "tcp://127.0.0.1:", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, err := Parse(tt.in)
			if tt.wantErr {
				assert.ErrorIs(t, err, ErrBadEndpoint)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.addr, e.Addr)
			assert.Equal(t, tt.str, e.String())
		})
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Ivl: 100 * time.Millisecond}
	for n := 1; n < 5; n++ {
		d := b.Next(n)
		assert.GreaterOrEqual(t, d, 100*time.Millisecond, "without a max it does not grow")
		assert.LessOrEqual(t, d, 125*time.Millisecond, "jitter is at most a quarter")
	}
	b.Max = time.Second
	assert.InDelta(t, 200*time.Millisecond, b.Next(2), float64(50*time.Millisecond))
	assert.InDelta(t, 400*time.Millisecond, b.Next(3), float64(100*time.Millisecond))
	for n := 5; n < 50; n++ {
		d := b.Next(n)
		assert.GreaterOrEqual(t, d, time.Second, "capped at max")
		assert.LessOrEqual(t, d, 1250*time.Millisecond)
	}
	assert.Positive(t, Backoff{}.Next(1), "a zero interval falls back to a default")
}

func TestServeHandlesEachConnectionConcurrently(t *testing.T) {
	ln, err := Listen(Endpoint{Network: "tcp", Addr: "127.0.0.1:0"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	release := make(chan struct{})
	var handled atomic.Int32
	wg.Add(1)
	go func() {
		defer wg.Done()
		Serve(ctx, ln, &wg, slog.New(slog.DiscardHandler), func(c net.Conn) {
			defer c.Close()
			handled.Add(1)
			<-release // a handler that blocks must not delay the next accept
		})
	}()
	var conns []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		conns = append(conns, c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for handled.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	assert.EqualValues(t, 3, handled.Load())
	cancel()
	require.NoError(t, ln.Close())
	close(release)
	wg.Wait()
	for _, c := range conns {
		c.Close()
	}
}

func TestRedialReconnectsAndStops(t *testing.T) {
	ln, err := Listen(Endpoint{Network: "tcp", Addr: "127.0.0.1:0"})
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close() // every connection ends at once
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	var ups atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		Redial(ctx, FromAddr(ln.Addr()), Backoff{Ivl: time.Millisecond}, slog.New(slog.DiscardHandler), func(c net.Conn) <-chan struct{} {
			ups.Add(1)
			down := make(chan struct{})
			go func() {
				defer close(down)
				defer c.Close()
				_, _ = c.Read(make([]byte, 1)) // until the server hangs up
			}()
			return down
		})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for ups.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	assert.GreaterOrEqual(t, ups.Load(), int32(3), "reconnects after each end")
	cancel()
	<-done
}

func TestSleep(t *testing.T) {
	assert.True(t, Sleep(context.Background(), time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.False(t, Sleep(ctx, time.Hour))
}
