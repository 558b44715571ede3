package interop

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
)

// testCLIPubSubTools: `zrouter pub` → `zrouter pubsub` → `zrouter sub`
// and a libzmq SUB. pub waits for the forwarder's subscription, sends its
// FRAMEs --count times, then one message per line of stdin; both
// subscribers get every message, in order; sub exits 0 after --count.
// Then a bound pub serves a libzmq SUB that connects to it.
func testCLIPubSubTools(t *testing.T, bin string) {
	front, back, metrics := freeEndpoint(t), freeEndpoint(t), freeAddr(t)
	fw := startCLI(t, bin, "pubsub", "--frontend", front, "--backend", back, "--metrics", metrics)
	fw.waitStderr(t, "pubsub: running")
	sub := startCLI(t, bin, "sub", "--connect", back, "--count", "4", "--timeout", "30s", "news")
	zctx := newContext(t)
	lsub := newSocket(t, zctx, zmq.SUB)
	require.NoError(t, lsub.SetSubscribe("news"))
	require.NoError(t, lsub.Connect(back))
	testutil.CheckFor(t, waitLimit, func() bool {
		return metric(metrics, `zrouter_pubsub_subscribers{prefix="news"}`) == 2
	}, "both subscribers at the forwarder")

	pub := func(stdin string, args ...string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"pub", "--connect", front}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "zrouter pub %v:\n%s", args, out)
	}
	pub("", "--count", "2", "news.eu", "hello", "world")
	pub("one\ntwo words\n", "news")

	want := []string{"news.eu hello world", "news.eu hello world", "news one", "news two words"}
	for _, w := range want {
		assert.Equal(t, w, strings.Join(strs(zmqRecv(t, lsub)), " "), "the libzmq SUB")
	}
	select {
	case <-sub.done:
	case <-time.After(waitLimit):
		require.FailNow(t, "zrouter sub did not exit after --count")
	}
	assert.Equal(t, 0, sub.state.ExitCode(), sub.stderr.String())
	assert.Equal(t, strings.Join(want, "\n")+"\n", sub.stdout.String())
	assert.Equal(t, 0, fw.stop(t, syscall.SIGTERM))

	// A bound pub and a libzmq SUB that connects: libzmq takes the XPUB
	// as a PUB, and its subscription is what pub waits for.
	ep := freeEndpoint(t)
	bound := startCLI(t, bin, "pub", "--bind", ep, "--count", "3", "weather", "21C")
	direct := newSocket(t, zctx, zmq.SUB)
	require.NoError(t, direct.SetSubscribe("weather"))
	require.NoError(t, direct.Connect(ep))
	for range 3 {
		assert.Equal(t, []string{"weather", "21C"}, strs(zmqRecv(t, direct)))
	}
	select {
	case <-bound.done:
	case <-time.After(waitLimit):
		require.FailNow(t, "zrouter pub did not exit")
	}
	assert.Equal(t, 0, bound.state.ExitCode(), bound.stderr.String())
}
