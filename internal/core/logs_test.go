package core_test

import (
	"io"
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

// TestMaxHandshakes: beyond the bound on handshakes under way, an accepted
// connection is closed at once and counted; once the silent ones time out,
// a peer gets in again (issue 17, defect 2).
func TestMaxHandshakes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := router.New(socket.WithMaxHandshakes(3), socket.WithHandshakeTimeout(10*time.Second), socket.WithLinger(0))
		require.NoError(t, err)
		defer r.Close()
		require.NoError(t, r.Bind("mem://crowded"))
		for range 3 {
			c, err := mem.dial("crowded") // silent
			require.NoError(t, err)
			defer c.Close()
		}
		synctest.Wait()
		start := time.Now()
		c, err := mem.dial("crowded")
		require.NoError(t, err)
		defer c.Close()
		_, err = io.ReadAll(c)
		require.NoError(t, err)
		assert.Zero(t, time.Since(start), "the fourth is closed at once, not after the handshake timeout")
		synctest.Wait()
		assert.EqualValues(t, 1, r.Stats().HandshakeFailed)

		time.Sleep(10 * time.Second) // the silent ones time out
		synctest.Wait()
		assert.EqualValues(t, 4, r.Stats().HandshakeFailed)
		dialRaw(t, "crowded", zmtp.DEALER)
		synctest.Wait()
		assert.Equal(t, 1, r.Stats().Peers, "room again")
	})
}
