//go:build !race

// The race detector makes sync.Pool drop a random share of what it is given,
// so allocation counts are only meaningful without it.

package router_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInprocSteadyStateAllocs checks that a message over inproc costs no
// allocation once the pools are warm: a round trip through a ROUTER's
// user that echoes it, and a burst one way.
func TestInprocSteadyStateAllocs(t *testing.T) {
	for _, size := range inprocSizes {
		t.Run(fmt.Sprintf("%dB", size), func(t *testing.T) {
			r, ds := inprocPair(t, 1)
			echo(t, r)
			body := make([]byte, size)
			trip := func() { roundTrip(t, ds[0], body) }
			for range 1000 {
				trip()
			}
			assert.Zero(t, testing.AllocsPerRun(1000, trip), "allocations per round trip")
		})
		t.Run(fmt.Sprintf("burst/%dB", size), func(t *testing.T) {
			r, ds := inprocPair(t, 1)
			body := make([]byte, size)
			const n = 500 // below the HWM: the sender never waits
			burst := func() {
				require.NoError(t, sendN(ds[0], n, body))
				recvN(t, r, n, size)
			}
			for range 20 {
				burst()
			}
			assert.Zero(t, testing.AllocsPerRun(50, burst), "allocations per burst of %d messages", n)
		})
	}
}
