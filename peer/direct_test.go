//go:build unix

package peer

import (
	"context"
	"encoding/binary"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// TestWriteNowTailsKeepOrder fills the socket buffers while the remote does
// not read, so that direct writes stop halfway through messages and leave
// their tails to the writer, mixed with queued messages; every message must
// still arrive whole and in order.
func TestWriteNowTailsKeepOrder(t *testing.T) {
	local, ls, remote, rs := pair(t, -1)
	require.NoError(t, local.(*net.TCPConn).SetWriteBuffer(4<<10))
	require.NoError(t, remote.(*net.TCPConn).SetReadBuffer(4<<10))
	in := NewInbox()
	q := NewQueue(0, 0)
	exited := make(chan struct{})
	p := Start(local, ls, []byte("dealer-1"), q, in.NewSource(0), Config{}, func(*Peer) { close(exited) })
	t.Cleanup(func() {
		p.Close(ClosedByOwner)
		<-exited
		q.Close()
		in.Close()
	})

	const n = 600
	payload := make([]byte, 3000)
	direct := 0
	for i := range n {
		binary.BigEndian.PutUint32(payload, uint32(i))
		m := wire.New(payload[:4], payload[4:4+i%len(payload[4:])])
		if p.WriteNow(m) {
			direct++
			continue
		}
		require.NoError(t, q.Push(m))
	}
	for i := range n {
		got := readPlain(t, rs.Reader, remote)
		require.Len(t, got, 2, "message %d", i)
		require.Equal(t, uint32(i), binary.BigEndian.Uint32(got[0]), "message order")
		require.Len(t, got[1], i%len(payload[4:]), "message %d", i)
	}
	q.mu.Lock()
	tails := q.tails
	q.mu.Unlock()
	assert.Positive(t, direct, "some messages were written directly")
	assert.Positive(t, tails, "some direct writes stopped halfway")
	st := q.Stats()
	assert.Equal(t, uint64(n), st.Pushed)
	assert.Equal(t, uint64(n), st.Written)
}

func readPlain(t *testing.T, rd *zmtp.Reader, c net.Conn) [][]byte {
	t.Helper()
	h := &harness{remote: c, rd: rd}
	return h.readMsg(t)
}

func TestRecvMarksTheLastMessageDrained(t *testing.T) {
	in := NewInbox()
	defer in.Close()
	src := in.NewSource(0)
	require.NoError(t, src.Push([]*wire.Msg{wire.New([]byte("a")), wire.New([]byte("b")), wire.New([]byte("c"))}, nil))
	var drained []bool
	for range 3 {
		m, err := in.Recv(context.Background())
		require.NoError(t, err)
		drained = append(drained, m.Drained())
		m.Release()
	}
	assert.Equal(t, []bool{false, false, true}, drained)

	require.NoError(t, src.Push([]*wire.Msg{wire.New([]byte("d"))}, nil))
	m := in.TryRecv()
	require.NotNil(t, m)
	assert.True(t, m.Drained(), "a lone message")
	m.Release()
}
