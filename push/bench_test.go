package push_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zrouter/zrouter/pull"
	"github.com/zrouter/zrouter/push"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
)

var benchSizes = []int{16, 1024, 64 << 10}

// BenchmarkPushPull streams messages from one PUSH to one PULL over TCP on
// loopback. Each op is one message sent and received; allocs/op is the
// steady state of both sides, which recycle messages through the pool, and
// cpu-ns/op the CPU time of the whole process, both sides, user and
// system, per message: on a shared machine it moves less than ns/op, which
// counts the time others take the cores.
func BenchmarkPushPull(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) { benchPushPull(b, 1, 1, size) })
	}
}

// BenchmarkPushPullFanOut: one PUSH round robins over four PULLs.
func BenchmarkPushPullFanOut(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) { benchPushPull(b, 1, 4, size) })
	}
}

// BenchmarkPushPullFanIn: four PUSHes feed one PULL.
func BenchmarkPushPullFanIn(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) { benchPushPull(b, 4, 1, size) })
	}
}

// BenchmarkPushPull4x4: four PUSHes, each connected to all of four PULLs.
func BenchmarkPushPull4x4(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) { benchPushPull(b, 4, 4, size) })
	}
}

func benchPushPull(b *testing.B, pushes, pulls, size int) {
	ctx := context.Background()
	ps := make([]*push.Push, pushes)
	for i := range ps {
		p, err := push.New(socket.WithLinger(0))
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		ps[i] = p
	}
	qs := make([]*pull.Pull, pulls)
	for i := range qs {
		q, err := pull.New(socket.WithLinger(0))
		if err != nil {
			b.Fatal(err)
		}
		defer q.Close()
		if err := q.Bind("tcp://127.0.0.1:0"); err != nil {
			b.Fatal(err)
		}
		for _, p := range ps {
			if err := p.Connect(q.Addr()); err != nil {
				b.Fatal(err)
			}
		}
		qs[i] = q
	}
	for _, p := range ps {
		if err := p.WaitPeers(ctx, pulls); err != nil {
			b.Fatal(err)
		}
	}
	payload := make([]byte, size)
	var left atomic.Int64 // messages still to receive in this phase
	finished := make(chan struct{}, 1)
	recvCtx, stop := context.WithCancel(ctx)
	defer stop()
	var rwg sync.WaitGroup
	for _, q := range qs {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for {
				m, err := q.Recv(recvCtx)
				if err != nil {
					return
				}
				m.Release()
				if left.Add(-1) == 0 {
					finished <- struct{}{}
				}
			}
		}()
	}
	// phase sends n messages, spread over the PUSHes, and waits until
	// they have all been received.
	phase := func(n int) {
		left.Store(int64(n))
		var swg sync.WaitGroup
		for i, p := range ps {
			k := n / pushes
			if i == 0 {
				k += n % pushes
			}
			swg.Add(1)
			go func() {
				defer swg.Done()
				for range k {
					m := wire.Get()
					m.AppendFrame(payload)
					if err := p.Send(ctx, m); err != nil {
						m.Release()
						b.Error(err)
						return
					}
				}
			}()
		}
		swg.Wait()
		<-finished
	}
	// Warm the pools and the connections before the clock starts.
	phase(1000 * pushes * pulls)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	phase(b.N)
	b.StopTimer()
	if cpu > 0 {
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	}
	stop()
	rwg.Wait()
}
