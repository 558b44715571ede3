package router_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
)

// The inproc benchmarks: a ROUTER and DEALERs in one process, messages
// passed by pointer. interop's zbench runs the same shapes against
// libzmq's inproc in C.

var inprocSizes = []int{16, 1 << 10}

// inprocPair returns a ROUTER bound to a fresh inproc name and n DEALERs
// connected to it, up.
func inprocPair(tb testing.TB, n int, opts ...socket.Option) (*router.Router, []*dealer.Dealer) {
	tb.Helper()
	ep := fmt.Sprintf("inproc://bench/%s", tb.Name())
	r, err := router.New(append([]socket.Option{socket.WithLinger(0)}, opts...)...)
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, r.Close()) })
	require.NoError(tb, r.Bind(ep))
	ds := make([]*dealer.Dealer, n)
	for i := range ds {
		d, err := dealer.New(socket.WithLinger(0))
		require.NoError(tb, err)
		tb.Cleanup(func() { require.NoError(tb, d.Close()) })
		require.NoError(tb, d.Connect(ep))
		ds[i] = d
	}
	require.NoError(tb, r.WaitPeers(context.Background(), n))
	return r, ds
}

// echo serves r as an echo server until the test ends.
func echo(tb testing.TB, r *router.Router) {
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
	tb.Cleanup(func() { cancel(); <-done })
}

// roundTrip sends one message of size bytes from d and waits for it back.
func roundTrip(tb testing.TB, d *dealer.Dealer, body []byte) {
	ctx := context.Background()
	m := wire.Get()
	m.AppendFrame(body)
	if err := d.Send(ctx, m); err != nil {
		tb.Fatal(err)
	}
	back, err := d.Recv(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if len(back.Frames) != 1 || len(back.Frames[0]) != len(body) {
		tb.Fatalf("got %d frames back", len(back.Frames))
	}
	back.Release()
}

// BenchmarkInprocRoundTrip measures latency: one DEALER sends a message,
// the ROUTER's user echoes it, and the DEALER receives it before it sends
// the next. One op is one round trip.
func BenchmarkInprocRoundTrip(b *testing.B) {
	for _, size := range inprocSizes {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			r, ds := inprocPair(b, 1)
			echo(b, r)
			body := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				roundTrip(b, ds[0], body)
			}
		})
	}
}

// BenchmarkInprocThroughput measures one direction: a DEALER sends as fast
// as it can and the ROUTER's user receives every message. One op is one
// message received.
func BenchmarkInprocThroughput(b *testing.B) {
	for _, size := range inprocSizes {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			r, ds := inprocPair(b, 1)
			body := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			sent := make(chan error, 1)
			go func() { sent <- sendN(ds[0], b.N, body) }()
			recvN(b, r, b.N, size)
			require.NoError(b, <-sent)
		})
	}
}

// BenchmarkInprocFanOut measures the other direction: the ROUTER sends to
// eight DEALERs in turn, each read by a goroutine of its own. One op is
// one message received.
func BenchmarkInprocFanOut(b *testing.B) {
	const dealers = 8
	for _, size := range inprocSizes {
		b.Run(fmt.Sprintf("%dx%dB", dealers, size), func(b *testing.B) {
			r, ds := inprocPair(b, dealers, router.WithMandatory(true))
			ids := dealerIDs(b, r, ds)
			body := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			errs := make(chan error, dealers)
			for i, d := range ds {
				n := b.N / dealers
				if i < b.N%dealers {
					n++
				}
				go func() { errs <- drain(d, n, size) }()
			}
			ctx := context.Background()
			for i := range b.N {
				m := wire.Get()
				m.AppendFrame(ids[i%dealers])
				m.AppendFrame(body)
				// Mandatory: a full dealer's queue waits.
				if err := r.Send(ctx, m); err != nil {
					b.Fatal(err)
				}
			}
			for range ds {
				require.NoError(b, <-errs)
			}
		})
	}
}

// dealerIDs learns the routing id the router gave each dealer.
func dealerIDs(tb testing.TB, r *router.Router, ds []*dealer.Dealer) [][]byte {
	ids := make([][]byte, len(ds))
	for i, d := range ds {
		require.NoError(tb, d.SendFrames(context.Background(), []byte("hello")))
		m, err := r.Recv(context.Background())
		require.NoError(tb, err)
		ids[i] = append([]byte(nil), m.Frames[0]...)
		m.Release()
	}
	return ids
}

func sendN(d *dealer.Dealer, n int, body []byte) error {
	ctx := context.Background()
	for range n {
		m := wire.Get()
		m.AppendFrame(body)
		if err := d.Send(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

func recvN(tb testing.TB, r *router.Router, n, size int) {
	ctx := context.Background()
	for range n {
		m, err := r.Recv(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		if len(m.Frames) != 2 || len(m.Frames[1]) != size {
			tb.Fatalf("got %d frames", len(m.Frames))
		}
		m.Release()
	}
}

func drain(d *dealer.Dealer, n, size int) error {
	ctx := context.Background()
	for range n {
		m, err := d.Recv(ctx)
		if err != nil {
			return err
		}
		if len(m.Frames) != 1 || len(m.Frames[0]) != size {
			return fmt.Errorf("got %d frames", len(m.Frames))
		}
		m.Release()
	}
	return nil
}
