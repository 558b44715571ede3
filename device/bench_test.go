package device_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/device"
	"github.com/zrouter/zrouter/pub"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/sub"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/xpub"
	"github.com/zrouter/zrouter/xsub"
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

// BenchmarkForwarderFanOut: a PUB to the forwarder's XSUB, its XPUB to N
// SUBs, all over loopback TCP in this process, as zrouter pubsub runs
// them. The publisher sends as fast as it can and the XPUB drops for a
// subscriber whose queue is full, as zbench -fanout measures it: each op
// is one message sent; delivered/s counts what the subscribers got.
func BenchmarkForwarderFanOut(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		for _, size := range []int{16, 1024} {
			b.Run(fmt.Sprintf("subs=%d/size=%d", n, size), func(b *testing.B) { benchForwarderFanOut(b, n, size) })
		}
	}
}

func benchForwarderFanOut(b *testing.B, n, size int) {
	ctx := context.Background()
	const hwm = 10000
	hw := []socket.Option{socket.WithLinger(0), socket.WithSendHWM(hwm), socket.WithRecvHWM(hwm)}
	front, err := xsub.New(hw...)
	if err != nil {
		b.Fatal(err)
	}
	defer front.Close()
	back, err := xpub.New(hw...)
	if err != nil {
		b.Fatal(err)
	}
	defer back.Close()
	if err := errors.Join(front.Bind("tcp://127.0.0.1:0"), back.Bind("tcp://127.0.0.1:0")); err != nil {
		b.Fatal(err)
	}
	f, err := device.NewForwarder(front, back)
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(ctx) }()
	defer func() { f.Terminate(); <-done }()
	p, err := pub.New(hw...)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	if err := p.Connect(front.Addr()); err != nil {
		b.Fatal(err)
	}
	var delivered atomic.Int64
	var wg sync.WaitGroup
	subs := make([]*sub.Sub, n)
	for i := range subs {
		s, err := sub.New(socket.WithRecvHWM(hwm))
		if err != nil {
			b.Fatal(err)
		}
		s.Subscribe(nil)
		if err := s.Connect(back.Addr()); err != nil {
			b.Fatal(err)
		}
		subs[i] = s
	}
	for {
		top, _ := f.Topics(0)
		k := 0
		p.Subscribers(func([]byte, int) { k++ })
		if len(top) == 1 && top[0].Subscribers == n && k == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	for _, s := range subs {
		wg.Go(func() {
			for {
				m, err := s.Recv(ctx)
				if err != nil {
					return
				}
				m.Release()
				delivered.Add(1)
			}
		})
	}
	payload := make([]byte, size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	d0 := delivered.Load()
	for range b.N {
		m := wire.Get()
		m.AppendFrame(payload)
		if err := p.Send(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(delivered.Load()-d0)/elapsed.Seconds(), "delivered/s")
	for _, s := range subs {
		s.Close()
	}
	wg.Wait()
}
