//go:build unix

package peer

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/msgmeta"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

func TestWriteNowWritesFromTheCaller(t *testing.T) {
	h := startPeer(t, Config{}, -1, nil)
	require.NotNil(t, h.p.direct, "a TCP connection can be written directly")
	require.True(t, h.p.WriteNow(wire.New([]byte("id"), nil, []byte("hi"))))
	assert.Equal(t, [][]byte{{}, []byte("hi")}, h.readMsg(t), "the id frame is left out, the delimiter kept")
	st := h.q.Stats()
	assert.Equal(t, uint64(1), st.Pushed)
	assert.Equal(t, uint64(1), st.Written)
	assert.Equal(t, uint64(1), st.Direct)
}

// TestWriteNowLeavesMessagesForTheNextConnection checks that a direct write
// to a connection that has gone takes nothing: the caller keeps the message
// for the queue, which (for a DEALER) outlives the connection.
func TestWriteNowLeavesMessagesForTheNextConnection(t *testing.T) {
	h := startPeer(t, Config{}, -1, nil)
	h.p.Close(socket.ClosedByOwner)
	<-h.exited
	m := wire.New([]byte("id"), []byte("kept"))
	require.False(t, h.p.WriteNow(m), "nothing was written")
	assert.Equal(t, QueueStats{}, h.q.Stats(), "not counted")
	require.NoError(t, h.q.Push(m), "the queue takes it, and is not left busy")
	assert.Equal(t, 1, h.q.Len())
}

func TestWriteNowDeclines(t *testing.T) {
	h := startPeer(t, Config{}, -1, nil)
	big := wire.New([]byte("id"), make([]byte, directMax))
	assert.False(t, h.p.WriteNow(big), "large messages go through the writer")
	require.NoError(t, h.q.Push(big))
	assert.Len(t, h.readMsg(t), 1)

	// A message waiting for the writer comes first: WriteNow must not
	// overtake it.
	h.q.mu.Lock()
	h.q.msgs = append(h.q.msgs, wire.New([]byte("id"), []byte("first")))
	h.q.n++
	h.q.mu.Unlock()
	second := wire.New([]byte("id"), []byte("second"))
	assert.False(t, h.p.WriteNow(second))
	require.NoError(t, h.q.Push(second))
	h.q.signal()
	assert.Equal(t, [][]byte{[]byte("first")}, h.readMsg(t))
	assert.Equal(t, [][]byte{[]byte("second")}, h.readMsg(t))

	// Not over a connection without a socket.
	p := &Peer{q: NewQueue(0, 0)}
	m := wire.New([]byte("x"))
	assert.False(t, p.WriteNow(m))
	m.Release()
}

// TestWriteNowKeepsOrderUnderBackPressure sends through WriteNow, queueing
// what it declines, while the remote reads eight messages behind with small
// socket buffers: direct writes that find the socket full or the writer busy
// go through the queue instead. Every message must arrive whole and in
// order, and the counters must add up.
func TestWriteNowKeepsOrderUnderBackPressure(t *testing.T) {
	local, ls, remote, rs := pair(t, -1)
	require.NoError(t, local.(*net.TCPConn).SetWriteBuffer(4<<10))
	require.NoError(t, remote.(*net.TCPConn).SetReadBuffer(4<<10))
	in := NewInbox()
	q := NewQueue(0, 0)
	exited := make(chan struct{})
	p := New(local, ls, q, in.NewSource(0, nil), Config{}, func(*Peer) { close(exited) })
	p.Run()
	t.Cleanup(func() {
		p.Close(socket.ClosedByOwner)
		<-exited
		q.Close()
		in.Close()
	})

	const n, lag = 600, 8
	payload := make([]byte, 8000)
	// The remote reads in small gulps, so that reading a message frees
	// about that much room and no more.
	require.Zero(t, rs.Reader.Buffered())
	rd := zmtp.NewReader(smallReads{remote}, -1)
	direct, next := 0, 0
	read := func() {
		got := readPlain(t, rd, remote)
		require.Len(t, got, 2, "message %d", next)
		require.Equal(t, uint32(next), binary.BigEndian.Uint32(got[0]), "message order")
		require.Len(t, got[1], next%len(payload[4:]), "message %d", next)
		next++
	}
	for i := range n {
		binary.BigEndian.PutUint32(payload, uint32(i))
		m := wire.New(payload[:4], payload[4:4+i%len(payload[4:])])
		if p.WriteNow(m) {
			direct++
		} else {
			require.NoError(t, q.Push(m))
		}
		if i >= lag {
			read()
		}
	}
	for next < n {
		read()
	}
	assert.Positive(t, direct, "some messages were written directly")
	assert.Less(t, direct, n, "some went through the queue")
	// The writer counts a batch once its write returns, which may be after
	// the remote has read it.
	require.Eventually(t, func() bool { return q.Stats().Written == n }, 5*time.Second, time.Millisecond)
	st := q.Stats()
	assert.Equal(t, uint64(n), st.Pushed)
	assert.Equal(t, uint64(direct), st.Direct)
}

// TestDirectWriteTailGoesFirst stops a direct write halfway through a
// message, as a socket with little room would, while another message is
// queued: the writer must finish the first before it starts the second. A
// tail left for a connection that has since been replaced is forgotten.
func TestDirectWriteTailGoesFirst(t *testing.T) {
	h := startPeer(t, Config{}, -1, nil)
	require.NotNil(t, h.p.direct)
	first := bytes.Repeat([]byte("1"), 3000)
	enc, _ := appendFrames(nil, [][]byte{first}, h.p.sess.Codec)
	half := len(enc) / 2

	conn, ok := h.q.acquire()
	require.True(t, ok)
	require.Equal(t, half, h.p.direct.write(enc[:half]))
	_, ok = h.q.acquire()
	assert.False(t, ok, "one direct write at a time")
	require.NoError(t, h.q.Push(wire.New([]byte("id"), []byte("second"))))
	h.q.finish(conn, enc[half:], true, 0)
	assert.Equal(t, [][]byte{first}, h.readMsg(t))
	assert.Equal(t, [][]byte{[]byte("second")}, h.readMsg(t))
	h.q.mu.Lock()
	assert.Equal(t, uint64(1), h.q.tails)
	h.q.mu.Unlock()

	require.Eventually(t, func() bool { _, ok := h.q.acquire(); return ok }, 5*time.Second, time.Millisecond)
	h.q.resetControl() // as a DEALER's queue does for its next connection
	h.q.finish(conn, []byte("stale"), true, 0)
	h.q.mu.Lock()
	assert.Empty(t, h.q.pending, "a tail for another connection is dropped")
	h.q.mu.Unlock()
}

// smallReads reads at most 512 bytes at a time.
type smallReads struct{ net.Conn }

func (s smallReads) Read(p []byte) (int, error) { return s.Conn.Read(p[:min(len(p), 512)]) }

func readPlain(t *testing.T, rd *zmtp.Reader, c net.Conn) [][]byte {
	t.Helper()
	h := &harness{remote: c, rd: rd}
	return h.readMsg(t)
}

func TestRecvMarksTheLastMessageDrained(t *testing.T) {
	in := NewInbox()
	defer in.Close()
	src := in.NewSource(0, nil)
	require.NoError(t, src.Push([]*wire.Msg{wire.New([]byte("a")), wire.New([]byte("b")), wire.New([]byte("c"))}, 0, nil))
	var drained []bool
	for range 3 {
		m, err := in.Recv(context.Background())
		require.NoError(t, err)
		drained = append(drained, msgmeta.Of(m).Drained)
		m.Release()
	}
	assert.Equal(t, []bool{false, false, true}, drained)

	require.NoError(t, src.Push([]*wire.Msg{wire.New([]byte("d"))}, 0, nil))
	m := in.TryRecv()
	require.NotNil(t, m)
	assert.True(t, msgmeta.Of(m).Drained, "a lone message")
	m.Release()
}
