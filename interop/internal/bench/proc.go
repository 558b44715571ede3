package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// userHZ is the unit of the CPU times in /proc/PID/stat: Linux reports them
// in USER_HZ ticks, which is 100 on every architecture it exports to user
// space.
const userHZ = 100

// server is a server child process.
type server struct {
	kind  string
	addrs []string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	exit  chan struct{} // closed when the process has exited
	err   error         // Wait's result; read after exit is closed
}

// startServer starts cmd, which must print "READY endpoint..." on stdout,
// and waits for that line (when waitReady) or until every one of addrs
// accepts a TCP connection.
func startServer(kind string, cmd *exec.Cmd, addrs []string, waitReady bool, timeout time.Duration) (*server, error) {
	s := &server{kind: kind, cmd: cmd, exit: make(chan struct{})}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	s.stdin = stdin
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start %s server: %w", kind, err)
	}
	lines := make(chan string, 1)
	go func() {
		// Read until EOF, so that the child never blocks on a full
		// pipe; only the first line matters.
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			if first {
				lines <- sc.Text()
				first = false
			}
		}
		close(lines)
		s.err = cmd.Wait()
		close(s.exit)
	}()
	fail := func(err error) (*server, error) {
		_ = s.kill()
		return nil, fmt.Errorf("bench: %s server: %w", kind, err)
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	if waitReady {
		select {
		case line, ok := <-lines:
			rest, found := strings.CutPrefix(line, "READY ")
			if !ok || !found {
				return fail(fmt.Errorf("did not start (first line %q)", line))
			}
			s.addrs = strings.Fields(rest)
			return s, nil
		case <-deadline.C:
			return fail(errors.New("not ready in time"))
		}
	}
	s.addrs = addrs
	for _, a := range addrs {
		for {
			c, err := net.DialTimeout("tcp", strings.TrimPrefix(a, "tcp://"), time.Second)
			if err == nil {
				_ = c.Close()
				break
			}
			select {
			case <-s.exit:
				return fail(fmt.Errorf("exited before listening: %v", s.err))
			case <-deadline.C:
				return fail(fmt.Errorf("not listening on %s in time", a))
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return s, nil
}

// exited returns the process's exit error if it has exited, else nil.
func (s *server) exited() error {
	select {
	case <-s.exit:
		if s.err == nil {
			return errors.New("exited")
		}
		return s.err
	default:
		return nil
	}
}

// stop asks the server to end with SIGTERM and waits until it has exited,
// killing it after timeout. A server that does not exit cleanly is an error.
func (s *server) stop(timeout time.Duration) error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-s.exit:
		_ = s.stdin.Close()
		if s.err != nil {
			return fmt.Errorf("bench: %s server: %w", s.kind, s.err)
		}
		return nil
	case <-t.C:
		_ = s.kill()
		return fmt.Errorf("bench: %s server did not stop within %v", s.kind, timeout)
	}
}

// kill ends the process at once and waits for it.
func (s *server) kill() error {
	_ = s.cmd.Process.Kill()
	_ = s.stdin.Close()
	<-s.exit
	return s.err
}

// cpu returns the CPU time, user plus system, that the process has used so
// far, over all its threads.
func (s *server) cpu() (time.Duration, error) {
	return procCPU(s.cmd.Process.Pid)
}

// rss returns the process's resident set size in bytes.
func (s *server) rss() (int64, error) {
	return procRSS(s.cmd.Process.Pid)
}

func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b)
}

// parseStatCPU returns utime+stime from the contents of /proc/PID/stat.
// The command name, field 2, may hold spaces and parentheses, so the
// fields are counted from the last ')'.
func parseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("bench: malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("bench: short /proc stat")
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: /proc stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseStatusRSS(b)
}

// parseStatusRSS returns VmRSS, in bytes, from /proc/PID/status.
func parseStatusRSS(b []byte) (int64, error) {
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("bench: unexpected VmRSS line %q", line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, err
		}
		return kb << 10, nil
	}
	return 0, errors.New("bench: no VmRSS in /proc status")
}

// RaiseFileLimit raises RLIMIT_NOFILE to n, or as far as the hard limit
// allows when n is out of reach, and returns the soft limit now in force.
func RaiseFileLimit(n uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur >= n {
		return lim.Cur, nil
	}
	want := syscall.Rlimit{Cur: n, Max: max(n, lim.Max)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err == nil {
		return n, nil
	}
	// Without the privilege to raise the hard limit, go as far as it.
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	return lim.Cur, nil
}

// freePort returns a TCP endpoint on 127.0.0.1 with a port that was free a
// moment ago, for a server that cannot report the port it bound.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", err
	}
	return "tcp://" + addr, nil
}

// load is what the whole machine and this process have used of the CPU.
type load struct {
	busy time.Duration // every CPU's non-idle time
	self time.Duration // this process's user and system time (selfCPU)
}

func readLoad() (load, error) {
	var l load
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return l, err
	}
	if l.busy, err = parseStatBusy(b); err != nil {
		return l, err
	}
	l.self, err = selfCPU()
	return l, err
}

// selfCPU returns this process's user and system time from getrusage,
// which Linux gives to the microsecond, where /proc counts 10 ms ticks: a
// short run of light clients would otherwise often count none.
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("bench: getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// parseStatBusy returns the non-idle time of all CPUs together from the
// contents of /proc/stat: user, nice, system, irq, softirq and steal (the
// guest times are part of user and nice already).
func parseStatBusy(b []byte) (time.Duration, error) {
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, errors.New("bench: malformed /proc/stat")
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: /proc/stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// startProfile starts a CPU profile of this process into the file path and
// returns what stops it and closes the file.
func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, errors.Join(err, f.Close())
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }, nil
}
