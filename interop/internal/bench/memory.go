package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/zrouter/zrouter/interop/internal/servers"
	"github.com/zrouter/zrouter/zmtp"
)

// MemoryOptions configure the memory benchmark (issue 17, defects 3 and
// 5): what a server's resident memory grows by for connections stalled in
// a long command, and what it keeps after bursts of many-frame messages
// from peers that are gone.
type MemoryOptions struct {
	// Servers are the echo servers, in round order.
	Servers []string
	// Stalled is the number of connections that handshake as DEALERs,
	// then send the header of a command that announces Announce bytes and
	// only the first 10 of them, and stall.
	Stalled, Announce int
	// Clients is the number of DEALERs that send Bursts messages of
	// Frames empty frames each, between them, and read each echo back
	// before sending the next.
	Clients, Bursts, Frames int
	// Settle is how long the server is left alone before its memory is
	// read: after the stalled connections have sent, and after the
	// burst clients have gone.
	Settle time.Duration
	// Rounds is how many times each server is measured, interleaved.
	Rounds int
	// Timeout is the longest wait for a reply or a server.
	Timeout time.Duration
	// Self runs this program as a server child process (Child.Args).
	Self func(args []string) *exec.Cmd
	// Log, when set, gets progress lines.
	Log io.Writer
}

// MemoryResult is one server's round, in bytes of resident memory.
type MemoryResult struct {
	Server string `json:"server"`
	Round  int    `json:"round"`
	// PerStalled is the growth per stalled connection.
	PerStalled float64 `json:"per_stalled"`
	// Base is the server's resident memory before the bursts; Held is its
	// growth after them, their clients still connected, and Left after
	// the clients have gone and Settle has passed.
	Base int64 `json:"base"`
	Held int64 `json:"held"`
	Left int64 `json:"left"`
	// Heap is a zrouter server's live heap after a collection once the
	// burst clients have gone; -1 for libzmq's.
	Heap int64 `json:"heap"`
}

// DefaultMemoryServers are the servers of the memory benchmark.
var DefaultMemoryServers = []string{servers.ZRouter, servers.ZRouterP1, servers.Libzmq}

// RunMemory runs the memory benchmark.
func RunMemory(ctx context.Context, o MemoryOptions) ([]MemoryResult, error) {
	var out []MemoryResult
	for round := range o.Rounds {
		for _, kind := range o.Servers {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			r := MemoryResult{Server: kind, Round: round}
			var err error
			if r.PerStalled, err = memoryStalled(o, kind); err != nil {
				return out, fmt.Errorf("bench: memory %s, stalled commands: %w", kind, err)
			}
			if r.Base, r.Held, r.Left, r.Heap, err = memoryBursts(o, kind); err != nil {
				return out, fmt.Errorf("bench: memory %s, bursts: %w", kind, err)
			}
			if o.Log != nil {
				fmt.Fprintf(o.Log, "memory %s round %d: %.1f KiB per stalled command; bursts held %.1f MiB, left %.1f MiB, live heap %.1f MiB\n",
					kind, round, r.PerStalled/1024, float64(r.Held)/(1<<20), float64(r.Left)/(1<<20), float64(r.Heap)/(1<<20))
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// startMemoryServer starts an echo server of kind, which writes its live
// heap to heapFile when that is set.
func startMemoryServer(o MemoryOptions, kind, heapFile string) (*server, error) {
	c := Child{Kind: kind, Addrs: []string{"tcp://127.0.0.1:0"}, HeapFile: heapFile}
	cmd := o.Self(c.Args())
	if slices.Contains(oneProc, kind) {
		cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	}
	return startServer(kind, cmd, nil, true, o.Timeout)
}

// memoryStalled returns the server's growth per stalled connection.
func memoryStalled(o MemoryOptions, kind string) (per float64, err error) {
	srv, err := startMemoryServer(o, kind, "")
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, srv.stop(o.Timeout)) }()
	time.Sleep(o.Settle)
	before, err := srv.rss()
	if err != nil {
		return 0, err
	}
	// A long command's header, its announced size, and 10 bytes of body.
	stall := append([]byte{0x06}, binary.BigEndian.AppendUint64(nil, uint64(o.Announce))...)
	stall = append(stall, make([]byte, 10)...)
	conns, err := dialDealers(srv.addrs[0], o.Stalled, o.Timeout)
	if err != nil {
		return 0, err
	}
	defer closeAll(conns)
	for _, nc := range conns {
		if _, err := nc.Write(stall); err != nil {
			return 0, err
		}
	}
	time.Sleep(o.Settle)
	after, err := srv.rss()
	if err != nil {
		return 0, err
	}
	return float64(after-before) / float64(o.Stalled), nil
}

// memoryBursts returns the server's resident memory before the bursts, its
// growth with their clients connected and after they have gone, and then
// a zrouter server's live heap (-1 for libzmq's).
func memoryBursts(o MemoryOptions, kind string) (base, held, left, heap int64, err error) {
	heapFile := ""
	if kind != servers.Libzmq {
		dir, err := os.MkdirTemp("", "zbench-heap")
		if err != nil {
			return 0, 0, 0, 0, err
		}
		defer os.RemoveAll(dir)
		heapFile = filepath.Join(dir, "heap")
	}
	srv, err := startMemoryServer(o, kind, heapFile)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer func() { err = errors.Join(err, srv.stop(o.Timeout)) }()
	time.Sleep(o.Settle)
	if base, err = srv.rss(); err != nil {
		return 0, 0, 0, 0, err
	}
	msg := zmtp.AppendMessage(nil, make([][]byte, o.Frames))
	conns, err := dialDealers(srv.addrs[0], o.Clients, o.Timeout)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer closeAll(conns) // a second Close of each is harmless
	var wg sync.WaitGroup
	errs := make([]error, len(conns))
	for i, nc := range conns {
		n := o.Bursts / len(conns)
		if i < o.Bursts%len(conns) {
			n++
		}
		wg.Go(func() { errs[i] = echoBursts(nc, msg, n, o.Timeout) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, 0, 0, 0, err
	}
	peak, err := srv.rss()
	if err != nil {
		return 0, 0, 0, 0, err
	}
	closeAll(conns)
	time.Sleep(o.Settle)
	after, err := srv.rss()
	if err != nil {
		return 0, 0, 0, 0, err
	}
	heap = -1
	if heapFile != "" {
		if heap, err = liveHeap(srv, heapFile, o.Timeout); err != nil {
			return 0, 0, 0, 0, err
		}
	}
	return base, peak - base, after - base, heap, nil
}

// dialDealer connects to the tcp endpoint ep and handshakes as a DEALER.
func dialDealer(ep string, timeout time.Duration) (net.Conn, error) {
	nc, err := net.DialTimeout("tcp", strings.TrimPrefix(ep, "tcp://"), timeout)
	if err != nil {
		return nil, err
	}
	if _, err := zmtp.Handshake(nc, &zmtp.Config{SocketType: zmtp.DEALER, MaxSize: -1, Timeout: timeout}); err != nil {
		_ = nc.Close()
		return nil, err
	}
	return nc, nil
}

// dialDealers connects n raw DEALERs to ep, or none: on an error it closes
// those it made.
func dialDealers(ep string, n int, timeout time.Duration) ([]net.Conn, error) {
	conns := make([]net.Conn, 0, n)
	for range n {
		nc, err := dialDealer(ep, timeout)
		if err != nil {
			closeAll(conns)
			return nil, err
		}
		conns = append(conns, nc)
	}
	return conns, nil
}

// closeAll closes every connection of conns.
func closeAll(conns []net.Conn) {
	for _, nc := range conns {
		_ = nc.Close()
	}
}

// echoBursts sends msg, encoded, n times over nc, and reads each echo
// back, which is the same bytes, before the next.
func echoBursts(nc net.Conn, msg []byte, n int, timeout time.Duration) error {
	back := make([]byte, len(msg))
	for range n {
		if err := nc.SetDeadline(time.Now().Add(timeout)); err != nil {
			return err
		}
		if _, err := nc.Write(msg); err != nil {
			return err
		}
		if _, err := io.ReadFull(nc, back); err != nil {
			return err
		}
		if !bytes.Equal(back, msg) {
			return errors.New("the echo differs from the message")
		}
	}
	return nil
}

// WriteMemory writes the memory table: medians over the rounds.
func WriteMemory(w io.Writer, o MemoryOptions, rs []MemoryResult) {
	fmt.Fprintf(w, "Resident memory (VmRSS) of each echo server: its growth per connection that handshook as a DEALER and then stalled in a command announcing %d bytes, of which it sent 10 (%d connections); and, from %d DEALERs that sent %d messages of %d empty frames (%.1f MiB of wire) and read each echo, its growth while they were connected and %v after they had gone, and then a zrouter server's live heap after a collection. Medians of %d rounds; a fresh server for each part.\n\n",
		o.Announce, o.Stalled, o.Clients, o.Bursts, o.Frames, float64(o.Bursts*len(zmtp.AppendMessage(nil, make([][]byte, o.Frames))))/(1<<20), o.Settle, o.Rounds)
	fmt.Fprintln(w, "| server | per stalled command | base | bursts, connected | bursts, gone | live heap, gone |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, kind := range o.Servers {
		var per, base, held, left, heap []float64
		for _, r := range rs {
			if r.Server != kind {
				continue
			}
			per, base = append(per, r.PerStalled), append(base, float64(r.Base))
			held, left = append(held, float64(r.Held)), append(left, float64(r.Left))
			heap = append(heap, float64(r.Heap))
		}
		if len(per) == 0 {
			continue
		}
		live := "-"
		if h := median(heap); h >= 0 {
			live = fmt.Sprintf("%.1f MiB", h/(1<<20))
		}
		fmt.Fprintf(w, "| %s | %.1f KiB | %.1f MiB | %+.1f MiB | %+.1f MiB | %s |\n", kind,
			median(per)/1024, median(base)/(1<<20), median(held)/(1<<20), median(left)/(1<<20), live)
	}
}

// reportHeap writes the process's live heap after a collection to file at
// each SIGUSR1, until the function it returns is called.
func reportHeap(file string) (stop func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-sig:
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				_ = os.WriteFile(file+".tmp", []byte(strconv.FormatUint(ms.HeapAlloc, 10)), 0o600)
				_ = os.Rename(file+".tmp", file)
			case <-done:
				return
			}
		}
	})
	return func() {
		signal.Stop(sig)
		close(done)
		wg.Wait()
	}
}

// liveHeap asks the server child, started with HeapFile file, for its live
// heap after a collection.
func liveHeap(srv *server, file string, timeout time.Duration) (int64, error) {
	_ = os.Remove(file)
	if err := srv.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return 0, err
	}
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(file)
		if err == nil {
			return strconv.ParseInt(string(b), 10, 64)
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no live heap from the server within %v", timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
