package core

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestLogLimiter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	type call struct {
		host, cause string
		at          time.Duration // after t0
		ok          bool
		suppressed  uint64
	}
	tests := []struct {
		name  string
		max   int
		calls []call
	}{
		{"first line passes", 8, []call{{"a", "x", 0, true, 0}}},
		{"same key within the interval is held back, then counted", 8, []call{
			{"a", "x", 0, true, 0},
			{"a", "x", time.Second, false, 0},
			{"a", "x", 9 * time.Second, false, 0},
			{"a", "x", 10 * time.Second, true, 2},
			{"a", "x", 11 * time.Second, false, 0},
			{"a", "x", 25 * time.Second, true, 1},
		}},
		{"hosts and causes are apart", 8, []call{
			{"a", "x", 0, true, 0},
			{"b", "x", time.Second, true, 0},
			{"a", "y", 2 * time.Second, true, 0},
			{"a", "x", 3 * time.Second, false, 0},
		}},
		{"beyond the bound newcomers share a key", 2, []call{
			{"a", "x", 0, true, 0},
			{"b", "x", 0, true, 0},
			{"c", "x", 0, true, 0},  // the shared key's first line
			{"d", "x", 0, false, 0}, // shares it, held back
			{"e", "x", 10 * time.Second, true, 0},
		}},
		{"an expired key makes room", 1, []call{
			{"a", "x", 0, true, 0},
			{"b", "x", 10 * time.Second, true, 0},
			{"b", "x", 11 * time.Second, false, 0},
			{"b", "x", 20 * time.Second, true, 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLogLimiter(10*time.Second, tt.max)
			for i, c := range tt.calls {
				ok, n := l.allow(c.host, c.cause, t0.Add(c.at))
				assert.Equal(t, c.ok, ok, "call %d", i)
				assert.Equal(t, c.suppressed, n, "call %d", i)
			}
			assert.LessOrEqual(t, len(l.keys), tt.max+1, "the shared key is the only one beyond the bound")
		})
	}
}

// TestLogLimiterBounded: a flood from many hosts keeps at most the bound
// of keys, plus the shared one per cause.
func TestLogLimiterBounded(t *testing.T) {
	l := newLogLimiter(10*time.Second, 64)
	now := time.Unix(1000, 0)
	passed := 0
	for i := range 100000 {
		if ok, _ := l.allow("10.0."+strconv.Itoa(i>>8)+"."+strconv.Itoa(i&255), "x", now); ok {
			passed++
		}
	}
	assert.Equal(t, 65, passed, "a line for each host kept, then one for the rest")
	assert.Len(t, l.keys, 65)
}

func TestHostOf(t *testing.T) {
	assert.Equal(t, "127.0.0.1", hostOf("127.0.0.1:5555"))
	assert.Equal(t, "::1", hostOf("[::1]:5555"))
	assert.Equal(t, "pipe", hostOf("pipe"))
	assert.Equal(t, "@abstract", hostOf("@abstract"))
}
