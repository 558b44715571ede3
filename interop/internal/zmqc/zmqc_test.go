package zmqc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const ioTimeout = 5 * time.Second

func newContext(t *testing.T) *Context {
	t.Helper()
	c, err := NewContext()
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, c.Term()) })
	return c
}

func newSocket(t *testing.T, c *Context, typ Type) *Socket {
	t.Helper()
	s, err := c.Socket(typ)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	require.NoError(t, s.SetTimeouts(ioTimeout))
	return s
}

// serve runs loop in a goroutine until the test ends, when ctx is shut
// down; the loop must then return nil.
func serve(t *testing.T, ctx *Context, loop func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- loop() }()
	t.Cleanup(func() {
		require.NoError(t, ctx.Shutdown())
		assert.NoError(t, <-done)
	})
}

func dealers(t *testing.T, c *Context, n int, endpoint string) []*Socket {
	t.Helper()
	socks := make([]*Socket, n)
	for i := range socks {
		socks[i] = newSocket(t, c, DEALER)
		require.NoError(t, socks[i].Connect(endpoint))
	}
	return socks
}

func TestEchoAndDriver(t *testing.T) {
	srvCtx := newContext(t)
	router := newSocket(t, srvCtx, ROUTER)
	ep, err := router.Bind("tcp://127.0.0.1:*")
	require.NoError(t, err)
	require.Regexp(t, `^tcp://127\.0\.0\.1:\d+$`, ep)
	serve(t, srvCtx, func() error { return Echo(router) })

	cliCtx := newContext(t)
	d := NewDriver(dealers(t, cliCtx, 3, ep), 7)
	defer d.Free()
	cfg := DriveConfig{Size: 100, Window: 50, Sample: 1, Duration: 50 * time.Millisecond, Timeout: ioTimeout}
	first, err := d.Run(cfg)
	require.NoError(t, err)
	assert.Positive(t, first.Msgs)
	assert.Zero(t, first.ZeroCopy, "small messages are copied")
	// Sequence numbers carry on: later runs check replies from where the
	// one before stopped, also when the send buffers change size.
	for _, c := range []struct{ size, window int }{{20000, 50}, {20000, 7}, {ZeroCopyMin, 7}, {100, 7}} {
		cfg.Size, cfg.Window = c.size, c.window
		res, err := d.Run(cfg)
		require.NoError(t, err, "%+v", c)
		assert.Positive(t, res.Msgs, "%+v", c)
		if c.size >= ZeroCopyMin {
			// A request's buffer is reused once its reply is in; only if
			// libzmq still held it then is the request copied instead.
			assert.Greater(t, res.ZeroCopy, res.Msgs/2, "%+v", c)
			assert.LessOrEqual(t, res.ZeroCopy, res.Msgs, "%+v", c)
		} else {
			assert.Zero(t, res.ZeroCopy, "%+v", c)
		}
	}
}

func TestDriverLatency(t *testing.T) {
	srvCtx := newContext(t)
	router := newSocket(t, srvCtx, ROUTER)
	ep, err := router.Bind("tcp://127.0.0.1:*")
	require.NoError(t, err)
	serve(t, srvCtx, func() error { return Echo(router) })

	d := NewDriver(dealers(t, newContext(t), 1, ep), 0)
	defer d.Free()
	res, err := d.Run(DriveConfig{Size: 16, Window: 1, Duration: 30 * time.Millisecond, Timeout: ioTimeout, Latency: true})
	require.NoError(t, err)
	require.Len(t, res.RTTs, int(res.Msgs))
	for _, rtt := range res.RTTs {
		require.Positive(t, rtt)
	}

	_, err = d.Run(DriveConfig{Size: 16, Window: 2, Duration: time.Millisecond, Timeout: ioTimeout, Latency: true})
	require.Error(t, err, "latency needs window 1")
	_, err = d.Run(DriveConfig{Size: HeaderLen - 1, Window: 1, Duration: time.Millisecond, Timeout: ioTimeout})
	require.Error(t, err, "a message must hold the header")
}

// TestDriverCatchesWrongReplies runs the driver against ROUTERs that answer
// wrongly in one way each: every one must fail the run.
func TestDriverCatchesWrongReplies(t *testing.T) {
	// Each tamper function gets the n-th message [id, payload] and returns
	// the messages to send back in its place.
	tests := []struct {
		name   string
		tamper func(n int, m [][]byte) [][][]byte
	}{
		{"corrupt payload", func(n int, m [][]byte) [][][]byte {
			if n == 0 {
				m[1][len(m[1])-1] ^= 1
			}
			return [][][]byte{m}
		}},
		{"drop one", func(n int, m [][]byte) [][][]byte {
			if n == 2 {
				return nil
			}
			return [][][]byte{m}
		}},
		{"duplicate one", func(n int, m [][]byte) [][][]byte {
			if n == 1 {
				return [][][]byte{m, m}
			}
			return [][][]byte{m}
		}},
		{"truncate", func(n int, m [][]byte) [][][]byte {
			m[1] = m[1][:len(m[1])-1]
			return [][][]byte{m}
		}},
		{"extra frame", func(n int, m [][]byte) [][][]byte {
			return [][][]byte{append(m, []byte("x"))}
		}},
		{"wrong client", func(n int, m [][]byte) [][][]byte {
			binary.LittleEndian.PutUint32(m[1][8:], 99)
			return [][][]byte{m}
		}},
	}
	for _, tc := range tests {
		// Large messages go out from the driver's own buffers, uncopied.
		for _, size := range []int{32, ZeroCopyMin} {
			t.Run(fmt.Sprintf("%s/%dB", tc.name, size), func(t *testing.T) {
				srvCtx := newContext(t)
				router := newSocket(t, srvCtx, ROUTER)
				ep, err := router.Bind("tcp://127.0.0.1:*")
				require.NoError(t, err)
				require.NoError(t, router.SetInt(RcvTimeo, -1))
				serve(t, srvCtx, func() error {
					for n := 0; ; n++ {
						m, err := router.Recv()
						if err == ETERM {
							return nil
						}
						if err != nil {
							return err
						}
						for _, out := range tc.tamper(n, m) {
							// Once the client has failed and gone, sends
							// may fail too; only the client's verdict counts.
							_ = router.Send(out...)
						}
					}
				})
				d := NewDriver(dealers(t, newContext(t), 1, ep), 0)
				defer d.Free()
				_, err = d.Run(DriveConfig{Size: size, Window: 4, Sample: 1, Duration: 20 * time.Millisecond, Timeout: ioTimeout})
				require.ErrorIs(t, err, ErrBadReply)
			})
		}
	}
}

func TestDriverTimesOut(t *testing.T) {
	for _, size := range []int{16, ZeroCopyMin} {
		c := newContext(t)
		// Nothing listens there: the messages wait in the DEALER's pipe.
		// The driver is freed while libzmq still holds the large ones'
		// buffers; closing the sockets lets go of them afterwards.
		d := NewDriver(dealers(t, c, 1, "tcp://127.0.0.1:1"), 0)
		res, err := d.Run(DriveConfig{Size: size, Window: 3, Duration: time.Millisecond, Timeout: 50 * time.Millisecond})
		require.ErrorIs(t, err, ErrTimeout, "%d bytes", size)
		assert.Zero(t, res.Msgs)
		d.Free()
		d.Free()
	}
}

// TestProxy runs zmq_proxy between REQ clients and REP workers whose echo
// loop is the same C loop.
func TestProxy(t *testing.T) {
	srvCtx := newContext(t)
	front := newSocket(t, srvCtx, ROUTER)
	back := newSocket(t, srvCtx, DEALER)
	fep, err := front.Bind("tcp://127.0.0.1:*")
	require.NoError(t, err)
	bep, err := back.Bind("tcp://127.0.0.1:*")
	require.NoError(t, err)
	serve(t, srvCtx, func() error { return Proxy(front, back) })

	workCtx := newContext(t)
	for range 2 {
		rep := newSocket(t, workCtx, REP)
		require.NoError(t, rep.Connect(bep))
		serve(t, workCtx, func() error { return Echo(rep) })
	}

	cliCtx := newContext(t)
	socks := make([]*Socket, 4)
	for i := range socks {
		socks[i] = newSocket(t, cliCtx, REQ)
		require.NoError(t, socks[i].Connect(fep))
	}
	d := NewDriver(socks, 0)
	defer d.Free()
	res, err := d.Run(DriveConfig{Size: 64, Window: 1, Sample: 1, Duration: 30 * time.Millisecond, Timeout: ioTimeout})
	require.NoError(t, err)
	assert.Positive(t, res.Msgs)
}

func TestKeepFreedMemory(t *testing.T) {
	require.NoError(t, KeepFreedMemory(64<<20))
	require.Error(t, KeepFreedMemory(-1))
	require.Error(t, KeepFreedMemory(1<<40))
}

func TestSendRecv(t *testing.T) {
	c := newContext(t)
	router := newSocket(t, c, ROUTER)
	ep, err := router.Bind("tcp://127.0.0.1:*")
	require.NoError(t, err)
	dealer := newSocket(t, c, DEALER)
	require.NoError(t, dealer.Connect(ep))
	require.NoError(t, dealer.Send(nil, []byte("hello")))
	got, err := router.Recv()
	require.NoError(t, err)
	require.Len(t, got, 3)
	assert.Equal(t, [][]byte{{}, []byte("hello")}, got[1:])

	p := make([]byte, 40)
	Payload(p)
	assert.Equal(t, make([]byte, HeaderLen), p[:HeaderLen])
	assert.False(t, bytes.Equal(p[HeaderLen:], make([]byte, 40-HeaderLen)))
	major, _, _ := Version()
	assert.Equal(t, 4, major)
}
