package peer

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/msgmeta"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// bufConn is a net.Conn whose writes go to a buffer.
type bufConn struct {
	net.Conn
	out bytes.Buffer
}

func (c *bufConn) Write(p []byte) (int, error) { return c.out.Write(p) }

// wireFrame is one frame as it went on the wire.
type wireFrame struct {
	flags byte
	body  string
}

// parseWire splits b, plain ZMTP frames back to back, into its frames,
// their flags without the size's.
func parseWire(t *testing.T, b []byte) []wireFrame {
	t.Helper()
	var out []wireFrame
	for len(b) > 0 {
		h, n, err := zmtp.ParseHeader(b)
		require.NoError(t, err)
		require.NotZero(t, n, "a whole header")
		b = b[n:]
		require.GreaterOrEqual(t, uint64(len(b)), h.Size, "a whole body")
		out = append(out, wireFrame{h.Flags &^ zmtp.FlagLong, string(b[:h.Size])})
		b = b[h.Size:]
	}
	return out
}

// runMix returns messages of every kind a packing queue with skip 1 sees,
// each behind a routing id, and the frames they must put on the wire. The
// small ones come in a streak long enough to start runs.
func runMix() ([]*wire.Msg, []wireFrame) {
	var ms []*wire.Msg
	var want []wireFrame
	small := func(i int) {
		body := fmt.Sprintf("m%03d", i)
		ms = append(ms, wire.New([]byte("id"), nil, []byte(body)))
		want = append(want, wireFrame{zmtp.FlagMore, ""}, wireFrame{0, body})
	}
	for i := range 3 * runStart {
		small(i)
	}
	// A frame too large for a run, between small ones.
	big := string(bytes.Repeat([]byte{'b'}, runFrame+1))
	ms = append(ms, wire.New([]byte("id"), []byte(big)))
	want = append(want, wireFrame{0, big})
	for i := range 2 * runStart {
		small(100 + i)
	}
	// A command (a SUB's subscription) goes as one.
	sub := "\x09" + zmtp.CmdSubscribe + "t"
	cmd := wire.New([]byte("id"), []byte(sub))
	msgmeta.Of(cmd).Command = true
	ms = append(ms, cmd)
	want = append(want, wireFrame{zmtp.FlagCommand, sub})
	// The largest message a run takes, in frames of the largest size.
	var frames [][]byte
	for i := 0; (i+1)*(2+runFrame/2) <= runMsg; i++ {
		frames = append(frames, bytes.Repeat([]byte{byte('A' + i)}, runFrame/2))
	}
	ms = append(ms, wire.New(append([][]byte{[]byte("id")}, frames...)...))
	for i, f := range frames {
		flags := byte(zmtp.FlagMore)
		if i == len(frames)-1 {
			flags = 0
		}
		want = append(want, wireFrame{flags, string(f)})
	}
	// A message shared with another holder is not copied.
	shared := wire.New([]byte("id"), []byte("shared"))
	shared.Share(1)
	ms = append(ms, shared)
	want = append(want, wireFrame{0, "shared"})
	// Nothing beyond the id: nothing on the wire.
	ms = append(ms, wire.New([]byte("id")))
	for i := range runStart + 4 {
		small(200 + i)
	}
	return ms, want
}

// writeAll takes everything from q and writes it with codec, as the writer
// does, and returns the messages taken and their frame bytes.
func writeAll(t *testing.T, q *Queue, conn net.Conn, codec zmtp.Codec) (batch []*wire.Msg, msgs, bytes int) {
	t.Helper()
	w := writer{conn: conn, codec: codec, skip: q.skip}
	defer w.free()
	batch, ctl, tail := q.take(nil, nil, maxWriteBatch)
	msgs = weighAll(batch)
	bytes, err := w.write(batch, ctl, tail)
	require.NoError(t, err)
	q.done(msgs, bytes, nil)
	return batch, msgs, bytes
}

func TestQueueRunsGoOutAsTheMessages(t *testing.T) {
	q := NewQueue(0, 1)
	defer q.Close()
	q.SetPacking()
	ms, want := runMix()
	wantBytes := 0
	for _, m := range ms {
		wantBytes += m.Size() - len("id")
		require.NoError(t, q.Push(m))
	}
	assert.Equal(t, len(ms), q.Len(), "every message counts, packed or not")

	conn := &bufConn{}
	batch, msgs, bytes := writeAll(t, q, conn, zmtp.PlainCodec{})
	assert.Equal(t, len(ms), msgs)
	runs := 0
	for _, m := range batch {
		if msgmeta.Of(m).Run > 0 {
			runs++
		}
	}
	wire.ReleaseAll(batch)
	assert.GreaterOrEqual(t, runs, 3, "each streak of small messages went into a run")
	assert.Equal(t, want, parseWire(t, conn.out.Bytes()))
	assert.Equal(t, wantBytes, bytes)
	st := q.Stats()
	assert.Equal(t, uint64(len(ms)), st.Pushed)
	assert.Equal(t, uint64(len(ms)), st.Written)
	assert.Equal(t, uint64(wantBytes), st.Bytes)
	assert.Zero(t, st.Queued)
	assert.Empty(t, q.spent, "an idle queue keeps no packed messages")
}

// recordingCodec is a codec that is not plain: it records the frames it is
// given, and puts them on the wire behind a marker byte.
type recordingCodec struct {
	zmtp.PlainCodec
	frames []wireFrame
}

func (c *recordingCodec) Plain() bool { return false }

func (c *recordingCodec) AppendFrame(b []byte, flags byte, body []byte) []byte {
	c.frames = append(c.frames, wireFrame{flags, string(body)})
	return append(zmtp.AppendFrame(b, flags, body), '!')
}

func TestQueueRunsGoThroughTheCodec(t *testing.T) {
	q := NewQueue(0, 1)
	defer q.Close()
	q.SetPacking()
	for i := range 2 * runStart {
		require.NoError(t, q.Push(wire.New([]byte("id"), []byte{byte(i)}, nil)))
	}
	codec := &recordingCodec{}
	batch, msgs, _ := writeAll(t, q, &bufConn{}, codec)
	require.Less(t, len(batch), msgs, "some went into a run")
	wire.ReleaseAll(batch)
	var want []wireFrame
	for i := range 2 * runStart {
		want = append(want, wireFrame{zmtp.FlagMore, string([]byte{byte(i)})}, wireFrame{0, ""})
	}
	assert.Equal(t, want, codec.frames, "every frame of a run goes through AppendFrame, with its flags")
}

func TestQueueRunsCountAgainstTheHWM(t *testing.T) {
	const hwm = 3 * runStart
	q := NewQueue(hwm, 0)
	defer q.Close()
	q.SetPacking()
	for range hwm {
		require.NoError(t, q.Push(wire.New([]byte("x"))))
	}
	m := wire.New([]byte("y"))
	assert.ErrorIs(t, q.Push(m), ErrQueueFull, "the mark counts the messages in runs")
	n, err := q.PushAll([]*wire.Msg{m})
	assert.Zero(t, n)
	assert.ErrorIs(t, err, ErrQueueFull)
	m.Release()
	assert.Equal(t, hwm, q.Len())

	batch, _, _ := q.take(nil, nil, maxWriteBatch)
	require.Less(t, len(batch), hwm, "runs were made")
	assert.Equal(t, hwm, weighAll(batch))
	assert.Equal(t, hwm, q.Len(), "taken and not written")
	q.done(weighAll(batch), 0, nil)
	wire.ReleaseAll(batch)
	assert.Zero(t, q.Len())
}

func TestQueueShortBurstMakesNoRun(t *testing.T) {
	q := NewQueue(0, 0)
	defer q.Close()
	q.SetPacking()
	for range runStart {
		require.NoError(t, q.Push(wire.New([]byte("x"))))
	}
	batch, _, _ := q.take(nil, nil, maxWriteBatch)
	assert.Len(t, batch, runStart, "a run pays off only behind a streak")
	q.done(len(batch), 0, nil)
	wire.ReleaseAll(batch)

	// The streak starts again once the writer has emptied the queue.
	for range runStart {
		require.NoError(t, q.Push(wire.New([]byte("x"))))
	}
	batch, _, _ = q.take(nil, nil, maxWriteBatch)
	assert.Len(t, batch, runStart)
	q.done(len(batch), 0, nil)
	wire.ReleaseAll(batch)
}

func TestQueuePushAllPacks(t *testing.T) {
	q := NewQueue(0, 1)
	defer q.Close()
	q.SetPacking()
	ms, want := runMix()
	n, err := q.PushAll(ms)
	require.NoError(t, err)
	require.Equal(t, len(ms), n)
	conn := &bufConn{}
	batch, msgs, _ := writeAll(t, q, conn, zmtp.PlainCodec{})
	assert.Equal(t, len(ms), msgs)
	assert.Less(t, len(batch), msgs)
	wire.ReleaseAll(batch)
	assert.Equal(t, want, parseWire(t, conn.out.Bytes()))
}

func TestQueueConflateDoesNotPack(t *testing.T) {
	q := NewQueue(0, 0)
	defer q.Close()
	q.SetPacking()
	q.SetConflate()
	for i := range 3 * runStart {
		require.NoError(t, q.Push(wire.New([]byte{byte(i)})))
	}
	batch, _, _ := q.take(nil, nil, maxWriteBatch)
	require.Len(t, batch, 1)
	assert.Equal(t, [][]byte{{3*runStart - 1}}, batch[0].Frames, "only the newest, as it was")
	q.done(1, 0, nil)
	wire.ReleaseAll(batch)
}

// TestQueueCloseReleasesRuns closes a queue that holds runs and packed
// messages: everything goes back to the pool once.
func TestQueueCloseReleasesRuns(t *testing.T) {
	q := NewQueue(0, 0)
	q.SetPacking()
	for range 4 * runStart {
		require.NoError(t, q.Push(wire.New([]byte("x"))))
	}
	require.NotEmpty(t, q.spent)
	q.Close()
	assert.Nil(t, q.spent)
	assert.Zero(t, q.Len())
}

// TestPeerWritesRunsInOrder streams small messages through a packing queue
// to a real TCP connection, with a writer that runs meanwhile, so that runs
// form and are taken while they fill: every message arrives, in order.
func TestPeerWritesRunsInOrder(t *testing.T) {
	h := startPeer(t, Config{}, -1, nil)
	h.q.SetPacking()
	const n = 20000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			m := wire.New([]byte("id"), []byte(fmt.Sprint(i)))
			if i%97 == 0 {
				m.AppendFrame(bytes.Repeat([]byte{'L'}, 1000)) // not packed
			}
			if err := h.q.PushWait(context.Background(), m, nil, nil); err != nil {
				m.Release()
				return
			}
		}
	}()
	for i := range n {
		got := h.readMsg(t)
		require.Equal(t, fmt.Sprint(i), string(got[0]), "message %d", i)
		if i%97 == 0 {
			require.Len(t, got, 2)
		} else {
			require.Len(t, got, 1)
		}
	}
	<-done
	if idle := h.q.Idle(); idle != nil {
		<-idle
	}
	st := h.q.Stats()
	assert.Equal(t, uint64(n), st.Written)
}
