package peer

import (
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTurnstileRounds: readers that wait at once, in many rounds, all get
// their turn back: the runtime polls the network at the latest from sysmon.
func TestTurnstileRounds(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				turns().wait(nil)
			}
		})
	}
	wg.Wait()
}

// TestGiveWay: a reader gives way only once its streak reached turnBytes,
// another connection is read too, and something waits for a poll of the
// network.
func TestGiveWay(t *testing.T) {
	var w waitMark
	w.set(true)
	assert.False(t, giveWay(turnBytes, 1, nil), "one reader has nobody to give way to")
	assert.False(t, giveWay(turnBytes-1, 2, nil))
	assert.True(t, giveWay(turnBytes, 2, nil))
	w.set(true)
	w.set(false)
	assert.Zero(t, netWaiting.Load(), "a mark counts once")
	assert.False(t, giveWay(turnBytes, 2, nil), "every connection streams")
}

// TestOutrunLetsParkedGoroutinesRun: under one P, a sender that outruns
// its peers and calls Outrun lets a goroutine parked on the network run
// as soon as its socket is ready. A sender that kept the P would leave it
// parked until sysmon's poll and a preemption, some 10 ms and tens of
// thousands of calls later.
func TestOutrunLetsParkedGoroutinesRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer a.Close()
	b, err := ln.Accept()
	require.NoError(t, err)
	defer b.Close()

	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var read atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		var buf [1]byte
		if _, err := b.Read(buf[:]); err == nil {
			read.Store(true)
		}
	}()
	runtime.Gosched() // the reader runs, and parks on its socket
	_, err = a.Write([]byte{1})
	require.NoError(t, err)
	calls := 0
	for !read.Load() && calls < 5000 {
		Outrun()
		calls++
	}
	// oneP asks the runtime once in 256 calls: the first wait for a poll
	// comes within that many.
	assert.True(t, read.Load(), "the reader ran")
	assert.LessOrEqual(t, calls, 260)
	<-done
}
