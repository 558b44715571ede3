package core_test

import (
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/zmtp"
)

// TestFailureLogsAreRateLimited: a peer that fails its handshake, or is
// refused, over and over, gets one log line per interval, with the count
// of the lines held back, while Stats counts every one (issue 17, defect 8).
func TestFailureLogsAreRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs testutil.Buffer
		r, err := router.New(socket.WithMaxPeers(1), socket.WithLinger(0),
			socket.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		require.NoError(t, err)
		defer r.Close()
		require.NoError(t, r.Bind("mem://noisy"))
		garbage := func(n int) {
			for range n {
				c, err := mem.dial("noisy")
				require.NoError(t, err)
				_, err = zmtp.Handshake(c, &zmtp.Config{SocketType: zmtp.PUB, MaxSize: -1})
				assert.Error(t, err, "a ROUTER refuses a PUB")
				c.Close()
			}
			synctest.Wait()
		}
		refused := func(n int) {
			for range n {
				c, err := mem.dial("noisy")
				require.NoError(t, err)
				_, err = zmtp.Handshake(c, &zmtp.Config{SocketType: zmtp.DEALER, MaxSize: -1})
				require.NoError(t, err)
				synctest.Wait() // refused, and closed
				c.Close()
			}
		}
		dialRaw(t, "noisy", zmtp.DEALER) // the one peer allowed
		synctest.Wait()

		garbage(200)
		refused(100)
		assert.Equal(t, 1, strings.Count(logs.String(), `msg="handshake failed"`), logs.String())
		assert.Equal(t, 1, strings.Count(logs.String(), `msg="peer refused"`))
		st := r.Stats()
		assert.EqualValues(t, 200, st.HandshakeFailed, "Stats count every failure")
		assert.EqualValues(t, 100, st.RefusedMaxPeers)

		time.Sleep(10 * time.Second)
		garbage(1)
		refused(1)
		out := logs.String()
		assert.Equal(t, 2, strings.Count(out, `msg="handshake failed"`))
		assert.Contains(t, out, "suppressed=199", "the next line tells what was held back")
		assert.Equal(t, 2, strings.Count(out, `msg="peer refused"`))
		assert.Contains(t, out, "suppressed=99")
		assert.EqualValues(t, 201, r.Stats().HandshakeFailed)
	})
}
