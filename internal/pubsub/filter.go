package pubsub

// Filter is a SUB's set of subscriptions, as libzmq's trie counts them:
// each subscription to a prefix counts, and the prefix stays until as
// many cancels have come. Has is the Trie's match, whose cost does not
// grow with the subscriptions that do not match.
//
// A Filter is not safe for concurrent use.
type Filter struct {
	counts map[string]int
	trie   Trie[struct{}]
}

// Add counts a subscription to prefix, and reports whether it is the
// prefix's first.
func (f *Filter) Add(prefix []byte) bool {
	if f.counts == nil {
		f.counts = make(map[string]int)
	}
	n := f.counts[string(prefix)] + 1
	f.counts[string(prefix)] = n
	if n == 1 {
		f.trie.Add(prefix, struct{}{})
	}
	return n == 1
}

// Remove uncounts a subscription to prefix. It reports whether prefix had
// one, and whether that was its last.
func (f *Filter) Remove(prefix []byte) (found, last bool) {
	n, ok := f.counts[string(prefix)]
	if !ok {
		return false, false
	}
	if n > 1 {
		f.counts[string(prefix)] = n - 1
		return true, false
	}
	delete(f.counts, string(prefix))
	f.trie.Remove(prefix, struct{}{})
	return true, true
}

// Has reports whether topic starts with a prefix subscribed to.
func (f *Filter) Has(topic []byte) bool { return f.trie.Has(topic) }

// Len returns the number of distinct prefixes subscribed to.
func (f *Filter) Len() int { return len(f.counts) }

// Walk calls fn once for every prefix subscribed to, in byte order.
func (f *Filter) Walk(fn func(prefix []byte)) {
	f.trie.Walk(func(p []byte, _ int) { fn(p) })
}
