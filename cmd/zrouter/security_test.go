package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/socket"
)

// keygen runs 'zrouter keygen' into a file in dir and returns the file and
// the keys it printed.
func keygen(t *testing.T, dir, name string) (file string, pub, sec socket.CurveKey) {
	t.Helper()
	var out, errOut testutil.Buffer
	require.Equal(t, exitOK, run(testCtx(t), []string{"keygen"}, &out, &errOut), errOut.String())
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 2)
	p, ok := strings.CutPrefix(lines[0], "public: ")
	require.True(t, ok, lines[0])
	s, ok := strings.CutPrefix(lines[1], "secret: ")
	require.True(t, ok, lines[1])
	require.Len(t, p, 40)
	require.Len(t, s, 40)
	pub, err := socket.ParseCurveKey(p)
	require.NoError(t, err)
	sec, err = socket.ParseCurveKey(s)
	require.NoError(t, err)
	require.Equal(t, pub, sec.Public(), "a key pair")
	file = filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(file, []byte(out.String()), 0o600))
	return file, pub, sec
}

// TestKeygen: two runs print two different pairs in the contract's form.
func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	_, a, _ := keygen(t, dir, "a")
	_, b, _ := keygen(t, dir, "b")
	assert.NotEqual(t, a, b)
}

// reqRun runs 'zrouter req' with args and returns its status, stdout and
// stderr.
func reqRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut testutil.Buffer
	code := run(testCtx(t), append([]string{"req"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// startEcho starts 'zrouter echo' with args on a free port and returns
// its endpoint once it listens.
func startEcho(t *testing.T, args ...string) (string, *running) {
	t.Helper()
	ep := freeEndpoint(t)
	cmd := start(t, append([]string{"echo", "--bind", ep}, args...)...)
	testutil.CheckFor(t, waitFor, func() bool { return contains(cmd.stderr.String(), "echo: listening") }, "echo listening")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("echo stderr:\n%s", cmd.stderr.String())
		}
	})
	return ep, cmd
}

// TestEchoCurve: 'zrouter echo --curve-secret-file' is a CURVE server that
// logs its public key; with --curve-allow it lets in only the listed
// clients, and a refused 'zrouter req' exits 1 at once, saying so.
func TestEchoCurve(t *testing.T) {
	dir := t.TempDir()
	srvFile, srvPub, _ := keygen(t, dir, "server.key")
	cliFile, _, _ := keygen(t, dir, "client.key")
	otherFile, _, _ := keygen(t, dir, "other.key")
	cliKeys, err := os.ReadFile(cliFile)
	require.NoError(t, err)
	allow := filepath.Join(dir, "clients.keys")
	require.NoError(t, os.WriteFile(allow, []byte("# the one client\n"+strings.Split(string(cliKeys), "\n")[0]+"\n"), 0o600))

	ep, echo := startEcho(t, "--curve-secret-file", srvFile, "--curve-allow", allow)
	assert.Contains(t, echo.stderr.String(), srvPub.String(), "the log gives the server's public key")

	code, out, errOut := reqRun(t, "--connect", ep, "--curve-server-key", srvPub.String(), "--curve-secret-file", cliFile, "--count", "3", "hello", "world")
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, "hello world\nhello world\nhello world\n", out)

	code, out, errOut = reqRun(t, "--connect", ep, "--curve-server-key", srvPub.String(), "--curve-secret-file", otherFile, "hello")
	assert.Equal(t, exitError, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "refused our credentials (status 400)")
	testutil.CheckFor(t, waitFor, func() bool { return contains(echo.stderr.String(), "client refused") }, "the refusal logged")

	code, _, errOut = reqRun(t, "--connect", ep, "--curve-server-key", srvPub.String(), "hello")
	assert.Equal(t, exitError, code, "a fresh key pair is not on the list")
	assert.Contains(t, errOut, "status 400")

	code, _, errOut = reqRun(t, "--connect", ep, "--timeout", "5s", "hello")
	assert.Equal(t, exitError, code, "a NULL client")
	assert.Contains(t, errOut, "mechanism")

	_, wrongPub, _ := keygen(t, dir, "wrong.key")
	code, _, errOut = reqRun(t, "--connect", ep, "--curve-server-key", wrongPub.String(), "--timeout", "300ms", "hello")
	assert.Equal(t, exitError, code, "the wrong server key: the server hangs up")
	assert.Contains(t, errOut, "no reply in time")
	assert.Contains(t, errOut, "server key")
	assert.Equal(t, exitOK, echo.stop(t))
}

// TestEchoCurveAnyClient: without --curve-allow, every CURVE client that
// knows the server's key is let in, a fresh key pair too.
func TestEchoCurveAnyClient(t *testing.T) {
	srvFile, srvPub, _ := keygen(t, t.TempDir(), "server.key")
	ep, _ := startEcho(t, "--curve-secret-file", srvFile)
	code, out, errOut := reqRun(t, "--connect", ep, "--curve-server-key", srvPub.String(), "x")
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, "x\n", out)
}

// TestEchoPlain: 'zrouter echo --plain-users' checks user names and
// passwords; 'zrouter req' reads its password from the command line or a
// file.
func TestEchoPlain(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	require.NoError(t, os.WriteFile(users, []byte("admin:s3cret\n"), 0o600))
	pass := filepath.Join(dir, "pass")
	require.NoError(t, os.WriteFile(pass, []byte("s3cret\n"), 0o600))
	ep, _ := startEcho(t, "--plain-users", users)

	code, out, errOut := reqRun(t, "--connect", ep, "--plain-user", "admin", "--plain-password", "s3cret", "a", "b")
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, "a b\n", out)
	code, out, errOut = reqRun(t, "--connect", ep, "--plain-user", "admin", "--plain-password-file", pass, "c")
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, "c\n", out)
	code, _, errOut = reqRun(t, "--connect", ep, "--plain-user", "admin", "--plain-password", "guess", "c")
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "status 400")
}

// TestReqTimeout: with no server, 'zrouter req' exits 1 after --timeout.
func TestReqTimeout(t *testing.T) {
	code, out, errOut := reqRun(t, "--connect", freeEndpoint(t), "--timeout", "100ms", "x")
	assert.Equal(t, exitError, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "no reply in time")
}

// TestSecurityUsage: contradictory or incomplete security flags are usage
// errors; unreadable files are errors.
func TestSecurityUsage(t *testing.T) {
	dir := t.TempDir()
	keyFile, pub, _ := keygen(t, dir, "k")
	for _, args := range [][]string{
		{"echo", "--bind", "tcp://127.0.0.1:0", "--curve-allow", keyFile},
		{"echo", "--bind", "tcp://127.0.0.1:0", "--curve-secret-file", keyFile, "--plain-users", keyFile},
		{"broker", "--frontend", "tcp://127.0.0.1:0", "--backend", "tcp://127.0.0.1:0", "--backend-curve-allow", keyFile},
		{"req", "--connect", "tcp://127.0.0.1:1", "--curve-secret-file", keyFile, "x"},
		{"req", "--connect", "tcp://127.0.0.1:1", "--curve-server-key", "short", "x"},
		{"req", "--connect", "tcp://127.0.0.1:1", "--curve-server-key", pub.String(), "--plain-user", "u", "x"},
		{"req", "--connect", "tcp://127.0.0.1:1", "--plain-password", "p", "x"},
		{"req", "--connect", "tcp://127.0.0.1:1", "--count", "0", "x"},
		{"keygen", "extra"},
	} {
		var out, errOut testutil.Buffer
		assert.Equal(t, exitUsage, run(testCtx(t), args, &out, &errOut), "%v: %s", args, errOut.String())
	}
	missing := filepath.Join(dir, "missing")
	for _, args := range [][]string{
		{"echo", "--bind", "tcp://127.0.0.1:0", "--curve-secret-file", missing},
		{"echo", "--bind", "tcp://127.0.0.1:0", "--plain-users", missing},
		{"echo", "--bind", "tcp://127.0.0.1:0", "--curve-secret-file", keyFile, "--curve-allow", missing},
	} {
		var out, errOut testutil.Buffer
		assert.Equal(t, exitError, run(testCtx(t), args, &out, &errOut), "%v", args)
		assert.Contains(t, errOut.String(), "missing", "%v", args)
	}
}

// TestBrokerSideOverrides: the broker's security flags apply to both
// sockets; a side's own flags replace them for that side. Here the
// frontend is a CURVE server and the backend, for local workers, NULL.
func TestBrokerSideOverrides(t *testing.T) {
	dir := t.TempDir()
	shared, sharedPub, _ := keygen(t, dir, "shared.key")
	front, frontPub, _ := keygen(t, dir, "front.key")
	users := filepath.Join(dir, "users")
	require.NoError(t, os.WriteFile(users, []byte("worker:w\n"), 0o600))

	for _, tc := range []struct {
		name     string
		args     []string
		frontKey socket.CurveKey
		worker   []socket.Option // the backend's Connect options
	}{
		{"shared", []string{"--curve-secret-file", shared}, sharedPub, []socket.Option{curveClient(t, sharedPub)}},
		{"frontend own key", []string{"--curve-secret-file", shared, "--frontend-curve-secret-file", front}, frontPub, []socket.Option{curveClient(t, sharedPub)}},
		{"backend PLAIN", []string{"--curve-secret-file", shared, "--backend-plain-users", users}, sharedPub, []socket.Option{socket.WithPlainClient("worker", "w")}},
		{"frontend only", []string{"--frontend-curve-secret-file", front}, frontPub, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fe, be := freeEndpoint(t), freeEndpoint(t)
			cmd := start(t, append([]string{"broker", "--frontend", fe, "--backend", be, "--stats-interval", "0"}, tc.args...)...)
			testutil.CheckFor(t, waitFor, func() bool { return contains(cmd.stderr.String(), "broker: running") }, "broker running")
			ctx, cancel := context.WithCancel(testCtx(t))
			w, err := dealer.New(socket.WithLinger(0))
			require.NoError(t, err)
			require.NoError(t, w.Connect(be, tc.worker...))
			var wg sync.WaitGroup
			wg.Go(func() { echoWorker(ctx, w, "w", false, false) })
			defer func() { cancel(); wg.Wait(); assert.NoError(t, w.Close()) }()

			code, out, errOut := reqRun(t, "--connect", fe, "--curve-server-key", tc.frontKey.String(), "--timeout", "5s", "hi")
			require.Equal(t, exitOK, code, "%s\nbroker:\n%s", errOut, cmd.stderr.String())
			assert.Equal(t, "w:hi\n", out)
			assert.Regexp(t, regexp.MustCompile(`msg="CURVE server" socket=frontend public-key="?`+regexp.QuoteMeta(tc.frontKey.String())), cmd.stderr.String())
			if tc.worker == nil {
				assert.NotContains(t, cmd.stderr.String(), "socket=backend", "a NULL backend")
			}
		})
	}
}

// curveClient returns a Connect option of a CURVE client of server, with
// a fresh key pair.
func curveClient(t *testing.T, server socket.CurveKey) socket.Option {
	t.Helper()
	_, sec, err := socket.NewCurveKeys()
	require.NoError(t, err)
	return socket.WithCurveClient(server, sec)
}
