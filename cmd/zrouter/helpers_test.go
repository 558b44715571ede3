package main

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/zrouter/zrouter/internal/testutil"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/socket"
)

const (
	waitFor = 10 * time.Second
	tick    = 5 * time.Millisecond
)

// testCtx returns a context that ends with the test or after waitFor.
func testCtx(t *testing.T) context.Context { return testutil.Context(t, waitFor) }

// freeEndpoint returns tcp://127.0.0.1:PORT with a port that was free a
// moment ago.
func freeEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return "tcp://127.0.0.1:" + strconv.Itoa(port)
}

// newDealer returns a zrouter dealer connected to endpoint, closed when the
// test ends.
func newDealer(t *testing.T, endpoint string, opts ...socket.Option) *dealer.Dealer {
	t.Helper()
	d, err := dealer.New(opts...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, d.Close()) })
	require.NoError(t, d.Connect(endpoint))
	return d
}

// recvFrames receives one message on d and returns copies of its frames.
func recvFrames(t *testing.T, ctx context.Context, d *dealer.Dealer) [][]byte {
	t.Helper()
	m, err := d.Recv(ctx)
	require.NoError(t, err)
	defer m.Release()
	out := make([][]byte, len(m.Frames))
	for i, f := range m.Frames {
		out[i] = bytes.Clone(f)
	}
	return out
}

// frames builds a [][]byte from strings.
func frames(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// running is a command run in-process in the background.
type running struct {
	stdout, stderr testutil.Buffer
	cancel         context.CancelFunc
	code           chan int
}

// start runs the command line args in a goroutine until stop.
func start(t *testing.T, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, code: make(chan int, 1)}
	go func() { r.code <- run(ctx, args, &r.stdout, &r.stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.code:
		case <-time.After(waitFor):
			t.Errorf("%v did not stop", args)
		}
	})
	return r
}

// stop cancels the command (as SIGTERM does) and returns its exit status.
func (r *running) stop(t *testing.T) int {
	t.Helper()
	r.cancel()
	select {
	case code := <-r.code:
		r.code <- code // for the cleanup
		return code
	case <-time.After(waitFor):
		t.Fatal("command did not stop")
		return -1
	}
}

func contains(s, sub string) bool { return bytes.Contains([]byte(s), []byte(sub)) }
