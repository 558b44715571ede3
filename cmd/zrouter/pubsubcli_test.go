package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/xpub"
)

// cliRun runs the command line args with stdin and returns its status,
// stdout and stderr.
func cliRun(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut testutil.Buffer
	code := runIO(testCtx(t), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// startSub starts 'zrouter sub --bind' on a free port with args and
// returns its endpoint once it listens.
func startSub(t *testing.T, args ...string) (string, *running) {
	t.Helper()
	ep := freeEndpoint(t)
	s := start(t, append([]string{"sub", "--bind", ep, "--log-level", "info"}, args...)...)
	testutil.CheckFor(t, waitFor, func() bool { return contains(s.stderr.String(), "sub: listening") }, "sub listens")
	return ep, s
}

// exited waits for a command started with start to exit by itself and
// returns its status.
func (r *running) exited(t *testing.T) int {
	t.Helper()
	select {
	case code := <-r.code:
		r.code <- code // for the cleanup
		return code
	case <-testCtx(t).Done():
		t.Fatal("command did not exit")
		return -1
	}
}

// TestPubToSub: 'zrouter pub' waits for the subscription, then sends
// [TOPIC, FRAME...] --count times; 'zrouter sub' prints each on one line
// and exits 0 after --count.
func TestPubToSub(t *testing.T) {
	ep, s := startSub(t, "--count", "3", "news")
	code, out, errOut := cliRun(t, "", "pub", "--connect", ep, "--count", "3", "--interval", "1ms", "news.eu", "hello", "world")
	require.Equal(t, exitOK, code, errOut)
	assert.Empty(t, out)
	assert.Equal(t, exitOK, s.exited(t), s.stderr.String())
	assert.Equal(t, "news.eu hello world\nnews.eu hello world\nnews.eu hello world\n", s.stdout.String())
}

// TestPubStdin: without FRAME, each line of stdin is one message [TOPIC,
// line]; a bound pub serves a sub that connects; a sub without TOPIC
// gets everything.
func TestPubStdin(t *testing.T) {
	ep := freeEndpoint(t)
	type result struct {
		code        int
		out, errOut string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errOut := cliRun(t, "one\ntwo words\r\n\nthree", "pub", "--bind", ep, "logs")
		done <- result{code, out, errOut}
	}()
	code, out, errOut := cliRun(t, "", "sub", "--connect", ep, "--count", "4", "--timeout", "10s")
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, "logs one\nlogs two words\nlogs \nlogs three\n", out)
	p := <-done
	assert.Equal(t, exitOK, p.code, p.errOut)
}

// TestSubTopics: sub subscribes to each TOPIC and gets only what starts
// with one of them, in the order sent.
func TestSubTopics(t *testing.T) {
	ctx := testCtx(t)
	x, err := xpub.New()
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, x.Close()) })
	require.NoError(t, x.Bind("tcp://127.0.0.1:0"))
	s := start(t, "sub", "--connect", x.Addr(), "--count", "2", "news", "sport")
	got := map[string]bool{}
	for range 2 {
		m, err := x.Recv(ctx)
		require.NoError(t, err)
		got[string(m.Frames[0])] = true
		m.Release()
	}
	assert.Equal(t, map[string]bool{"\x01news": true, "\x01sport": true}, got)
	for _, topic := range []string{"weather", "news.x", "sport"} {
		require.NoError(t, x.SendFrames(ctx, []byte(topic), []byte("1")))
	}
	assert.Equal(t, exitOK, s.exited(t), s.stderr.String())
	assert.Equal(t, "news.x 1\nsport 1\n", s.stdout.String())
}

// TestPubWaitsForItsTopic: a subscription that the topic does not match
// does not start the sending; pub exits 1 after --timeout.
func TestPubWaitsForItsTopic(t *testing.T) {
	ep, s := startSub(t, "sport")
	code, _, errOut := cliRun(t, "", "pub", "--connect", ep, "--timeout", "200ms", "news", "x")
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "no subscription that the topic matches arrived within --timeout (200ms)")
	assert.Equal(t, exitOK, s.stop(t), "sub exits 0 on SIGTERM")
	assert.Empty(t, s.stdout.String())
}

// TestPubNoWait: with --wait-subscriber=false and --connect, pub waits
// for the connection alone, and fails when none comes.
func TestPubNoWait(t *testing.T) {
	ep, _ := startSub(t)
	code, _, errOut := cliRun(t, "", "pub", "--connect", ep, "--wait-subscriber=false", "news", "x")
	assert.Equal(t, exitOK, code, errOut)
	code, _, errOut = cliRun(t, "", "pub", "--connect", freeEndpoint(t), "--wait-subscriber=false", "--timeout", "100ms", "news", "x")
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "no connection within --timeout")
}

// TestSubTimeout: fewer than --count messages within --timeout is exit 1.
func TestSubTimeout(t *testing.T) {
	code, out, errOut := cliRun(t, "", "sub", "--connect", freeEndpoint(t), "--count", "1", "--timeout", "100ms", "--log-level", "error")
	assert.Equal(t, exitError, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "got 0 of 1 messages within --timeout 100ms")
}

// TestPubSubPlain: both take the security flags, the server's with
// --bind and the client's with --connect; refused credentials are exit 1
// at once, without waiting for --timeout.
func TestPubSubPlain(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	require.NoError(t, os.WriteFile(users, []byte("admin:s3cret\n"), 0o600))
	ep, s := startSub(t, "--count", "1", "--plain-users", users)
	code, _, errOut := cliRun(t, "", "pub", "--connect", ep, "--plain-user", "admin", "--plain-password", "guess", "--timeout", "0", "t", "x")
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "the server refused our credentials (status 400)")
	code, _, errOut = cliRun(t, "", "pub", "--connect", ep, "--plain-user", "admin", "--plain-password", "s3cret", "t", "x")
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, exitOK, s.exited(t), s.stderr.String())
	assert.Equal(t, "t x\n", s.stdout.String())
}

// TestPubSubCurve: a CURVE pub server and a sub client that knows its key;
// a sub with no --timeout that the server refuses exits 1 at once.
func TestPubSubCurve(t *testing.T) {
	dir := t.TempDir()
	srvFile, srvPub, _ := keygen(t, dir, "server.key")
	cliFile, cliPub, _ := keygen(t, dir, "client.key")
	allow := filepath.Join(dir, "allow")
	require.NoError(t, os.WriteFile(allow, []byte(cliPub.String()+"\n"), 0o600))
	ep := freeEndpoint(t)
	p := start(t, "pub", "--bind", ep, "--curve-secret-file", srvFile, "--curve-allow", allow, "--timeout", "0", "news", "hi")
	code, out, errOut := cliRun(t, "", "sub", "--connect", ep, "--curve-server-key", srvPub.String(), "--count", "1")
	assert.Equal(t, exitError, code, "a fresh key pair, not in the allow list")
	assert.Contains(t, errOut, "refused our credentials")
	assert.Empty(t, out)
	code, out, errOut = cliRun(t, "", "sub", "--connect", ep, "--curve-server-key", srvPub.String(), "--curve-secret-file", cliFile, "--count", "1")
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, "news hi\n", out)
	assert.Equal(t, exitOK, p.exited(t), p.stderr.String())
}

// TestPubSubUsage: bad command lines are usage errors naming the flag.
func TestPubSubUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"pub", "news"}, "missing --bind or --connect"},
		{[]string{"pub", "--bind", "tcp://127.0.0.1:0", "--connect", "tcp://127.0.0.1:1", "news"}, "a pub binds or connects, not both"},
		{[]string{"pub", "--bind", "tcp://127.0.0.1:0"}, "missing TOPIC"},
		{[]string{"pub", "--bind", "tcp://127.0.0.1:0", "--count", "0", "t"}, "bad --count 0"},
		{[]string{"pub", "--bind", "tcp://127.0.0.1:0", "--interval", "-1s", "t"}, "bad --interval -1s"},
		{[]string{"pub", "--bind", "tcp://127.0.0.1:0", "--interval", "5", "t"}, "want a duration such as 5s"},
		{[]string{"pub", "--bind", "nohost", "t"}, `bad --bind "nohost"`},
		{[]string{"pub", "--connect", "tcp://127.0.0.1:1", "--curve-allow", "f", "t"}, "--curve-allow and --plain-users are for --bind"},
		{[]string{"sub"}, "missing --bind or --connect"},
		{[]string{"sub", "--connect", "tcp://127.0.0.1:1", "--count", "-1"}, "bad --count -1"},
		{[]string{"sub", "--connect", "tcp://127.0.0.1:1", "--timeout", "1s"}, "--timeout needs --count"},
		{[]string{"sub", "--connect", "tcp://nohost"}, `bad --connect "tcp://nohost"`},
		{[]string{"sub", "--bind", "tcp://127.0.0.1:0", "--plain-user", "u"}, "are for --connect"},
	} {
		code, _, errOut := cliRun(t, "", tc.args...)
		assert.Equal(t, exitUsage, code, "%v: %s", tc.args, errOut)
		assert.Contains(t, errOut, tc.msg, "%v", tc.args)
	}
}

// TestPubSubHelp: --help prints the usage and examples, exit 0.
func TestPubSubHelp(t *testing.T) {
	for _, name := range []string{"pub", "sub"} {
		var out, errOut testutil.Buffer
		assert.Equal(t, exitOK, run(context.Background(), []string{name, "--help"}, &out, &errOut))
		assert.Contains(t, out.String(), "Usage: zrouter "+name+" (--bind ENDPOINT | --connect ENDPOINT)")
		assert.Contains(t, out.String(), "Examples:\n  zrouter "+name)
		assert.Contains(t, out.String(), "--curve-server-key KEY")
		assert.Contains(t, out.String(), `--log-level string`+"\n        log level: debug, info, warn or error (default \"warn\")")
	}
}
