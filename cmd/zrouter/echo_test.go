package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/zrouter/zrouter/socket"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
)

// TestEchoCommand runs 'zrouter echo' in-process with zrouter dealers as
// clients: each gets back exactly what it sent, and cancelling (what SIGTERM
// does) ends the command with status 0.
func TestEchoCommand(t *testing.T) { testutil.ForEachTransport(t, testEchoCommand) }

// cliEndpoint returns an endpoint of transport for a command to bind: for
// tcp a fixed free port, as a command's user gives one.
func cliEndpoint(t *testing.T, transport string) string {
	if transport == "tcp" {
		return freeEndpoint(t)
	}
	return testutil.Endpoint(t, transport)
}

func testEchoCommand(t *testing.T, transport string) {
	ep := cliEndpoint(t, transport)
	cmd := start(t, "echo", "--bind", ep, "--log-level", "debug")
	ctx := testCtx(t)
	defer func() {
		if t.Failed() {
			t.Logf("echo stderr:\n%s", cmd.stderr.String())
		}
	}()

	a := newDealer(t, ep, socket.WithRoutingID([]byte("client-a")))
	b := newDealer(t, ep)
	for i := range 20 {
		reqA := frames("", fmt.Sprintf("a-%d", i))
		reqB := frames(fmt.Sprintf("b-%d", i), "", "x")
		require.NoError(t, a.SendFrames(ctx, reqA...))
		require.NoError(t, b.SendFrames(ctx, reqB...))
		assert.Equal(t, reqA, recvFrames(t, ctx, a))
		assert.Equal(t, reqB, recvFrames(t, ctx, b))
	}
	// zrouter req takes the same endpoint.
	code, out, errOut := reqRun(t, "--connect", ep, "--count", "2", "hello", "world")
	assert.Equal(t, exitOK, code, errOut)
	assert.Equal(t, "hello world\nhello world\n", out)
	assert.Equal(t, exitOK, cmd.stop(t), "stderr:\n%s", cmd.stderr.String())
	assert.Contains(t, cmd.stderr.String(), "echo: listening")
	assert.Contains(t, cmd.stderr.String(), "echo: shutting down")
}

// TestEchoCommandBindError: a second echo on the endpoint of a live one
// fails to bind; for ipc, the live one's socket file is not taken.
func TestEchoCommandBindError(t *testing.T) {
	testutil.ForEachTransport(t, testEchoCommandBindError)
}

func testEchoCommandBindError(t *testing.T, transport string) {
	ep := cliEndpoint(t, transport)
	first := start(t, "echo", "--bind", ep)
	testutil.CheckFor(t, 10*time.Second, func() bool {
		return contains(first.stderr.String(), "echo: listening")
	}, "first echo listening")
	var out, errOut testutil.Buffer
	code := run(testCtx(t), []string{"echo", "--bind", ep}, &out, &errOut)
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut.String(), "bind")
	assert.Equal(t, exitOK, first.stop(t))
}
