//go:build !unix

package peer

import "runtime"

// turnstile, where the pipe trick is not built, only yields the processor.
type turnstile struct{}

// turns is the process's turnstile.
func turns() *turnstile { return nil }

// wait yields the processor.
func (*turnstile) wait(<-chan struct{}) { runtime.Gosched() }
