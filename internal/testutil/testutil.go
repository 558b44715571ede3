package testutil

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// CheckFor polls cond every millisecond until it holds, and fails t when it
// has not within timeout. It is for conditions that other goroutines make
// true; a test that waits for time to pass uses testing/synctest instead.
func CheckFor(t testing.TB, timeout time.Duration, cond func() bool, msgAndArgs ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			msg := "condition not met"
			if len(msgAndArgs) > 0 {
				if f, ok := msgAndArgs[0].(string); ok {
					msg = fmt.Sprintf(f, msgAndArgs[1:]...)
				}
			}
			t.Fatalf("%s within %v", msg, timeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// Context returns a context that ends after d or when t ends.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Buffer is a bytes.Buffer safe for concurrent use: output that a logger or
// a running command writes while the test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Transports are the transports that the tests which should behave alike
// on every transport run over. Add one here and give it a case in
// Endpoint.
var Transports = []string{"tcp", "ipc"}

// SocketTransports are Transports and inproc, for the tests whose ends
// are all zrouter sockets of one process: inproc carries no bytes, so a
// raw ZMTP peer or another process cannot use it.
var SocketTransports = append(Transports[:len(Transports):len(Transports)], "inproc")

// inprocNames makes inproc names unique within the process, whose names
// every test shares.
var inprocNames atomic.Uint64

// Endpoint returns an endpoint of transport for one bind in t: a loopback
// tcp endpoint on any free port, or an ipc socket file of its own, in a
// directory removed when t ends. The ipc path is kept short (a Unix socket
// address holds about 100 bytes), so it is not under t.TempDir.
func Endpoint(t testing.TB, transport string) string {
	t.Helper()
	switch transport {
	case "tcp":
		return "tcp://127.0.0.1:0"
	case "ipc":
		dir, err := os.MkdirTemp("", "zr")
		if err != nil {
			t.Fatalf("ipc endpoint: %v", err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		return "ipc://" + filepath.Join(dir, "s")
	case "inproc":
		return fmt.Sprintf("inproc://%s/%d", t.Name(), inprocNames.Add(1))
	}
	t.Fatalf("no endpoint for transport %q", transport)
	return ""
}

// ForEachTransport runs f as a subtest per transport of Transports; f
// makes its endpoints with Endpoint(t, transport).
func ForEachTransport(t *testing.T, f func(t *testing.T, transport string)) {
	t.Helper()
	forEach(t, Transports, f)
}

// ForEachSocketTransport is ForEachTransport over SocketTransports.
func ForEachSocketTransport(t *testing.T, f func(t *testing.T, transport string)) {
	t.Helper()
	forEach(t, SocketTransports, f)
}

func forEach(t *testing.T, transports []string, f func(t *testing.T, transport string)) {
	t.Helper()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) { f(t, tr) })
	}
}

// WholeBurst sends up to tries bursts of n messages, numbered on from 0,
// with send, and receives with recv (which returns a message's number)
// what each burst did not drop, by dropped's count of drops so far: in
// order, and from that burst. It returns at the first burst that dropped
// nothing, and fails the test when every burst dropped some. It is for a
// sender that may drop, and should not here: one burst in tries lets a
// loaded machine cost a few.
func WholeBurst(t testing.TB, tries, n int, send func(k int), dropped func() uint64, recv func() int) {
	t.Helper()
	var drops []uint64
	for burst := range tries {
		before := dropped()
		for i := range n {
			send(burst*n + i)
		}
		lost := dropped() - before
		drops = append(drops, lost)
		last := -1
		for range n - int(lost) {
			k := recv()
			if k <= last || k >= (burst+1)*n {
				t.Fatalf("burst %d: got message %d after %d", burst, k, last)
			}
			last = k
		}
		if lost == 0 {
			return
		}
	}
	t.Fatalf("every burst dropped messages: %v of %d each", drops, n)
}
