package device_test

import (
	"context"
	"testing"

	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/device"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
)

// benchProxy runs zmq_proxy(ROUTER, DEALER) with one echoing DEALER
// worker and one DEALER client over loopback TCP, and measures round trips
// of 16-byte requests with window of them in flight.
func benchProxy(b *testing.B, window int) {
	ctx := context.Background()
	opts := []socket.Option{socket.WithLinger(0)}
	front, err := router.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer front.Close()
	back, err := dealer.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer back.Close()
	if err := front.Bind("tcp://127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	if err := back.Bind("tcp://127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	p, err := device.NewProxy(front, back)
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	defer func() { p.Terminate(); <-done }()

	w, err := dealer.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	if err := w.Connect(back.Addr()); err != nil {
		b.Fatal(err)
	}
	wdone := make(chan struct{})
	go func() {
		defer close(wdone)
		for {
			m, err := w.Recv(ctx)
			if err != nil {
				return
			}
			if w.Send(ctx, m) != nil {
				m.Release()
				return
			}
		}
	}()
	defer func() { w.Close(); <-wdone }()

	c, err := dealer.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Connect(front.Addr()); err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 16)
	if err := back.WaitPeers(ctx, 1); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	sent, got := 0, 0
	for got < b.N {
		for sent < b.N && sent-got < window {
			if err := c.SendFrames(ctx, nil, body); err != nil {
				b.Fatal(err)
			}
			sent++
		}
		m, err := c.Recv(ctx)
		if err != nil {
			b.Fatal(err)
		}
		m.Release()
		got++
	}
}

// BenchmarkProxyRoundTrip: one request at a time, the latency shape.
func BenchmarkProxyRoundTrip(b *testing.B) { benchProxy(b, 1) }

// BenchmarkProxyPipelined: 64 requests in flight, the throughput shape.
func BenchmarkProxyPipelined(b *testing.B) { benchProxy(b, 64) }
