package rep_test

import (
	"context"
	"testing"

	"github.com/zrouter/zrouter/rep"
	"github.com/zrouter/zrouter/req"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
)

// BenchmarkRoundTrip times one REQ request and its REP reply at a time over
// loopback TCP, 16 bytes each way. Both sides send the message they just
// received, so a round trip allocates nothing.
func BenchmarkRoundTrip(b *testing.B) {
	ctx := context.Background()
	s, err := rep.New(socket.WithLinger(0))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Bind("tcp://127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := s.Recv(ctx)
			if err != nil {
				return
			}
			if s.Send(ctx, m) != nil {
				m.Release()
				return
			}
		}
	}()
	c, err := req.New(socket.WithLinger(0))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Connect(s.Addr()); err != nil {
		b.Fatal(err)
	}
	m := wire.New(make([]byte, 16))
	// Warm up the pools and the connection.
	for range 100 {
		if m, err = roundTrip(ctx, c, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.SetBytes(16)
	b.ResetTimer()
	for b.Loop() {
		if m, err = roundTrip(ctx, c, m); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	m.Release()
	c.Close()
	s.Close()
	<-done
}

func roundTrip(ctx context.Context, c *req.Req, m *wire.Msg) (*wire.Msg, error) {
	if err := c.Send(ctx, m); err != nil {
		return nil, err
	}
	return c.Recv(ctx)
}
