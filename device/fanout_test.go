package device_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/device"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/pub"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/sub"
	"github.com/zrouter/zrouter/wire"
)

// TestForwarderFanOut sends bursts through the forwarder, which moves
// them in batches, to 100 subscribers of everything: with no high-water
// mark anywhere, nothing is dropped, and each gets every message, in
// order.
func TestForwarderFanOut(t *testing.T) {
	ctx := testutil.Context(t, 30*time.Second)
	f, front, back := startForwarder(t, socket.WithSendHWM(0), socket.WithRecvHWM(0))
	p, err := pub.New(socket.WithLinger(0), socket.WithSendHWM(0))
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.Connect(front.Addr()))
	const subs, msgs = 100, 1000
	ss := make([]*sub.Sub, subs)
	for i := range ss {
		s, err := sub.New(socket.WithRecvHWM(0))
		require.NoError(t, err)
		defer s.Close()
		s.Subscribe(nil)
		require.NoError(t, s.Connect(back.Addr()))
		ss[i] = s
	}
	testutil.CheckFor(t, 20*time.Second, func() bool {
		top, _ := f.Topics(0)
		return len(top) == 1 && top[0].Subscribers == subs && subscribers(p, "") == 1
	})
	var wg sync.WaitGroup
	errs := make(chan error, subs)
	for _, s := range ss {
		wg.Go(func() {
			for i := range msgs {
				m, err := s.Recv(ctx)
				if err != nil {
					errs <- err
					return
				}
				got := string(m.Frames[0])
				m.Release()
				if want := fmt.Sprint(i); got != want {
					errs <- fmt.Errorf("got %q, want %q", got, want)
					return
				}
			}
		})
	}
	size := uint64(0)
	for i := range msgs {
		m := wire.New([]byte(fmt.Sprint(i)))
		size += uint64(m.Size())
		require.NoError(t, p.Send(ctx, m))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	// Counted as one at a time would count them.
	st := f.Stats()
	require.Equal(t, device.SideStats{MsgsIn: msgs, BytesIn: size}, device.SideStats{MsgsIn: st.Frontend.MsgsIn, BytesIn: st.Frontend.BytesIn})
	require.Equal(t, device.SideStats{MsgsOut: msgs, BytesOut: size}, device.SideStats{MsgsOut: st.Backend.MsgsOut, BytesOut: st.Backend.BytesOut})
	require.Zero(t, st.Dropped)
}
