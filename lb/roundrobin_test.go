package lb

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func always(int) bool { return true }

func TestRoundRobinFairOver1000Picks(t *testing.T) {
	var rr RoundRobin[int]
	for i := range 7 {
		rr.Add(i)
	}
	counts := map[int]int{}
	for range 1000 {
		x, ok := rr.Next(always, nil)
		require.True(t, ok)
		counts[x]++
	}
	for i := range 7 {
		// 1000 = 7*142 + 6: every entry gets 142 or 143 picks.
		assert.InDelta(t, 142.5, counts[i], 0.5, "entry %d", i)
	}
}

func TestRoundRobinHealsDeadEntriesLazily(t *testing.T) {
	var rr RoundRobin[int]
	dead := map[int]bool{}
	alive := func(x int) bool { return !dead[x] }
	for i := range 10 {
		rr.Add(i)
	}
	for i := 0; i < 10; i += 2 {
		dead[i] = true
	}
	assert.Equal(t, 10, rr.Len(), "dying costs nothing up front")
	seen := map[int]int{}
	for range 50 {
		x, ok := rr.Next(alive, nil)
		require.True(t, ok)
		require.False(t, dead[x], "picked dead entry %d", x)
		seen[x]++
	}
	assert.Equal(t, 5, rr.Len(), "every ghost met was dropped")
	for _, x := range []int{1, 3, 5, 7, 9} {
		assert.Equal(t, 10, seen[x])
	}
}

func TestRoundRobinSkipsUnusableButKeepsThem(t *testing.T) {
	var rr RoundRobin[int]
	for i := range 3 {
		rr.Add(i)
	}
	full := map[int]bool{1: true}
	usable := func(x int) bool { return !full[x] }
	for range 10 {
		x, ok := rr.Next(always, usable)
		require.True(t, ok)
		assert.NotEqual(t, 1, x)
	}
	assert.Equal(t, 3, rr.Len())
	full[0], full[2] = true, true
	_, ok := rr.Next(always, usable)
	assert.False(t, ok, "every entry full")
	delete(full, 1)
	x, ok := rr.Next(always, usable)
	require.True(t, ok)
	assert.Equal(t, 1, x)
}

func TestRoundRobinAllDead(t *testing.T) {
	var rr RoundRobin[int]
	for i := range 4 {
		rr.Add(i)
	}
	_, ok := rr.Next(func(int) bool { return false }, nil)
	assert.False(t, ok)
	assert.Zero(t, rr.Len())
	_, ok = rr.Next(always, nil)
	assert.False(t, ok, "empty")
}

func TestRoundRobinCompact(t *testing.T) {
	var rr RoundRobin[int]
	for i := range 100 {
		rr.Add(i)
	}
	rr.Compact(func(x int) bool { return x%10 == 0 })
	assert.Equal(t, 10, rr.Len())
	for range 20 {
		x, ok := rr.Next(always, nil)
		require.True(t, ok)
		assert.Zero(t, x%10)
	}
}

// BenchmarkRoundRobinChurn shows that a departure costs O(1): half the
// entries die between picks and are healed as they are met.
func BenchmarkRoundRobinChurn(b *testing.B) {
	b.ReportAllocs()
	var rr RoundRobin[int]
	dead := make([]bool, 0, b.N*2+10000)
	alive := func(x int) bool { return !dead[x] }
	n := 0
	for range 10000 {
		rr.Add(n)
		dead = append(dead, false)
		n++
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dead[i] = true // one departure
		rr.Add(n)      // one arrival
		dead = append(dead, false)
		n++
		if _, ok := rr.Next(alive, nil); !ok {
			b.Fatal("no live entry")
		}
	}
}
