package interop

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/zrouter/zrouter/socket"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/internal/testutil"
)

// The zrouter DEALER against libzmq: connecting to a libzmq ROUTER, and
// bound with a libzmq DEALER and a libzmq REP connected to it.

// dealerNew returns a zrouter Dealer closed when the test ends.
func dealerNew(t *testing.T, opts ...socket.Option) *dealer.Dealer {
	t.Helper()
	d, err := dealer.New(append([]socket.Option{noLinger}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, d.Close(), "close dealer") })
	return d
}

// dealerRecv receives one message on d within ioTimeout and returns a copy of
// its frames as strings.
func dealerRecv(t *testing.T, d *dealer.Dealer) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	m, err := d.Recv(ctx)
	require.NoError(t, err, "dealer Recv")
	defer m.Release()
	out := make([]string, len(m.Frames))
	for i, f := range m.Frames {
		out[i] = string(f)
	}
	return out
}

// dealerSend sends frames on d within ioTimeout.
func dealerSend(t *testing.T, d *dealer.Dealer, frames ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	bs := make([][]byte, len(frames))
	for i, f := range frames {
		bs[i] = []byte(f)
	}
	require.NoError(t, d.SendFrames(ctx, bs...), "dealer Send")
}

// dealerLibzmqRouter returns a libzmq ROUTER bound on 127.0.0.1 and its
// endpoint.
func dealerLibzmqRouter(t *testing.T, zctx *zmq.Context) (*zmq.Socket, string) {
	t.Helper()
	s := newSocket(t, zctx, zmq.ROUTER)
	require.NoError(t, s.Bind("tcp://127.0.0.1:*"))
	ep, err := s.GetLastEndpoint()
	require.NoError(t, err)
	return s, ep
}

// TestDealerToLibzmqRouter: a zrouter DEALER with a routing id connects to a
// libzmq ROUTER, which sees that id on every message and routes replies
// back by it; multipart messages with empty frames cross both ways
// unchanged, and a pipelined burst keeps its order.
func TestDealerToLibzmqRouter(t *testing.T) {
	t.Parallel()
	const id = "zd-client"
	zctx := newContext(t)
	lr, ep := dealerLibzmqRouter(t, zctx)
	d := dealerNew(t, socket.WithRoutingID([]byte(id)))
	require.NoError(t, d.Connect(ep))

	t.Run("request-reply", func(t *testing.T) {
		for i := range 20 {
			req := fmt.Sprintf("req-%d", i)
			dealerSend(t, d, req)
			got, err := lr.RecvMessage(0)
			require.NoError(t, err)
			assert.Equal(t, []string{id, req}, got, "libzmq ROUTER sees the DEALER's routing id")
			_, err = lr.SendMessage(id, "rep-"+req)
			require.NoError(t, err)
			assert.Equal(t, []string{"rep-" + req}, dealerRecv(t, d))
		}
	})

	t.Run("multipart-empty-frames", func(t *testing.T) {
		big := string(bytes.Repeat([]byte{'z'}, 300)) // a long frame
		frames := []string{"", "a", "", big, ""}
		dealerSend(t, d, frames...)
		got, err := lr.RecvMessage(0)
		require.NoError(t, err)
		assert.Equal(t, append([]string{id}, frames...), got)
		_, err = lr.SendMessage(id, frames)
		require.NoError(t, err)
		assert.Equal(t, frames, dealerRecv(t, d))

		dealerSend(t, d, "")
		got, err = lr.RecvMessage(0)
		require.NoError(t, err)
		assert.Equal(t, []string{id, ""}, got, "a single empty frame")
	})

	t.Run("pipelined", func(t *testing.T) {
		// The zrouter DEALER sends a burst from one goroutine and takes
		// the replies on another, while the libzmq ROUTER answers each
		// request as it comes. A non-mandatory libzmq ROUTER silently
		// drops replies at its SNDHWM; mandatory makes it wait instead,
		// so a loss anywhere shows as a gap.
		require.NoError(t, lr.SetRouterMandatory(1))
		const n = 5000
		ctx, cancel := context.WithTimeout(context.Background(), 2*waitLimit)
		defer cancel()
		sendErr, recvErr := make(chan error, 1), make(chan error, 1)
		go func() {
			for i := range n {
				if err := d.SendFrames(ctx, []byte("burst"), []byte(fmt.Sprint(i))); err != nil {
					sendErr <- fmt.Errorf("send %d: %w", i, err)
					return
				}
			}
			sendErr <- nil
		}()
		go func() {
			for i := range n {
				m, err := d.Recv(ctx)
				if err != nil {
					recvErr <- fmt.Errorf("reply %d: %w", i, err)
					return
				}
				got := fmt.Sprintf("%q", m.Frames)
				m.Release()
				if want := fmt.Sprintf("%q", [][]byte{[]byte("back"), []byte(fmt.Sprint(i))}); got != want {
					recvErr <- fmt.Errorf("reply %d: got %s, want %s", i, got, want)
					return
				}
			}
			recvErr <- nil
		}()
		for i := range n {
			got, err := lr.RecvMessage(0)
			if !assert.NoError(t, err) || !assert.Equal(t, []string{id, "burst", fmt.Sprint(i)}, got) {
				break
			}
			_, err = lr.SendMessage(id, "back", fmt.Sprint(i))
			if !assert.NoError(t, err) {
				break
			}
		}
		if t.Failed() {
			cancel()
		}
		assert.NoError(t, <-sendErr)
		assert.NoError(t, <-recvErr)
		st := d.Stats()
		assert.Equal(t, 1, st.Peers)
		assert.Zero(t, st.Dropped())
	})
}

// TestDealerQueuesUntilLibzmqRouterBinds: messages sent while the
// endpoint has no listener wait in the DEALER's pipe and reach the libzmq
// ROUTER, in order, once it binds.
func TestDealerQueuesUntilLibzmqRouterBinds(t *testing.T) {
	t.Parallel()
	// A port that was free a moment ago.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ep := "tcp://" + ln.Addr().String()
	require.NoError(t, ln.Close())

	d := dealerNew(t, socket.WithRoutingID([]byte("early")), socket.WithReconnectInterval(20*time.Millisecond))
	require.NoError(t, d.Connect(ep))
	for i := range 10 {
		dealerSend(t, d, fmt.Sprintf("queued-%d", i))
	}
	st := d.Stats()
	assert.Equal(t, 10, st.Queued)
	assert.Equal(t, 0, st.Peers)

	zctx := newContext(t)
	lr := newSocket(t, zctx, zmq.ROUTER)
	require.NoError(t, lr.Bind(ep))
	for i := range 10 {
		got, err := lr.RecvMessage(0)
		require.NoError(t, err)
		assert.Equal(t, []string{"early", fmt.Sprintf("queued-%d", i)}, got)
	}
	assert.Zero(t, d.Stats().Dropped())
}

// TestDealerBoundWithLibzmqPeers: a bound zrouter DEALER serves a libzmq
// DEALER and a libzmq REP that connect to it. Requests carrying an empty
// delimiter go round robin, five to each; the REP strips the envelope and
// puts it back on its reply, and the DEALER echoes as is; every reply
// comes back to the zrouter DEALER. A message the libzmq DEALER sends on
// its own arrives too.
func TestDealerBoundWithLibzmqPeers(t *testing.T) {
	t.Parallel()
	d := dealerNew(t)
	require.NoError(t, d.Bind("tcp://127.0.0.1:0"))
	zctx := newContext(t)
	ld := newSocket(t, zctx, zmq.DEALER)
	require.NoError(t, ld.Connect(d.Addr()))
	rep := newSocket(t, zctx, zmq.REP)
	require.NoError(t, rep.Connect(d.Addr()))
	testutil.CheckFor(t, waitLimit, func() bool { return d.Stats().Peers == 2 }, "both libzmq peers connected")

	const n = 10
	for i := range n {
		dealerSend(t, d, "", fmt.Sprintf("job-%d", i))
	}
	var want []string
	for range n / 2 {
		got, err := ld.RecvMessage(0)
		require.NoError(t, err)
		require.Len(t, got, 2, "[delimiter, job] at the libzmq DEALER")
		assert.Empty(t, got[0])
		_, err = ld.SendMessage("", "dealer:"+got[1])
		require.NoError(t, err)
		want = append(want, "dealer:"+got[1])
	}
	for range n / 2 {
		got, err := rep.RecvMessage(0)
		require.NoError(t, err)
		require.Len(t, got, 1, "REP strips the envelope")
		_, err = rep.SendMessage("rep:" + got[0])
		require.NoError(t, err)
		want = append(want, "rep:"+got[0])
	}
	var replies, jobs []string
	for range n {
		got := dealerRecv(t, d)
		require.Len(t, got, 2, "[delimiter, reply]")
		assert.Empty(t, got[0], "the envelope comes back")
		replies = append(replies, got[1])
		_, job, _ := strings.Cut(got[1], ":")
		jobs = append(jobs, job)
	}
	sort.Strings(want)
	sort.Strings(replies)
	assert.Equal(t, want, replies)
	sort.Strings(jobs)
	var all []string
	for i := range n {
		all = append(all, fmt.Sprintf("job-%d", i))
	}
	sort.Strings(all)
	assert.Equal(t, all, jobs, "every job answered once")

	_, err := ld.SendMessage("unsolicited")
	require.NoError(t, err)
	assert.Equal(t, []string{"unsolicited"}, dealerRecv(t, d))
}
