package peer

import (
	"context"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// v2PipePair runs a ROUTER's handshake over net.Pipe against a ZMTP 2.0
// DEALER driven by hand, which sends its whole opening at once (signature,
// revision 1, socket type 5, identity "old") and reads the ROUTER's 14
// bytes: signature, major version, socket type, empty identity.
func v2PipePair(t *testing.T) (local net.Conn, ls *zmtp.Session, remote net.Conn) {
	t.Helper()
	local, remote = net.Pipe()
	t.Cleanup(func() { remote.Close() })
	type res struct {
		s   *zmtp.Session
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := zmtp.Handshake(local, &zmtp.Config{SocketType: zmtp.ROUTER, MaxSize: -1})
		ch <- res{s, err}
	}()
	go func() {
		opening := []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 4, 0x7F, 1, 5}
		_, _ = remote.Write(zmtp.AppendFrame(opening, 0, []byte("old")))
	}()
	got := make([]byte, 14)
	_, err := io.ReadFull(remote, got)
	require.NoError(t, err)
	assert.Equal(t, []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 6, 0, 0}, got)
	r := <-ch
	require.NoError(t, r.err)
	require.False(t, r.s.Commands())
	return local, r.s, remote
}

// TestPeerNeverPingsZMTP2 runs a peer with heartbeats on against a ZMTP 2.0
// peer that stays silent for ten minutes of synctest's clock: nothing may be
// sent to it (ZMTP 2.0 has no PING), nor may it be timed out, as libzmq,
// which starts heartbeats only with ZMTP 3's mechanism. The first bytes it
// gets are then those of the first message, in 2.0's framing.
func TestPeerNeverPingsZMTP2(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		local, ls, remote := v2PipePair(t)
		h := runPeer(t, Config{HeartbeatIvl: time.Second, HeartbeatTTL: 10 * time.Second, HeartbeatTimeout: 3 * time.Second},
			local, ls, remote, &zmtp.Session{})
		chunks := make(chan []byte, 16)
		go func() {
			defer close(chunks)
			for {
				b := make([]byte, 512)
				n, err := remote.Read(b)
				if err != nil {
					return
				}
				chunks <- b[:n]
			}
		}()
		time.Sleep(10 * time.Minute) // of the fake clock: every timer due has fired
		synctest.Wait()
		select {
		case b := <-chunks:
			t.Fatalf("sent to a ZMTP 2.0 peer unasked: % x", b)
		default:
		}
		assert.Equal(t, socket.Open, h.p.Reason(), "a silent 2.0 peer is not timed out")

		// The queue skips the routing id frame, as a ROUTER's does.
		require.NoError(t, h.q.Push(wire.New([]byte("id"), []byte("a"), nil, []byte("bc"))))
		want := zmtp.AppendMessage(nil, [][]byte{[]byte("a"), {}, []byte("bc")})
		var got []byte
		for len(got) < len(want) {
			b, ok := <-chunks
			require.True(t, ok, "connection ended")
			got = append(got, b...)
		}
		assert.Equal(t, want, got)
	})
}

// TestPeerZMTP2Messages sends a multipart message from the 2.0 peer and
// checks that it arrives whole, and that a frame with the command flag,
// which ZMTP 2.0 reserves, ends the connection as a protocol error.
func TestPeerZMTP2Messages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		local, ls, remote := v2PipePair(t)
		h := runPeer(t, Config{}, local, ls, remote, &zmtp.Session{})
		go func() { _, _ = io.Copy(io.Discard, remote) }()
		_, err := remote.Write(zmtp.AppendMessage(nil, [][]byte{[]byte("x"), {}, make([]byte, 300)}))
		require.NoError(t, err)
		m, err := h.in.Recv(context.Background())
		require.NoError(t, err)
		require.Equal(t, 3, m.Len())
		assert.Equal(t, "x", string(m.Frames[0]))
		assert.Len(t, m.Frames[2], 300)
		m.Release()

		_, err = remote.Write(zmtp.AppendCommand(nil, &zmtp.Ping{TTL: 1}))
		require.NoError(t, err)
		<-h.exited
		assert.Equal(t, socket.ProtocolError, h.p.Reason())
	})
}
