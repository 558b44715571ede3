package interop

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/socket"
)

// JeroMQ runs as a Java program of its own, testdata/jeromq/JeromqPeer.java,
// compiled at test time against each of two JeroMQ versions:
//   - 0.3.6, Debian bookworm's libjeromq-java, which speaks ZMTP 2.0 only;
//     `make deps` installs the package and a JDK;
//   - 0.6.0, trixie's, which speaks ZMTP 3.0; `make deps` unpacks it (and
//     the jnacl it needs) into JEROMQ6_DIR, without installing it.

// jeromqVersion is one JeroMQ that the tests run on.
type jeromqVersion struct {
	name string
	jars []string // the class path it needs
	zmq  string   // the libzmq version it says it follows, as a prefix
}

// jeromqVersions returns the JeroMQ versions, where the environment may
// move them: JEROMQ_JAR is 0.3.6's jar, JEROMQ6_DIR 0.6's directory.
func jeromqVersions() []jeromqVersion {
	jar := os.Getenv("JEROMQ_JAR")
	if jar == "" {
		jar = "/usr/share/java/jeromq.jar"
	}
	dir := os.Getenv("JEROMQ6_DIR")
	if dir == "" {
		dir = ".jeromq-0.6"
	}
	return []jeromqVersion{
		{name: "0.3.6", jars: []string{jar}, zmq: "3.2."},
		{name: "0.6", jars: []string{filepath.Join(dir, "jeromq.jar"), filepath.Join(dir, "jnacl.jar")}, zmq: "4.1."},
	}
}

// buildJeromqPeer compiles JeromqPeer.java against v into a directory
// removed when the test ends, and returns the java class path that runs
// it.
func buildJeromqPeer(t *testing.T, v jeromqVersion) string {
	t.Helper()
	for _, jar := range v.jars {
		_, err := os.Stat(jar)
		require.NoError(t, err, "JeroMQ %s's class path (`make deps` puts it there)", v.name)
	}
	javac, err := exec.LookPath("javac")
	require.NoError(t, err, "a JDK's javac (`make deps` installs default-jdk-headless)")
	src, err := filepath.Abs(filepath.Join("testdata", "jeromq", "JeromqPeer.java"))
	require.NoError(t, err)
	dir := t.TempDir()
	cp := strings.Join(v.jars, string(os.PathListSeparator))
	out, err := exec.Command(javac, "-nowarn", "-cp", cp, "-d", dir, src).CombinedOutput()
	require.NoError(t, err, "javac JeromqPeer.java against JeroMQ %s:\n%s", v.name, out)
	return dir + string(os.PathListSeparator) + cp
}

// jeromqProc is a JeromqPeer process.
type jeromqProc struct {
	cmd    *exec.Cmd
	stdout testutil.Buffer
	stderr testutil.Buffer
	done   chan struct{}
	state  *os.ProcessState
}

// startJeromq runs JeromqPeer with args and waits until its socket is
// connected or bound. It is killed, if it still runs, when the test ends.
func startJeromq(t *testing.T, cp string, args ...string) *jeromqProc {
	t.Helper()
	java, err := exec.LookPath("java")
	require.NoError(t, err, "java")
	p := &jeromqProc{cmd: exec.Command(java, append([]string{"-cp", cp, "JeromqPeer"}, args...)...), done: make(chan struct{})}
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	require.NoError(t, p.cmd.Start())
	go func() {
		defer close(p.done)
		_ = p.cmd.Wait()
		p.state = p.cmd.ProcessState
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			t.Logf("JeromqPeer %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), p.stdout.String(), p.stderr.String())
		}
	})
	testutil.CheckFor(t, waitLimit, func() bool {
		select {
		case <-p.done:
			require.FailNow(t, "JeromqPeer exited early", "stdout:\n%s\nstderr:\n%s", p.stdout.String(), p.stderr.String())
		default:
		}
		return strings.Contains(p.stdout.String(), "ready\n")
	}, "JeromqPeer %v is ready", args)
	return p
}

// wait waits for the process to exit, and checks that it did its work.
func (p *jeromqProc) wait(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		require.FailNow(t, "JeromqPeer did not finish", "stdout:\n%s", p.stdout.String())
	}
	assert.Equal(t, 0, p.state.ExitCode(), "JeromqPeer exit status; stdout:\n%s\nstderr:\n%s", p.stdout.String(), p.stderr.String())
	assert.Contains(t, p.stdout.String(), "ok\n")
}

// TestJeroMQ runs JeroMQ 0.3.6 (ZMTP 2.0) and 0.6 (ZMTP 3.0) sockets
// against zrouter: DEALER and REQ clients of a ROUTER, a ROUTER that a
// zrouter DEALER connects to, and REP workers behind `zrouter broker`.
func TestJeroMQ(t *testing.T) {
	for _, v := range jeromqVersions() {
		t.Run(v.name, func(t *testing.T) {
			cp := buildJeromqPeer(t, v)
			p := startJeromq(t, cp, "req", freeEndpoint(t), "0")
			p.wait(t)
			require.Contains(t, p.stdout.String(), "zmq="+v.zmq, "the class path runs JeroMQ %s", v.name)
			t.Run("dealer-to-router", func(t *testing.T) { testJeromqDealer(t, cp) })
			t.Run("req-to-router", func(t *testing.T) { testJeromqREQ(t, cp) })
			t.Run("dealer-to-jeromq-router", func(t *testing.T) { testJeromqRouter(t, cp) })
			t.Run("rep-workers-behind-broker", func(t *testing.T) { testJeromqBroker(t, cp) })
		})
	}
}

// testJeromqDealer: a JeroMQ DEALER with an identity sends multipart
// messages with an empty frame to a zrouter ROUTER, with heartbeats on,
// which sees the identity as the routing id and echoes each message.
func testJeromqDealer(t *testing.T, cp string) {
	r := newRouter(t, socket.WithHeartbeat(socket.Heartbeat{Interval: 50 * time.Millisecond}))
	ids := make(chan []byte, 100)
	startEcho(t, r, func(frames [][]byte) {
		select {
		case ids <- bytes.Clone(frames[0]):
		default:
		}
	})
	p := startJeromq(t, cp, "dealer", r.Addr(), "jeromq-dealer", "50")
	p.wait(t)
	assert.Equal(t, "jeromq-dealer", string(first(t, ids)), "the ZMTP 2.0 identity is the routing id")
}

// testJeromqREQ: a JeroMQ REQ without an identity against a zrouter ROUTER,
// which gives it a generated routing id and sees its delimiter frame.
func testJeromqREQ(t *testing.T, cp string) {
	r := newRouter(t)
	msgs := make(chan [][]byte, 100)
	startEcho(t, r, func(frames [][]byte) {
		select {
		case msgs <- cloneFrames(frames):
		default:
		}
	})
	p := startJeromq(t, cp, "req", r.Addr(), "20")
	p.wait(t)
	msg := first(t, msgs)
	require.Len(t, msg, 3)
	assert.Len(t, msg[0], 5, "a generated routing id")
	assert.Equal(t, byte(0), msg[0][0])
	assert.Empty(t, msg[1], "the REQ's delimiter")
	assert.Equal(t, "r0", string(msg[2]))
}

// testJeromqRouter: a zrouter DEALER with a routing id connects to a bound
// JeroMQ ROUTER, which names it by that id and sends each message back.
func testJeromqRouter(t *testing.T, cp string) {
	ep := freeEndpoint(t)
	p := startJeromq(t, cp, "router", ep, "30")
	d := dealerNew(t, socket.WithRoutingID([]byte("zr-dealer")))
	require.NoError(t, d.Connect(ep))
	for i := range 30 {
		msg := []string{fmt.Sprintf("m%d", i), "", strings.Repeat("y", 1000)}
		dealerSend(t, d, msg...)
		assert.Equal(t, msg, dealerRecv(t, d), "message %d", i)
	}
	p.wait(t)
	assert.Contains(t, p.stdout.String(), "id=zr-dealer\n")
}

// testJeromqBroker: `zrouter broker` (rr) with two JeroMQ REP workers on its
// backend and libzmq REQ clients on its frontend: each client gets the
// answer to its own request, and both workers get work.
func testJeromqBroker(t *testing.T, cp string) {
	bin := buildCLI(t)
	front, back, metrics := freeEndpoint(t), freeEndpoint(t), freeAddr(t)
	b := startCLI(t, bin, "broker", "--frontend", front, "--backend", back, "--metrics", metrics)
	b.waitStderr(t, "broker: running")
	workers := []*jeromqProc{
		startJeromq(t, cp, "rep", back, "j1"),
		startJeromq(t, cp, "rep", back, "j2"),
	}
	testutil.CheckFor(t, waitLimit, func() bool { return metric(metrics, `zrouter_peers{socket="backend"}`) == 2 }, "both JeroMQ workers connected")

	zctx := newContext(t)
	clients := brokerClients(t, zctx, front, 3)
	brokerRounds(t, clients, 10, func(w string) bool { return w == "j1" || w == "j2" })
	handled := func(w *jeromqProc) int { return strings.Count(w.stdout.String(), "handled\n") }
	testutil.CheckFor(t, waitLimit, func() bool { return handled(workers[0])+handled(workers[1]) == 30 }, "the workers answered every request once")
	for i, w := range workers {
		assert.Positive(t, handled(w), "worker j%d got work", i+1)
	}
	assert.Equal(t, 0, b.stop(t, syscall.SIGTERM), "broker exit status")
}

// first returns the first value c got, failing when it got none.
func first[T any](t *testing.T, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	default:
		require.FailNow(t, "the ROUTER got no message")
		panic("unreachable")
	}
}

// cloneFrames copies frames that are about to be reused.
func cloneFrames(frames [][]byte) [][]byte {
	out := make([][]byte, len(frames))
	for i, f := range frames {
		out[i] = append([]byte{}, f...)
	}
	return out
}
