package zmtp

import (
	"bytes"
	"errors"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/wire"
)

// errStalled ends a read where a real peer would have stopped sending.
var errStalled = errors.New("stalled")

// stallReader gives its bytes, then, where a stalled peer would leave the
// reader waiting, reports how much the process allocated since start.
type stallReader struct {
	data      []byte
	start     uint64
	allocated uint64
}

func newStallReader(data []byte) *stallReader {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return &stallReader{data: data, start: ms.TotalAlloc}
}

func (r *stallReader) Read(p []byte) (int, error) {
	if len(r.data) > 0 {
		n := copy(p, r.data)
		r.data = r.data[n:]
		return n, nil
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.allocated = ms.TotalAlloc - r.start
	return 0, errStalled
}

// A claim in a header does not decide an allocation: what a stalled peer
// costs grows with what it sent, not with what it announced.
func TestReserveFollowsArrivingBytes(t *testing.T) {
	ten := []byte("0123456789")
	tests := []struct {
		name string
		wire []byte
		read func(rd *Reader) error
		max  uint64 // bytes allocated while the peer stalls
	}{
		{
			name: "handshake command claiming 65000 bytes",
			wire: append(AppendHeader(nil, FlagCommand, 65_000), ten...),
			read: func(rd *Reader) error {
				h, err := rd.ReadHeader()
				if err != nil {
					return err
				}
				_, err = rd.ReadCommand(h)
				return err
			},
			max: 16 << 10,
		},
		{
			name: "command after the handshake claiming 65000 bytes",
			wire: append(AppendHeader(nil, FlagCommand, 65_000), append([]byte{4, 'P', 'I', 'N', 'G', 0, 1}, ten...)...),
			read: func(rd *Reader) error {
				m := wire.Get()
				defer m.Release()
				_, err := rd.ReadFrame(m)
				return err
			},
			max: 4 << 10,
		},
		{
			name: "message frame claiming 100 MiB",
			wire: append(AppendHeader(nil, 0, 100<<20), ten...),
			read: func(rd *Reader) error {
				m := wire.Get()
				defer m.Release()
				_, err := rd.ReadFrame(m)
				return err
			},
			max: 80 << 10,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sr := newStallReader(tt.wire)
			rd := NewReader(sr, -1)
			rd.MaxCommandSize = 1 << 20
			require.ErrorIs(t, tt.read(rd), errStalled)
			assert.LessOrEqual(t, sr.allocated, tt.max, "bytes allocated for %d bytes sent", len(ten))
		})
	}
}

// After the handshake, ReadFrame keeps only the head of a long command,
// which is all that PING or ERROR can need, and skips the rest as it
// arrives; the frames after it read as usual.
func TestReadFrameSkipsLongCommandBody(t *testing.T) {
	ctx := bytes.Repeat([]byte{'c'}, 100_000)
	var stream []byte
	stream = AppendHeader(stream, FlagCommand, 7+len(ctx))
	stream = append(stream, 4, 'P', 'I', 'N', 'G', 0, 5)
	stream = append(stream, ctx...)
	stream = AppendFrame(stream, 0, []byte("after"))
	rd := NewReader(bytes.NewReader(stream), -1)
	rd.MaxCommandSize = 1 << 20
	m := wire.Get()
	defer m.Release()

	f, err := rd.ReadFrame(m)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(f.Command), maxKeptCommand)
	c, err := ParseCommand(f.Command)
	require.NoError(t, err)
	assert.Equal(t, &Ping{TTL: 5, Context: ctx[:MaxPingContext]}, c)

	f, err = rd.ReadFrame(m)
	require.NoError(t, err)
	assert.Nil(t, f.Command)
	assert.Equal(t, [][]byte{[]byte("after")}, m.Frames)
}

// Under KeepSubscriptions, ReadFrame keeps a long SUBSCRIBE or CANCEL
// whole, since the whole topic matters, and still only the head of any
// other long command; without it, a long SUBSCRIBE is cut like the rest.
func TestReadFrameKeepsLongSubscriptions(t *testing.T) {
	topic := bytes.Repeat([]byte{'t'}, 5000)
	for _, tt := range []struct {
		name string
		cmd  Command
		keep bool
		want int
	}{
		{"subscribe kept", &Subscribe{Topic: topic}, true, 1 + len(CmdSubscribe) + len(topic)},
		{"cancel kept", &Cancel{Topic: topic}, true, 1 + len(CmdCancel) + len(topic)},
		{"ping cut", &Ping{TTL: 1, Context: topic[:MaxPingContext]}, true, maxKeptCommand},
		{"subscribe cut without the option", &Subscribe{Topic: topic}, false, maxKeptCommand},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.cmd.Append(nil)
			var stream []byte
			stream = AppendHeader(stream, FlagCommand, len(body))
			stream = append(stream, body...)
			stream = AppendFrame(stream, 0, []byte("after"))
			rd := NewReader(bytes.NewReader(stream), -1)
			rd.KeepSubscriptions = tt.keep
			m := wire.Get()
			defer m.Release()

			f, err := rd.ReadFrame(m)
			require.NoError(t, err)
			require.Len(t, f.Command, min(tt.want, len(body)))
			if tt.want == len(body) {
				assert.Equal(t, body, f.Command)
			}
			f, err = rd.ReadFrame(m)
			require.NoError(t, err)
			assert.Nil(t, f.Command)
			assert.Equal(t, [][]byte{[]byte("after")}, m.Frames)
		})
	}
}
