package router

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/zmtp"
)

// The flood of TestFloodLeavesLightTurns comes from a child process, as a
// hostile peer's would: flooding goroutines in the test's own process
// would wait on the runtime's network poll as the router's readers do,
// and so would let the light peer in.
const (
	floodEnv   = "ZROUTER_TEST_FLOOD" // the router's address, in the child
	flooders   = 6
	floodBody  = 16 << 10
	floodTrips = 40
	// readerTurn is peer's turnBytes: what a reader takes in reads that
	// come back full before it gives way.
	readerTurn = 32 << 10
)

// floodChild is the child's whole work: flooders DEALERs that handshake
// with the router at addr and then write 16 KiB messages as fast as the
// kernel takes them, never reading, until the router hangs up.
func floodChild(addr string) {
	body := make([]byte, floodBody)
	var burst []byte
	for range 16 {
		burst = zmtp.AppendMessage(burst, [][]byte{body})
	}
	done := make(chan struct{}, flooders)
	for i := range flooders {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			os.Exit(2)
		}
		cfg := &zmtp.Config{SocketType: zmtp.DEALER, Identity: []byte("f" + strconv.Itoa(i)), Timeout: 5 * time.Second, MaxSize: -1}
		if _, err := zmtp.Handshake(c, cfg); err != nil {
			os.Exit(3)
		}
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				if _, err := c.Write(burst); err != nil {
					return
				}
			}
		}()
	}
	for range flooders {
		<-done
	}
}

// TestFloodLeavesLightTurns (issue 17, defect 4): while six peers flood
// the router with 16 KiB messages, a light peer's message is read within a
// few turns of the readers, not after the flooding readers have run until
// the scheduler preempts them. The measure is how many flood messages the
// router hands over between the light peer's send and its message: each
// flooding reader takes about turnBytes plus one read per turn, so three
// rounds of six readers bound it (72). Before readers took turns, the
// median was 230 to 270 under -race, and about 15 since.
func TestFloodLeavesLightTurns(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a child process's connections for a few seconds")
	}
	// One P, as the README recommends for a server: the flooding readers
	// then leave no idle P to poll the network at all.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	r := newRouter(t)
	addr := r.Addr()[len("tcp://"):]
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), floodEnv+"="+addr)
	child.Stderr = os.Stderr
	require.NoError(t, child.Start())
	t.Cleanup(func() {
		_ = child.Process.Kill()
		_ = child.Wait()
	})
	light := dialRaw(t, r.Addr(), zmtp.DEALER, "light")
	waitPeers(t, r, flooders+1)
	// The flood is on once its messages come.
	for range 100 {
		recvStrings(t, r)
	}

	ctx := testutil.Context(t, 30*time.Second)
	var between []int
	for trip := range floodTrips {
		light.send(fmt.Sprint(trip))
		n := 0
		for {
			m, err := r.Recv(ctx)
			require.NoError(t, err)
			id, last := string(m.Frames[0]), string(m.Frames[len(m.Frames)-1])
			m.Release()
			if id == "light" {
				require.Equal(t, fmt.Sprint(trip), last)
				break
			}
			n++
		}
		between = append(between, n)
	}
	slices.Sort(between)
	perRound := flooders * ((readerTurn + 32<<10) / floodBody)
	t.Logf("flood messages between a light send and its message: median %d, max %d (a round: about %d)",
		between[len(between)/2], between[len(between)-1], perRound)
	assert.LessOrEqual(t, between[len(between)/2], 3*perRound,
		"the light peer waits more than three rounds of the flooding readers")
	assert.Zero(t, r.Stats().CloseReasons[socket.TooLarge])
}
