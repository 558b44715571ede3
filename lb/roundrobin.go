package lb

// RoundRobin picks entries in turn.
//
// Entries are not removed when they die: Next drops a dead entry when it
// meets one, in O(1), so a disconnect costs nothing up front and thousands
// of peers can churn without a scan per departure. The order of the
// remaining entries may change when one is dropped.
//
// Methods are never called concurrently.
type RoundRobin[T any] struct {
	items []T
	next  int
}

// Add appends x to the rotation.
func (r *RoundRobin[T]) Add(x T) { r.items = append(r.items, x) }

// Len returns the number of entries, dead ones not yet met included.
func (r *RoundRobin[T]) Len() int { return len(r.items) }

// Next returns the next entry for which alive is true and usable is true,
// and moves past it. Entries for which alive is false are dropped; entries
// that are alive but not usable (a full queue) are passed over and kept. It
// reports false when no entry qualifies.
func (r *RoundRobin[T]) Next(alive, usable func(T) bool) (T, bool) {
	var zero T
	for tries := len(r.items); tries > 0 && len(r.items) > 0; {
		if r.next >= len(r.items) {
			r.next = 0
		}
		x := r.items[r.next]
		if !alive(x) {
			r.remove(r.next)
			continue
		}
		r.next++
		tries--
		if usable == nil || usable(x) {
			return x, true
		}
	}
	return zero, false
}

// remove drops entry i by moving the last entry into its place.
func (r *RoundRobin[T]) remove(i int) {
	var zero T
	last := len(r.items) - 1
	r.items[i] = r.items[last]
	r.items[last] = zero
	r.items = r.items[:last]
}

// Compact drops every dead entry at once. The hub may call it when dead
// entries have piled up, for example after many disconnects with no sends.
func (r *RoundRobin[T]) Compact(alive func(T) bool) {
	for i := 0; i < len(r.items); {
		if alive(r.items[i]) {
			i++
			continue
		}
		r.remove(i)
	}
	if r.next > len(r.items) {
		r.next = 0
	}
}
