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

// TestGiveWay: a reader gives way only once its streak reached turnBytes
// and another connection is read too.
func TestGiveWay(t *testing.T) {
	assert.False(t, giveWay(turnBytes, 1, nil), "one reader has nobody to give way to")
	assert.False(t, giveWay(turnBytes-1, 2, nil))
	assert.True(t, giveWay(turnBytes, 2, nil))
}
