package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ask runs 'zrouter req' against ep with args (FRAMEs) and stdin, and
// returns its exit status and stdout.
func ask(t *testing.T, ep, stdin string, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runIO(context.Background(), append([]string{"req", "--connect", ep, "--timeout", "10s", "--log-level", "error"}, args...),
		strings.NewReader(stdin), &stdout, &stderr)
	assert.Empty(t, stderr.String())
	return code, stdout.String()
}

// TestRepEcho: 'zrouter rep --echo' answers each request with itself,
// every frame of it, and 'zrouter req' prints the reply's frames on one
// line.
func TestRepEcho(t *testing.T) {
	ep := freeEndpoint(t)
	cmd := start(t, "rep", "--bind", ep, "--echo")
	code, out := ask(t, ep, "", "hello", "world")
	assert.Equal(t, exitOK, code)
	assert.Equal(t, "hello world\n", out)
	assert.Equal(t, exitOK, cmd.stop(t), cmd.stderr.String())
}

// TestReqReadsStdin: without FRAMEs, each line of stdin is a request of
// one frame, sent in turn, --count times each.
func TestReqReadsStdin(t *testing.T) {
	ep := freeEndpoint(t)
	start(t, "rep", "--bind", ep, "--echo")
	code, out := ask(t, ep, "one\ntwo words\r\n\nthree", "--count", "2")
	assert.Equal(t, exitOK, code)
	assert.Equal(t, "one\none\ntwo words\ntwo words\n\n\nthree\nthree\n", out)
	code, out = ask(t, ep, "")
	assert.Equal(t, exitOK, code, "no lines, no requests")
	assert.Empty(t, out)
}

// TestRepCommand: a command gets the request's frames on stdin, one per
// line, and its stdout is the reply; a failing or talkative command
// gets an ERROR reply and a WARN line, and the worker goes on.
func TestRepCommand(t *testing.T) {
	ep := freeEndpoint(t)
	cmd := start(t, "rep", "--bind", ep, "--max-output", "1000", "--",
		"sh", "-c", `read first; case "$first" in
fail) echo oops >&2; exit 3;;
loud) yes;;
*) tr a-z A-Z | sed "s/^/$first:/";;
esac`)
	code, out := ask(t, ep, "", "up", "two", "lines")
	assert.Equal(t, exitOK, code)
	assert.Equal(t, "up:TWO\nup:LINES\n", out, "the frames after the first, one per line, upper-cased")

	code, out = ask(t, ep, "", "fail")
	assert.Equal(t, exitOK, code)
	assert.Equal(t, "ERROR: the command failed: exit status 3\n", out)
	assert.Contains(t, cmd.stderr.String(), "level=WARN msg=\"rep: command failed\"")
	assert.Contains(t, cmd.stderr.String(), "stderr=oops")

	code, out = ask(t, ep, "", "loud")
	assert.Equal(t, exitOK, code)
	assert.Equal(t, "ERROR: the command wrote more than --max-output 1000 bytes\n", out)

	code, out = ask(t, ep, "", "after", "all")
	assert.Equal(t, exitOK, code)
	assert.Equal(t, "after:ALL\n", out, "the worker goes on")
	assert.Equal(t, exitOK, cmd.stop(t), cmd.stderr.String())
}

// TestRepCommandTimeout: a command that runs longer than --command-timeout
// is killed, with its children, and the reply says so.
func TestRepCommandTimeout(t *testing.T) {
	ep := freeEndpoint(t)
	cmd := start(t, "rep", "--bind", ep, "--command-timeout", "200ms", "--", "sh", "-c", "sleep 60; echo late")
	code, out := ask(t, ep, "", "slow")
	assert.Equal(t, exitOK, code)
	assert.Equal(t, "ERROR: the command ran longer than --command-timeout 200ms\n", out)
	assert.Equal(t, exitOK, cmd.stop(t), cmd.stderr.String())
}

// TestRepCommandThatCannotStart: a command that is not there is an error
// reply too.
func TestRepCommandThatCannotStart(t *testing.T) {
	ep := freeEndpoint(t)
	cmd := start(t, "rep", "--bind", ep, "--", "/nonexistent/zrouter-test-command")
	code, out := ask(t, ep, "", "x")
	assert.Equal(t, exitOK, code)
	assert.True(t, strings.HasPrefix(out, "ERROR: the command failed: "), out)
	require.Equal(t, exitOK, cmd.stop(t))
	assert.Contains(t, cmd.stderr.String(), "rep: command failed")
}

func TestCapped(t *testing.T) {
	cancelled := 0
	c := &capped{max: 5, cancel: func() { cancelled++ }}
	n, err := c.Write([]byte("abc"))
	assert.Equal(t, 3, n)
	require.NoError(t, err)
	n, err = c.Write([]byte("defg"))
	assert.Equal(t, 4, n, "the rest is taken, not kept")
	require.NoError(t, err)
	_, _ = c.Write([]byte("h"))
	assert.Equal(t, "abcde", c.buf.String())
	assert.True(t, c.over)
	assert.Equal(t, 1, cancelled)
}
