//go:build linux

package peer

import "syscall"

// YieldThread gives the rest of the calling thread's time slice to the
// threads waiting for its CPU, if any; it returns at once when none does.
// It is a raw system call: the thread keeps its P, so that what the kernel
// runs meanwhile is another process's thread or one of ours that needs no
// P, not a thread that sysmon would start to take the P over.
func YieldThread() { syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }
