//go:build unix

package peer

import (
	"os"
	"runtime"
	"sync"
	"syscall"
)

// turnstile ends a round at the runtime's next poll of the network. The
// first reader to wait in a round writes a byte into a pipe that the
// runtime polls, then waits for the pipe to be readable, which the runtime
// sees only when it polls the network; the other readers of the round wait
// for it. The pipe is the process's for good, and no goroutine serves it.
type turnstile struct {
	r, w *os.File
	rc   syscall.RawConn // r's

	mu      sync.Mutex
	polling bool          // a reader waits on the pipe for this round
	round   chan struct{} // closed when the round's poll came
}

// turns is the process's turnstile, made at the first wait; nil when the
// pipe cannot be made, and the readers then only yield the processor.
var turns = sync.OnceValue(newTurnstile)

func newTurnstile() *turnstile {
	r, w, err := os.Pipe()
	if err != nil {
		return nil
	}
	rc, err := r.SyscallConn()
	if err != nil {
		_ = r.Close()
		_ = w.Close()
		return nil
	}
	return &turnstile{r: r, w: w, rc: rc, round: make(chan struct{})}
}

// one is the byte written into the pipe.
var one = []byte{1}

// wait returns once the runtime has polled the network since wait was
// called, or when done closes.
func (t *turnstile) wait(done <-chan struct{}) {
	if t == nil {
		runtime.Gosched()
		return
	}
	t.mu.Lock()
	ch := t.round
	if t.polling {
		t.mu.Unlock()
		select {
		case <-ch:
		case <-done:
		}
		return
	}
	t.polling = true
	t.mu.Unlock()
	t.poll()
	t.mu.Lock()
	t.polling = false
	t.round = make(chan struct{})
	t.mu.Unlock()
	close(ch)
}

// poll makes the pipe readable and waits until the runtime reports it so,
// which it does at its next poll of the network: sysmon polls at least
// every 10 ms when nothing else does, so the wait is bounded.
func (t *turnstile) poll() {
	written := false
	var drain [64]byte
	_ = t.rc.Read(func(fd uintptr) bool {
		if !written {
			written = true
			if n, err := t.w.Write(one); n != 1 || err != nil {
				runtime.Gosched()
				return true
			}
			return false // wait for the poll to report the byte
		}
		for {
			n, err := syscall.Read(int(fd), drain[:])
			if n <= 0 || err != nil {
				return true
			}
		}
	})
}
