package lb

// Ready is a least-recently-ready queue: workers announce that they are
// ready, and Next hands out the one that has waited longest (the zguide
// load-balancing broker). A worker that announces twice is queued twice,
// once per unit of work it asked for.
//
// Dead entries are dropped lazily by Next, in O(1) each.
//
// Methods are never called concurrently.
type Ready[T any] struct {
	items []T
	head  int
}

// Push queues x as ready for one unit of work.
func (r *Ready[T]) Push(x T) {
	if r.head > 0 && len(r.items) == cap(r.items) {
		n := copy(r.items, r.items[r.head:])
		clear(r.items[n:])
		r.items = r.items[:n]
		r.head = 0
	}
	r.items = append(r.items, x)
}

// Len returns the number of queued entries, dead ones not yet met included.
func (r *Ready[T]) Len() int { return len(r.items) - r.head }

// Next removes and returns the entry that has waited longest among those for
// which alive is true, dropping dead ones on the way. It reports false when
// none is left.
func (r *Ready[T]) Next(alive func(T) bool) (T, bool) {
	var zero T
	for r.head < len(r.items) {
		x := r.items[r.head]
		r.items[r.head] = zero
		r.head++
		if r.head == len(r.items) {
			r.items, r.head = r.items[:0], 0
		}
		if alive(x) {
			return x, true
		}
	}
	return zero, false
}
