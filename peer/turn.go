package peer

import (
	"runtime"
	"sync/atomic"
)

// Readers that always have bytes waiting take turns with the others.
//
// The Go runtime learns that a connection has bytes only when it polls the
// network, and it polls from the scheduler only when a P has nothing else
// to run, or from sysmon when no poll happened for 10 ms. A reader whose
// peer floods it never waits for the network: each read returns at once,
// and the reader runs until it is preempted. With a few such readers
// always runnable, a light peer's bytes wait in the kernel until sysmon
// polls, 10 ms later or more, and then for a P. libzmq's I/O thread gives
// every ready connection one read per turn of its poll loop instead.
//
// So a reader whose reads have come back full for turnBytes, while other
// connections are being read, gives way: it waits until the runtime has
// polled the network once more (turnstile.wait). With every flooding
// reader waiting, the Ps run out of work and poll, which makes the light
// peers' readers runnable in the same round as the flooding ones.
//
// A reader that gives way first yields its thread to the kernel
// (YieldThread). The Ps of a flooded process never run out of work for
// long, so their threads never sleep, and Linux lets a running thread
// finish its slice (milliseconds) before a woken one on the same CPU runs:
// a light peer, or the server's own echo loop, then waits on that CPU's
// run queue while the flood is read. Ending the slice at each turn gives
// it the CPU at once. With two Ps it took the light peer's p99 under the
// fairness benchmark's flood from 4.5-8 ms to 1.1-1.3 ms, libzmq's 1.4-1.6.

// turnBytes is how much one reader takes, in reads that come back full,
// before it gives the others a turn: large enough that a connection
// streaming at full speed pays for a turn (a few system calls) only once
// per this many bytes.
const turnBytes = 32 << 10

// netReaders counts the readers of network connections in the process:
// one alone has nobody to give way to.
var netReaders atomic.Int32

// netWaiting counts what may wait for the runtime's next poll of the
// network: the readers whose latest read came back short
// (zmtp.Reader.Drained), and the handshakes under way. When it is zero
// every connection being read streams, none waits for a poll, and a turn
// would only cost the streams: four PULLs taking 64 KiB messages from
// four PUSHes each made 25% more of them without turns.
var netWaiting atomic.Int32

// giveWay is the reader's turn check, before a read: a reader whose
// streak of full reads reached turnBytes waits for the next poll of the
// network (or until done closes) when readers connections in all are read
// and something waits for such a poll.
func giveWay(streak int, readers int32, done <-chan struct{}) bool {
	if streak < turnBytes || readers < 2 || netWaiting.Load() == 0 {
		return false
	}
	YieldThread()
	turns().wait(done)
	return true
}

// waitMark is a reader's share of netWaiting.
type waitMark bool

// set counts the reader in netWaiting or out of it.
func (w *waitMark) set(waiting bool) {
	if bool(*w) == waiting {
		return
	}
	*w = waitMark(waiting)
	if waiting {
		netWaiting.Add(1)
	} else {
		netWaiting.Add(-1)
	}
}

// Outrun is for a sender that never blocks, after a message that every
// queue it went to refused: it outruns all its peers, and what would
// empty their queues should run before it makes another message. Under
// one P it waits for the runtime's next poll of the network (as Offer's
// first yield does), which its writers, parked until their sockets take
// more, need in order to run: the sender's goroutine would otherwise keep
// the P until the scheduler preempts it, some 10 ms later. It then yields
// its thread to the kernel (YieldThread), for the processes that share the
// machine: the forwarder and subscribers that move what it does deliver.
func Outrun() {
	if oneP() {
		turns().wait(nil)
	}
	YieldThread()
}

// oneP reports whether the process runs with one P, as Outrun last
// asked the runtime: runtime.GOMAXPROCS takes the scheduler's lock, which
// a sender giving way at every message would take from every P, so it is
// asked once in 256 calls.
func oneP() bool {
	if oneProc.calls.Add(1)%256 == 1 {
		oneProc.is.Store(runtime.GOMAXPROCS(0) == 1)
	}
	return oneProc.is.Load()
}

var oneProc struct {
	calls atomic.Uint32
	is    atomic.Bool
}
