package peer

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
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
