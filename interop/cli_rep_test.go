package interop

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
)

// TestCLIRep drives `zrouter rep` as a separate process: behind `zrouter
// broker --lb rr` with libzmq REQ clients, and asked by `zrouter req`
// directly.
func TestCLIRep(t *testing.T) {
	bin := buildCLI(t)
	t.Run("behind-broker", func(t *testing.T) { testCLIRepBehindBroker(t, bin) })
	t.Run("req-to-rep", func(t *testing.T) { testCLIReqToRep(t, bin) })
	t.Run("req-to-rep-curve", func(t *testing.T) { testCLIReqToRepCurve(t, bin) })
}

// testCLIRepBehindBroker: two `zrouter rep` workers, each answering with
// a command's output, connect to the backend of `zrouter broker`; libzmq
// REQ clients get the answer to their own request from one of them, and
// both get work.
func testCLIRepBehindBroker(t *testing.T, bin string) {
	front, back, metrics := freeEndpoint(t), freeEndpoint(t), freeAddr(t)
	b := startCLI(t, bin, "broker", "--frontend", front, "--backend", back, "--lb", "rr", "--metrics", metrics)
	b.waitStderr(t, "broker: running")
	var reps []*cliProc
	for _, name := range []string{"w1", "w2"} {
		reps = append(reps, startCLI(t, bin, "rep", "--connect", back, "--", "sed", "s/^/"+name+":/"))
	}
	testutil.CheckFor(t, waitLimit, func() bool { return metric(metrics, `zrouter_peers{socket="backend"}`) == 2 }, "both reps connected")

	zctx := newContext(t)
	clients := brokerClients(t, zctx, front, 3)
	seen := map[string]int{}
	brokerRounds(t, clients, 10, func(worker string) bool {
		seen[worker]++
		return worker == "w1" || worker == "w2"
	})
	assert.Positive(t, seen["w1"], "w1 got work: %v", seen)
	assert.Positive(t, seen["w2"], "w2 got work: %v", seen)
	for _, p := range reps {
		assert.Equal(t, 0, p.stop(t, syscall.SIGTERM), "rep's exit status after SIGTERM")
		assert.Contains(t, p.stderr.String(), "rep: shutting down")
	}
	assert.Equal(t, 0, b.stop(t, syscall.SIGTERM))
}

// runReq runs `zrouter req` with args and stdin, and returns its exit
// status, stdout and stderr.
func runReq(t *testing.T, bin, stdin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"req"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, out.String(), errOut.String()
}

// testCLIReqToRep: `zrouter req` with FRAMEs, and with lines on stdin,
// against `zrouter rep --bind --echo`, and against a rep whose command
// fails; a libzmq REQ gets the same answers.
func testCLIReqToRep(t *testing.T, bin string) {
	ep := freeEndpoint(t)
	p := startCLI(t, bin, "rep", "--bind", ep, "--echo")
	p.waitStderr(t, "rep: listening")

	code, out, errOut := runReq(t, bin, "", "--connect", ep, "--count", "2", "hello", "world")
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, "hello world\nhello world\n", out)
	code, out, errOut = runReq(t, bin, "first line\nsecond\n", "--connect", ep)
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, "first line\nsecond\n", out)

	zctx := newContext(t)
	req := newSocket(t, zctx, zmq.REQ)
	require.NoError(t, req.Connect(ep))
	zmqSend(t, req, bs("a", "", "b")...)
	assert.Equal(t, []string{"a", "", "b"}, strs(zmqRecv(t, req)), "a libzmq REQ's frames come back as sent")
	assert.Equal(t, 0, p.stop(t, syscall.SIGTERM))

	ep = freeEndpoint(t)
	f := startCLI(t, bin, "rep", "--bind", ep, "--", "sh", "-c", "echo broken >&2; exit 7")
	f.waitStderr(t, "rep: listening")
	code, out, errOut = runReq(t, bin, "", "--connect", ep, "x")
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, "ERROR: the command failed: exit status 7\n", out)
	assert.Equal(t, 0, f.stop(t, syscall.SIGTERM))
	assert.Contains(t, f.stderr.String(), "level=WARN")
	assert.Contains(t, f.stderr.String(), "stderr=broken")
}

// testCLIReqToRepCurve: `zrouter rep --bind` as a CURVE server that lets
// in one client key, and `zrouter req` with it and without it.
func testCLIReqToRepCurve(t *testing.T, bin string) {
	dir := t.TempDir()
	serverKey, serverPub := cliKeygen(t, bin, dir, "server.key")
	clientKey, clientPub := cliKeygen(t, bin, dir, "client.key")
	allow := dir + "/allow"
	require.NoError(t, os.WriteFile(allow, []byte("public: "+clientPub+"\n"), 0o600))
	ep := freeEndpoint(t)
	p := startCLI(t, bin, "rep", "--bind", ep, "--curve-secret-file", serverKey, "--curve-allow", allow, "--echo")
	p.waitStderr(t, "rep: listening")

	code, out, errOut := runReq(t, bin, "", "--connect", ep, "--curve-server-key", serverPub, "--curve-secret-file", clientKey, "secret", "hello")
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, "secret hello\n", out)
	code, _, errOut = runReq(t, bin, "", "--connect", ep, "--curve-server-key", serverPub, "--timeout", "2s", "hello")
	assert.Equal(t, 1, code, "a key not allowed is refused")
	assert.Contains(t, errOut, "refused")
	assert.Equal(t, 0, p.stop(t, syscall.SIGTERM))
}
