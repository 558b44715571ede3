package pubsub

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func matches(t *Trie[string], topic string) []string {
	var got []string
	t.Match([]byte(topic), func(k string) { got = append(got, k) })
	slices.Sort(got)
	return got
}

func TestTrieAddRemoveAsMtrie(t *testing.T) {
	var tr Trie[string]
	first, added := tr.Add([]byte("ab"), "x")
	assert.True(t, first)
	assert.True(t, added)
	first, added = tr.Add([]byte("ab"), "x")
	assert.False(t, first, "a prefix's second subscription is not its first")
	assert.False(t, added, "a subscriber is in a prefix's set once")
	first, added = tr.Add([]byte("ab"), "y")
	assert.False(t, first)
	assert.True(t, added)
	assert.Equal(t, 2, tr.Count([]byte("ab")))
	assert.Equal(t, 1, tr.Prefixes())

	found, last := tr.Remove([]byte("ab"), "x")
	assert.True(t, found)
	assert.False(t, last)
	found, _ = tr.Remove([]byte("ab"), "x")
	assert.False(t, found, "one cancel undoes any number of subscriptions of one subscriber")
	found, last = tr.Remove([]byte("ab"), "y")
	assert.True(t, found)
	assert.True(t, last)
	assert.Zero(t, tr.Prefixes())
	assert.True(t, tr.root.empty(), "emptied nodes are pruned")
	found, _ = tr.Remove([]byte("zz"), "y")
	assert.False(t, found)
}

func TestTrieMatch(t *testing.T) {
	var tr Trie[string]
	tr.Add([]byte(""), "all")
	tr.Add([]byte("a"), "a")
	tr.Add([]byte("ab"), "ab")
	tr.Add([]byte("ab"), "a") // a at two prefixes of "abc": met twice
	tr.Add([]byte("b"), "b")
	assert.Equal(t, []string{"a", "a", "ab", "all"}, matches(&tr, "abc"))
	assert.Equal(t, []string{"a", "all"}, matches(&tr, "a"))
	assert.Equal(t, []string{"all"}, matches(&tr, ""))
	assert.Equal(t, []string{"all", "b"}, matches(&tr, "bz"))
	assert.True(t, tr.Has([]byte("q")))
	tr.Remove([]byte(""), "all")
	assert.False(t, tr.Has([]byte("q")))
	assert.True(t, tr.Has([]byte("b")))
	assert.Nil(t, matches(&tr, "c"))
}

func TestTrieWideNode(t *testing.T) {
	var tr Trie[int]
	for c := range 256 {
		tr.Add([]byte{byte(255 - c), 'x'}, c)
	}
	for c := range 256 {
		var got []int
		tr.Match([]byte{byte(255 - c), 'x', 'y'}, func(k int) { got = append(got, k) })
		require.Equal(t, []int{c}, got, "topic %d", c)
	}
	var walked [][]byte
	tr.Walk(func(p []byte, n int) {
		assert.Equal(t, 1, n)
		walked = append(walked, slices.Clone(p))
	})
	require.Len(t, walked, 256)
	assert.True(t, slices.IsSortedFunc(walked, func(a, b []byte) int { return slices.Compare(a, b) }))
	for c := range 256 {
		tr.Remove([]byte{byte(c), 'x'}, 255-c)
	}
	assert.True(t, tr.root.empty())
}

func TestFilterCounts(t *testing.T) {
	var f Filter
	assert.True(t, f.Add([]byte("a")))
	assert.False(t, f.Add([]byte("a")))
	assert.True(t, f.Has([]byte("abc")))
	found, last := f.Remove([]byte("a"))
	assert.True(t, found)
	assert.False(t, last, "as libzmq's trie, each subscription counts")
	assert.True(t, f.Has([]byte("abc")))
	found, last = f.Remove([]byte("a"))
	assert.True(t, found)
	assert.True(t, last)
	assert.False(t, f.Has([]byte("abc")))
	found, _ = f.Remove([]byte("a"))
	assert.False(t, found)
	assert.Zero(t, f.Len())
}

type counter struct{ n int }

func (c *counter) Matched(int) { c.n++ }

// TestMatchAllocs checks that matching allocates nothing.
func TestMatchAllocs(t *testing.T) {
	var tr Trie[int]
	for i := range 1000 {
		tr.Add(fmt.Appendf(nil, "topic.%d", i), i)
	}
	var c counter
	topic := []byte("topic.500.more")
	assert.Zero(t, testing.AllocsPerRun(100, func() { tr.MatchTo(topic, &c) }))
	assert.Equal(t, 3*101, c.n) // topic.5, .50 and .500, in AllocsPerRun's warm-up too
}

// BenchmarkMatch compares matching one topic among 1 subscription and
// among 100,000 that do not match it: "apart", whose others part from the
// topic at the first byte, and "near", zbench's shape, whose others
// ("topic-N/") share all but the last bytes of the one that matches
// ("topic-0/"), so that the walk goes through nodes with many children.
func BenchmarkMatch(b *testing.B) {
	shapes := []struct {
		name, match, other, topic string
	}{
		{"apart", "match", "other.%d", "match.this.topic"},
		{"near", "topic-0/", "topic-%d/", "topic-0/pppppppp"},
	}
	for _, sh := range shapes {
		for _, n := range []int{1, 100_000} {
			b.Run(fmt.Sprintf("%s/%d", sh.name, n), func(b *testing.B) {
				var tr Trie[int]
				tr.Add([]byte(sh.match), -1)
				for i := 1; i < n; i++ {
					tr.Add(fmt.Appendf(nil, sh.other, i), i)
				}
				var c counter
				topic := []byte(sh.topic)
				b.ReportAllocs()
				for b.Loop() {
					tr.MatchTo(topic, &c)
				}
			})
		}
	}
}

// TestTrieManySubscribersOfOnePrefix crosses the size at which a
// prefix's subscribers get an index, both ways, and checks every step
// against a model.
func TestTrieManySubscribersOfOnePrefix(t *testing.T) {
	var tr Trie[string]
	model := map[string]bool{}
	check := func(step string) {
		t.Helper()
		var want []string
		for k := range model {
			want = append(want, k)
		}
		slices.Sort(want)
		assert.Equal(t, want, matches(&tr, "topic"), step)
		assert.Equal(t, len(model), tr.Count([]byte("to")), step)
	}
	const n = 3 * linearSubs
	for i := range n {
		k := fmt.Sprint("s", i)
		_, added := tr.Add([]byte("to"), k)
		assert.True(t, added)
		_, added = tr.Add([]byte("to"), k)
		assert.False(t, added, "a repeat of %s", k)
		model[k] = true
		check(fmt.Sprint("add ", k))
	}
	// Remove from the middle, the end and the start in turn.
	for len(model) > 0 {
		keys := tr.root.child('t').child('o').subs
		k := keys[(len(model)*7)%len(keys)]
		found, last := tr.Remove([]byte("to"), k)
		assert.True(t, found)
		delete(model, k)
		assert.Equal(t, len(model) == 0, last)
		found, _ = tr.Remove([]byte("to"), k)
		assert.False(t, found, "a second cancel of %s", k)
		if len(model) > 0 {
			check(fmt.Sprint("remove ", k))
		}
	}
	assert.Zero(t, tr.Prefixes())
	assert.Nil(t, tr.root.child('t'), "the emptied path is pruned")
}
