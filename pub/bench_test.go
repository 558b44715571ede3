package pub_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zrouter/zrouter/pub"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/sub"
	"github.com/zrouter/zrouter/wire"
)

// BenchmarkFanOut: one PUB to N SUBs over TCP on loopback, every SUB
// subscribed to everything. With NoDrop the publisher goes at the pace of
// the slowest subscriber and nothing is lost: each op is one message sent,
// delivered N times; delivered/s counts the deliveries.
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		for _, size := range []int{16, 1024} {
			b.Run(fmt.Sprintf("subs=%d/size=%d", n, size), func(b *testing.B) {
				benchFanOut(b, n, 0, size, -1, pub.WithNoDrop(true))
			})
		}
	}
}

// BenchmarkSlowSubscriber: one PUB to 10 SUBs that read and, with slow=1,
// an 11th that never reads. The publisher drops for the slow one at its
// high-water mark and goes on; delivered/s counts what the 10 readers
// got, to compare with slow=0. queued_max is the most the publisher held
// for all its subscribers at once, which the marks bound.
func BenchmarkSlowSubscriber(b *testing.B) {
	for _, slow := range []int{0, 1} {
		b.Run(fmt.Sprintf("slow=%d", slow), func(b *testing.B) { benchFanOut(b, 10, slow, 1024, -1) })
	}
}

// BenchmarkMatch: one PUB to one SUB, NoDrop, 16 B messages that start
// with the one subscription that matches; extra more subscriptions match
// nothing ("topic-N/", as zbench's matching scenarios). The cost of a
// message must not grow with them: compare delivered/s of extra=100000
// with extra=0.
func BenchmarkMatch(b *testing.B) {
	for _, extra := range []int{0, 100000} {
		b.Run(fmt.Sprintf("extra=%d", extra), func(b *testing.B) {
			benchFanOut(b, 1, 0, 16, extra, pub.WithNoDrop(true))
		})
	}
}

// benchFanOut runs readers SUBs that read and slow ones that never do.
// With extra < 0 they subscribe to everything; otherwise to extra
// prefixes that match nothing, then to the one that every message starts
// with.
// matchTopic is the prefix BenchmarkMatch's messages start with.
const matchTopic = "topic-0/"

func benchFanOut(b *testing.B, readers, slow, size, extra int, opts ...socket.Option) {
	ctx := context.Background()
	const hwm = 1000
	p, err := pub.New(append([]socket.Option{socket.WithLinger(0), socket.WithSendHWM(hwm)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	if err := p.Bind("tcp://127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	subs := make([]*sub.Sub, readers+slow)
	for i := range subs {
		s, err := sub.New(socket.WithRecvHWM(hwm))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		if extra < 0 {
			s.Subscribe(nil)
		} else {
			for i := 1; i <= extra; i++ {
				s.Subscribe([]byte("topic-" + strconv.Itoa(i) + "/"))
			}
			s.Subscribe([]byte(matchTopic))
		}
		if err := s.Connect(p.Addr()); err != nil {
			b.Fatal(err)
		}
		subs[i] = s
	}
	for {
		k := 0
		p.Subscribers(func(prefix []byte, n int) {
			if extra < 0 || string(prefix) == matchTopic {
				k = n
			}
		})
		if k == len(subs) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	endMsg := "end"
	if extra >= 0 {
		endMsg = matchTopic + "end"
	}
	var delivered atomic.Int64
	var wg sync.WaitGroup
	for _, s := range subs[:readers] {
		wg.Go(func() {
			for {
				m, err := s.Recv(ctx)
				if err != nil {
					return
				}
				end := string(m.Frames[0]) == endMsg
				m.Release()
				if end {
					return
				}
				delivered.Add(1)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	payload := make([]byte, size)
	if extra >= 0 {
		copy(payload, matchTopic)
	}
	queuedMax := 0
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		m := wire.Get()
		m.AppendFrame(payload)
		if err := p.Send(ctx, m); err != nil {
			b.Fatal(err)
		}
		if i%1024 == 0 {
			queuedMax = max(queuedMax, p.Stats().Queued)
		}
	}
	// The end, until every reader has it: a full queue may drop one.
	for ended := false; !ended; {
		m := wire.New([]byte(endMsg))
		if err := p.TrySend(m); err != nil {
			m.Release()
		}
		select {
		case <-done:
			ended = true
		case <-time.After(time.Millisecond):
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(delivered.Load())/elapsed.Seconds(), "delivered/s")
	b.ReportMetric(float64(queuedMax), "queued_max")
}
