package pubsub

import "sort"

// Trie maps topic prefixes to the subscribers of each, as libzmq's mtrie
// does: a subscriber is in a prefix's set at most once, so a second
// subscription of one subscriber to one prefix changes nothing and one
// cancel undoes it. Match walks the bytes of a topic, not the
// subscriptions: its cost is the topic's length plus the subscribers that
// match, however many subscriptions do not.
//
// A Trie is not safe for concurrent use.
type Trie[K comparable] struct {
	root     node[K]
	prefixes int // prefixes with at least one subscriber
}

// node is one prefix. Its children are kept sorted by their byte.
type node[K comparable] struct {
	keys []byte
	kids []*node[K]
	// subs are the prefix's subscribers, in no order, which a match
	// walks as a slice; at indexes them once there are more than
	// linearSubs, so that Add and Remove stay O(1).
	subs []K
	at   map[K]int
}

// linearSubs is the most subscribers of one prefix found by a scan of
// subs, without an index.
const linearSubs = 8

// find returns k's index in subs, or -1.
func (n *node[K]) find(k K) int {
	if n.at != nil {
		if i, ok := n.at[k]; ok {
			return i
		}
		return -1
	}
	for i, s := range n.subs {
		if s == k {
			return i
		}
	}
	return -1
}

// addSub adds k, which is not in subs.
func (n *node[K]) addSub(k K) {
	n.subs = append(n.subs, k)
	switch {
	case n.at != nil:
		n.at[k] = len(n.subs) - 1
	case len(n.subs) > linearSubs:
		n.at = make(map[K]int, 2*len(n.subs))
		for i, s := range n.subs {
			n.at[s] = i
		}
	}
}

// removeSub removes subs[i], moving the last subscriber into its place.
func (n *node[K]) removeSub(i int) {
	last := len(n.subs) - 1
	k, moved := n.subs[i], n.subs[last]
	n.subs[i] = moved
	var zero K
	n.subs[last] = zero
	n.subs = n.subs[:last]
	if n.at != nil {
		delete(n.at, k)
		if i != last {
			n.at[moved] = i
		}
	}
	if last == 0 {
		n.subs, n.at = nil, nil
	}
}

func (n *node[K]) child(c byte) *node[K] {
	keys := n.keys
	if len(keys) <= 8 {
		for i, k := range keys {
			if k == c {
				return n.kids[i]
			}
		}
		return nil
	}
	i := sort.Search(len(keys), func(i int) bool { return keys[i] >= c })
	if i < len(keys) && keys[i] == c {
		return n.kids[i]
	}
	return nil
}

func (n *node[K]) addChild(c byte) *node[K] {
	i := sort.Search(len(n.keys), func(i int) bool { return n.keys[i] >= c })
	if i < len(n.keys) && n.keys[i] == c {
		return n.kids[i]
	}
	k := &node[K]{}
	n.keys = append(n.keys, 0)
	n.kids = append(n.kids, nil)
	copy(n.keys[i+1:], n.keys[i:])
	copy(n.kids[i+1:], n.kids[i:])
	n.keys[i], n.kids[i] = c, k
	return k
}

func (n *node[K]) removeChild(c byte) {
	for i, k := range n.keys {
		if k == c {
			n.keys = append(n.keys[:i], n.keys[i+1:]...)
			copy(n.kids[i:], n.kids[i+1:])
			n.kids[len(n.kids)-1] = nil
			n.kids = n.kids[:len(n.kids)-1]
			return
		}
	}
}

func (n *node[K]) empty() bool { return len(n.subs) == 0 && len(n.keys) == 0 }

// Add subscribes k to prefix. It reports whether prefix had no subscriber
// before (libzmq's first subscription, which an XPUB passes on), and
// whether k was not subscribed to it yet.
func (t *Trie[K]) Add(prefix []byte, k K) (first, added bool) {
	n := &t.root
	for _, c := range prefix {
		n = n.addChild(c)
	}
	first = len(n.subs) == 0
	if n.find(k) >= 0 {
		return first, false
	}
	n.addSub(k)
	if first {
		t.prefixes++
	}
	return first, true
}

// Remove cancels k's subscription to prefix. It reports whether k was
// subscribed, and whether prefix then has no subscriber left (libzmq's
// last cancel, which an XPUB passes on).
func (t *Trie[K]) Remove(prefix []byte, k K) (found, last bool) {
	// The path, to prune the nodes left empty.
	var stack [64]*node[K]
	path := stack[:0]
	n := &t.root
	for _, c := range prefix {
		path = append(path, n)
		if n = n.child(c); n == nil {
			return false, false
		}
	}
	i := n.find(k)
	if i < 0 {
		return false, false
	}
	n.removeSub(i)
	if len(n.subs) > 0 {
		return true, false
	}
	t.prefixes--
	for i := len(path) - 1; i >= 0 && n.empty(); i-- {
		path[i].removeChild(prefix[i])
		n = path[i]
	}
	return true, true
}

// Match calls fn for every subscriber of every prefix of topic, the empty
// one included; a subscriber of several of them is given once for each.
func (t *Trie[K]) Match(topic []byte, fn func(K)) {
	n := &t.root
	for i := 0; ; i++ {
		for _, k := range n.subs {
			fn(k)
		}
		if i == len(topic) {
			return
		}
		if n = n.child(topic[i]); n == nil {
			return
		}
	}
}

// Matcher takes the subscribers Trie.MatchTo finds.
type Matcher[K comparable] interface{ Matched(K) }

// MatchTo is Match with an interface in place of a function, which a
// caller on a hot path can pass without allocating.
func (t *Trie[K]) MatchTo(topic []byte, v Matcher[K]) {
	n := &t.root
	for i := 0; ; i++ {
		for _, k := range n.subs {
			v.Matched(k)
		}
		if i == len(topic) {
			return
		}
		if n = n.child(topic[i]); n == nil {
			return
		}
	}
}

// Has reports whether some prefix of topic has a subscriber.
func (t *Trie[K]) Has(topic []byte) bool {
	n := &t.root
	for i := 0; ; i++ {
		if len(n.subs) > 0 {
			return true
		}
		if i == len(topic) {
			return false
		}
		if n = n.child(topic[i]); n == nil {
			return false
		}
	}
}

// Count returns the number of subscribers of prefix itself.
func (t *Trie[K]) Count(prefix []byte) int {
	n := &t.root
	for _, c := range prefix {
		if n = n.child(c); n == nil {
			return 0
		}
	}
	return len(n.subs)
}

// Prefixes returns the number of prefixes with a subscriber.
func (t *Trie[K]) Prefixes() int { return t.prefixes }

// Walk calls fn for every prefix with a subscriber, in byte order, with its
// number of subscribers. prefix is valid only during the call.
func (t *Trie[K]) Walk(fn func(prefix []byte, subscribers int)) {
	var buf []byte
	var walk func(n *node[K])
	walk = func(n *node[K]) {
		if len(n.subs) > 0 {
			fn(buf, len(n.subs))
		}
		for i, c := range n.keys {
			buf = append(buf, c)
			walk(n.kids[i])
			buf = buf[:len(buf)-1]
		}
	}
	walk(&t.root)
}
