package wire

import (
	"math/bits"
	"sync"
)

// Buffers are pooled in size classes that grow by powers of two from
// minClass to maxClass bytes. A buffer larger than maxClass is left to the
// garbage collector, so one huge message cannot pin memory in a pool.
const (
	minClassShift = 9  // 512 B
	maxClassShift = 22 // 4 MiB
)

var classes [maxClassShift - minClassShift + 1]sync.Pool

// classOf returns the pool index for a buffer of capacity c, or -1.
func classOf(c int) int {
	if c < 1<<minClassShift || c > 1<<maxClassShift {
		return -1
	}
	shift := bits.Len(uint(c)) - 1 // floor(log2 c)
	return shift - minClassShift
}

// getBuf returns a buffer with capacity at least n and length n.
func getBuf(n int) *[]byte {
	shift := minClassShift
	if n > 1<<minClassShift {
		shift = bits.Len(uint(n - 1)) // ceil(log2 n)
	}
	if shift > maxClassShift {
		b := make([]byte, n)
		return &b
	}
	if v := classes[shift-minClassShift].Get(); v != nil {
		b := v.(*[]byte)
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, 1<<shift)
	return &b
}

// putBuf returns b to the pool of its size class, if it has one.
func putBuf(b *[]byte) {
	if i := classOf(cap(*b)); i >= 0 {
		*b = (*b)[:0]
		classes[i].Put(b)
	}
}
