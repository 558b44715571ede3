package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The fairness table says which flooders it was measured with.
func TestWriteFairnessNamesFlooders(t *testing.T) {
	o := FairnessOptions{Flooders: 6, Size: 16384, Interval: 5 * time.Millisecond, Rounds: 1, Servers: []string{"zrouter"}}
	rs := []FairnessResult{{Server: "zrouter", P50: time.Millisecond, P99: 2 * time.Millisecond, Rate: 100, Calm: 200, ServerCPU: 1}}
	for _, raw := range []bool{false, true} {
		o.RawFlood = raw
		var b strings.Builder
		WriteFairness(&b, o, rs)
		assert.Equal(t, raw, strings.Contains(b.String(), "6 raw TCP peers that handshake as DEALERs flood"), b.String())
		assert.Equal(t, !raw, strings.Contains(b.String(), "6 libzmq DEALERs flood"), b.String())
		assert.Contains(t, b.String(), "| zrouter | 1ms | 2ms | 100/s | 200/s | 50% | 1.00 cores |")
	}
}
