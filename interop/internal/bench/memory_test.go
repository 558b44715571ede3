package bench

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/interop/internal/servers"
)

// TestMemoryRuns runs a small memory benchmark: every burst comes back
// whole from both servers, the zrouter server reports its live heap and
// libzmq's has none, and the table has a row for each.
func TestMemoryRuns(t *testing.T) {
	o := MemoryOptions{
		Servers: []string{servers.ZRouter, servers.Libzmq}, Stalled: 20, Announce: 65000,
		Clients: 2, Bursts: 5, Frames: 1000, Settle: 10 * time.Millisecond, Rounds: 1, Timeout: 10 * time.Second,
		Self: func(args []string) *exec.Cmd {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), childEnv+"="+strings.Join(args, "\x1f"))
			return cmd
		},
	}
	rs, err := RunMemory(context.Background(), o)
	require.NoError(t, err)
	require.Len(t, rs, 2)
	assert.Equal(t, servers.ZRouter, rs[0].Server)
	assert.Positive(t, rs[0].Heap, "a zrouter server's live heap")
	assert.Positive(t, rs[0].Base)
	assert.Equal(t, int64(-1), rs[1].Heap, "libzmq's server has no Go heap to report")
	var b strings.Builder
	WriteMemory(&b, o, rs)
	assert.Contains(t, b.String(), "| zrouter | ")
	assert.Contains(t, b.String(), "| libzmq | ")
	assert.Contains(t, b.String(), "from 2 DEALERs that sent 5 messages of 1000 empty frames")
}
