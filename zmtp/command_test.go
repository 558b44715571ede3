package zmtp

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// body returns a command body: name length, name, data.
func body(name string, data ...byte) []byte {
	return append(append([]byte{byte(len(name))}, name...), data...)
}

// TestParsePingCutsLongContext: libzmq cuts a PING context longer than 16
// bytes to 16 and answers it, rather than dropping the connection.
func TestParsePingCutsLongContext(t *testing.T) {
	c, err := ParseCommand(body("PING", append([]byte{0, 1}, "0123456789abcdefg-and-more"...)...))
	require.NoError(t, err)
	assert.Equal(t, &Ping{TTL: 1, Context: []byte("0123456789abcdef")}, c)
}

func TestParseCommand(t *testing.T) {
	readyData := Metadata{{Name: "Socket-Type", Value: []byte("DEALER")}, {Name: "Identity", Value: []byte("abc")}}.Append(nil)
	tests := []struct {
		name    string
		in      []byte
		want    Command
		wantErr bool
	}{
		{name: "READY", in: body("READY", readyData...), want: &Ready{Metadata: Metadata{{Name: "Socket-Type", Value: []byte("DEALER")}, {Name: "Identity", Value: []byte("abc")}}}},
		{name: "READY without metadata", in: body("READY"), want: &Ready{}},
		{name: "READY with bad metadata", in: body("READY", 0, 0, 0, 0, 0), wantErr: true},
		{name: "READY with truncated metadata", in: body("READY", readyData[:len(readyData)-1]...), wantErr: true},

		{name: "ERROR", in: body("ERROR", append([]byte{19}, "invalid socket type"...)...), want: &Error{Reason: "invalid socket type"}},
		{name: "ERROR with empty reason", in: body("ERROR", 0), want: &Error{}},
		{name: "ERROR with a 255-byte reason", in: body("ERROR", append([]byte{255}, strings.Repeat("r", 255)...)...), want: &Error{Reason: strings.Repeat("r", 255)}},
		{name: "ERROR without reason length", in: body("ERROR"), wantErr: true},
		{name: "ERROR reason truncated", in: body("ERROR", 5, 'a', 'b'), wantErr: true},

		{name: "PING", in: body("PING", 0x01, 0x2C), want: &Ping{TTL: 300, Context: []byte{}}},
		{name: "PING with context", in: body("PING", 0x00, 0x0A, 'c', 't', 'x'), want: &Ping{TTL: 10, Context: []byte("ctx")}},
		{name: "PING with a 16-byte context", in: body("PING", append([]byte{0xFF, 0xFF}, "0123456789abcdef"...)...), want: &Ping{TTL: 0xFFFF, Context: []byte("0123456789abcdef")}},
		{name: "PING without TTL", in: body("PING"), wantErr: true},
		{name: "PING with half a TTL", in: body("PING", 7), wantErr: true},

		{name: "PONG", in: body("PONG", 'c', 't', 'x'), want: &Pong{Context: []byte("ctx")}},
		{name: "PONG without context", in: body("PONG"), want: &Pong{Context: []byte{}}},
		{name: "SUBSCRIBE", in: body("SUBSCRIBE", 't', 'o', 'p'), want: &Subscribe{Topic: []byte("top")}},
		{name: "SUBSCRIBE to everything", in: body("SUBSCRIBE"), want: &Subscribe{Topic: []byte{}}},
		{name: "CANCEL", in: body("CANCEL", 't'), want: &Cancel{Topic: []byte("t")}},

		{name: "unknown command tolerated", in: body("HELLO", 1, 2, 3), want: &Unknown{CmdName: "HELLO", Data: []byte{1, 2, 3}}},
		{name: "names are case-sensitive", in: body("ready"), want: &Unknown{CmdName: "ready", Data: []byte{}}},
		{name: "255-byte name", in: body(strings.Repeat("N", 255)), want: &Unknown{CmdName: strings.Repeat("N", 255), Data: []byte{}}},

		{name: "empty body", in: nil, wantErr: true},
		{name: "empty name", in: []byte{0, 'x'}, wantErr: true},
		{name: "name truncated", in: []byte{5, 'R', 'E'}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCommand(tc.in)
			if tc.wantErr {
				var pe *ProtocolError
				require.ErrorAs(t, err, &pe)
				assert.Nil(t, c)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, c)
			assert.Equal(t, tc.want.Name(), c.Name())
			// Whatever parses re-encodes to the same bytes.
			assert.Equal(t, len(tc.in), c.Len())
			assert.Equal(t, tc.in, c.Append(nil))
		})
	}
}

func TestSplitCommand(t *testing.T) {
	name, data, err := SplitCommand(body("PING", 0, 1, 'x'))
	require.NoError(t, err)
	assert.Equal(t, "PING", name)
	assert.Equal(t, []byte{0, 1, 'x'}, data)
}

func TestCommandEncoding(t *testing.T) {
	long := strings.Repeat("e", 300)
	tests := []struct {
		name string
		cmd  Command
		want []byte // the body
	}{
		{name: "READY", cmd: &Ready{Metadata: Metadata{{Name: "Socket-Type", Value: []byte("ROUTER")}}},
			want: append(body("READY", 11), append([]byte("Socket-Type"), 0, 0, 0, 6, 'R', 'O', 'U', 'T', 'E', 'R')...)},
		{name: "ERROR", cmd: &Error{Reason: "no"}, want: body("ERROR", 2, 'n', 'o')},
		{name: "ERROR reason cut to 255", cmd: &Error{Reason: long}, want: body("ERROR", append([]byte{255}, long[:255]...)...)},
		{name: "PING", cmd: &Ping{TTL: 0x0102, Context: []byte("c")}, want: body("PING", 1, 2, 'c')},
		{name: "PING context cut to 16", cmd: &Ping{TTL: 1, Context: []byte("0123456789abcdefXYZ")}, want: body("PING", append([]byte{0, 1}, "0123456789abcdef"...)...)},
		{name: "PONG", cmd: &Pong{Context: []byte("c")}, want: body("PONG", 'c')},
		{name: "SUBSCRIBE", cmd: &Subscribe{Topic: []byte("a/b")}, want: body("SUBSCRIBE", 'a', '/', 'b')},
		{name: "CANCEL", cmd: &Cancel{Topic: []byte("a")}, want: body("CANCEL", 'a')},
		{name: "unknown", cmd: &Unknown{CmdName: "X", Data: []byte{9}}, want: body("X", 9)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.cmd.Append([]byte("pre"))
			require.True(t, bytes.HasPrefix(got, []byte("pre")), "Append appends")
			assert.Equal(t, tc.want, got[3:])
			assert.Equal(t, len(tc.want), tc.cmd.Len())

			frame := AppendCommand(nil, tc.cmd)
			h, n, err := ParseHeader(frame)
			require.NoError(t, err)
			assert.True(t, h.IsCommand())
			assert.False(t, h.More())
			assert.Equal(t, uint64(len(tc.want)), h.Size)
			assert.Equal(t, tc.want, frame[n:])

			c, err := ParseCommand(frame[n:])
			require.NoError(t, err)
			assert.Equal(t, tc.cmd.Name(), c.Name())
		})
	}
}

func TestErrorReasonTruncatedOnTheWire(t *testing.T) {
	c, err := ParseCommand((&Error{Reason: strings.Repeat("z", 1000)}).Append(nil))
	require.NoError(t, err)
	assert.Equal(t, strings.Repeat("z", 255), c.(*Error).Reason)
}

func TestLongCommandFrame(t *testing.T) {
	c := &Ready{Metadata: Metadata{{Name: "X-Big", Value: bytes.Repeat([]byte{'v'}, 1000)}}}
	frame := AppendCommand(nil, c)
	assert.Equal(t, FlagCommand|FlagLong, frame[0], "a body over 255 bytes takes the long form")
	rd := NewReader(bytes.NewReader(frame), 0)
	h, err := rd.ReadHeader()
	require.NoError(t, err)
	b, err := rd.ReadCommand(h)
	require.NoError(t, err)
	got, err := ParseCommand(b)
	require.NoError(t, err)
	assert.Equal(t, c, got)
}
