package interop

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
)

// buildCLI builds the zrouter command (the module in ../cmd/zrouter) into a
// directory removed when the test ends, and returns the binary's path. It
// runs the go command that runs the tests (go test puts its own first on
// PATH), in the repository's workspace whatever GOWORK says, so that the
// command is built against the library next to it.
func buildCLI(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "cmd", "zrouter", "go.mod"))
	require.NoError(t, err, "the zrouter command's module next to the interop module")
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "the go command")
	bin := filepath.Join(t.TempDir(), "zrouter")
	build := exec.Command(goBin, "build", "-o", bin, "./cmd/zrouter")
	build.Dir = root
	build.Env = append(os.Environ(), "GOWORK="+filepath.Join(root, "go.work"))
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build ./cmd/zrouter:\n%s", out)
	return bin
}

// cliProc is a zrouter process started by a test.
type cliProc struct {
	cmd    *exec.Cmd
	stdout testutil.Buffer
	stderr testutil.Buffer
	done   chan struct{} // closed when the process has exited
	state  *os.ProcessState
}

// startCLI starts bin with args. The process is killed, if it still runs,
// when the test ends; its output is logged when the test has failed.
func startCLI(t *testing.T, bin string, args ...string) *cliProc {
	t.Helper()
	p := &cliProc{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	require.NoError(t, p.cmd.Start(), "start zrouter %v", args)
	go func() {
		defer close(p.done)
		_ = p.cmd.Wait() // the exit status is read from ProcessState
		p.state = p.cmd.ProcessState
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("zrouter %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), p.stdout.String(), p.stderr.String())
		}
	})
	return p
}

// waitStderr waits until the process has logged sub.
func (p *cliProc) waitStderr(t *testing.T, sub string) {
	t.Helper()
	testutil.CheckFor(t, waitLimit, func() bool {
		select {
		case <-p.done:
			require.FailNow(t, "zrouter exited early", "waiting for %q; stderr:\n%s", sub, p.stderr.String())
		default:
		}
		return strings.Contains(p.stderr.String(), sub)
	}, "zrouter logs %q", sub)
}

// stop sends sig to the process and returns its exit code once it has
// exited.
func (p *cliProc) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(sig))
	select {
	case <-p.done:
	case <-time.After(waitLimit):
		require.FailNow(t, "zrouter did not exit after "+sig.String())
	}
	return p.state.ExitCode()
}

// freeEndpoint returns tcp://127.0.0.1:PORT with a port that was free a
// moment ago.
func freeEndpoint(t *testing.T) string {
	t.Helper()
	return "tcp://" + freeAddr(t)
}

// freeAddr returns 127.0.0.1:PORT with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// metric returns the value of the sample line that starts with series
// (name and labels, as exposed) at http://addr/metrics, or -1 when it is
// missing or the scrape fails.
func metric(addr, series string) float64 {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// zmqWorker is a libzmq worker on its own goroutine, which owns its socket:
// pebbe/zmq4 sockets must not be shared between goroutines. It answers each
// request with "NAME:REQUEST".
type zmqWorker struct {
	name    string
	handled atomic.Int64
	stop    atomic.Bool
	done    chan struct{}
}

// pollTimeout is how long a worker's receive waits before it looks at its
// stop flag again.
const pollTimeout = 50 * time.Millisecond

// startWorker connects a worker of type typ (REP, or REQ for the ready
// protocol) to endpoint. It stops, and closes its socket, when the test
// ends, before zctx is terminated when zctx was made first.
func startWorker(t *testing.T, zctx *zmq.Context, typ zmq.Type, endpoint, name string) *zmqWorker {
	t.Helper()
	s, err := zctx.NewSocket(typ)
	require.NoError(t, err)
	require.NoError(t, s.SetLinger(0))
	require.NoError(t, s.SetRcvtimeo(pollTimeout))
	require.NoError(t, s.SetSndtimeo(ioTimeout))
	require.NoError(t, s.Connect(endpoint))
	w := &zmqWorker{name: name, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer func() { assert.NoError(t, s.Close(), "close worker %s", name) }()
		w.serve(t, s, typ)
	}()
	t.Cleanup(func() {
		w.stop.Store(true)
		<-w.done
	})
	return w
}

func (w *zmqWorker) serve(t *testing.T, s *zmq.Socket, typ zmq.Type) {
	if typ == zmq.REQ {
		// The ready protocol: a REQ worker asks for work first.
		if _, err := s.SendMessage("READY"); err != nil {
			t.Errorf("worker %s: send READY: %v", w.name, err)
			return
		}
	}
	for !w.stop.Load() {
		msg, err := s.RecvMessageBytes(0)
		if isErrno(err, zmq.Errno(syscall.EAGAIN)) {
			continue
		}
		if err != nil {
			t.Errorf("worker %s: receive: %v", w.name, err)
			return
		}
		// REP: [request]; REQ in the ready protocol: [client-id, "", request].
		last := len(msg) - 1
		reply := append(msg[:last:last], []byte(w.name+":"+string(msg[last])))
		if typ == zmq.REQ && (len(msg) != 3 || len(msg[1]) != 0) {
			t.Errorf("worker %s: request %q is not [client-id, \"\", request]", w.name, msg)
		}
		if _, err := s.SendMessage(reply); err != nil {
			t.Errorf("worker %s: reply: %v", w.name, err)
			return
		}
		w.handled.Add(1)
	}
}
