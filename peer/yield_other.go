//go:build !linux

package peer

// YieldThread does nothing where the kernel's scheduler has not been
// measured under load.
func YieldThread() {}
