package core_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/zmtp"
)

// BenchmarkStats scrapes a ROUTER with 10,000 connected peers. Stats never
// goes through the hub: it copies the list of pipes under the registry's
// lock, which is all that admission waits for, and reads their atomic
// counters after; routing takes no lock of Stats' at all.
func BenchmarkStats(b *testing.B) {
	for _, n := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("peers=%d", n), func(b *testing.B) {
			r, err := router.New(socket.WithLinger(0))
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			name := fmt.Sprintf("stats-bench-%d", n)
			if err := r.Bind("mem://" + name); err != nil {
				b.Fatal(err)
			}
			conns := make([]net.Conn, 0, n)
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			for range n {
				c, err := mem.dial(name)
				if err != nil {
					b.Fatal(err)
				}
				conns = append(conns, c)
				if _, err := zmtp.Handshake(c, &zmtp.Config{SocketType: zmtp.DEALER, MaxSize: -1}); err != nil {
					b.Fatal(err)
				}
			}
			if err := r.WaitPeers(context.Background(), n); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if st := r.Stats(); st.Peers != n {
					b.Fatalf("%d peers, want %d", st.Peers, n)
				}
			}
		})
	}
}
