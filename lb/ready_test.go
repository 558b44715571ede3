package lb

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadyLeastRecentlyReadyFirst(t *testing.T) {
	var r Ready[string]
	r.Push("a")
	r.Push("b")
	r.Push("c")
	x, ok := r.Next(func(string) bool { return true })
	require.True(t, ok)
	assert.Equal(t, "a", x)
	r.Push("a") // a is ready again, behind b and c
	var got []string
	for {
		x, ok := r.Next(func(string) bool { return true })
		if !ok {
			break
		}
		got = append(got, x)
	}
	assert.Equal(t, []string{"b", "c", "a"}, got)
	assert.Zero(t, r.Len())
}

func TestReadyDropsDead(t *testing.T) {
	var r Ready[int]
	for i := range 6 {
		r.Push(i)
	}
	x, ok := r.Next(func(x int) bool { return x >= 4 })
	require.True(t, ok)
	assert.Equal(t, 4, x)
	assert.Equal(t, 1, r.Len())
}

func TestReadyReusesStorage(t *testing.T) {
	var r Ready[int]
	allocs := testing.AllocsPerRun(100, func() {
		for i := range 8 {
			r.Push(i)
		}
		for range 8 {
			r.Next(func(int) bool { return true })
		}
	})
	assert.Zero(t, allocs)
}
