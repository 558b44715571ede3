package zmtp

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHeaderLen(t *testing.T) {
	tests := []struct{ size, want int }{
		{0, 2}, {1, 2}, {255, 2}, {256, 9}, {1 << 20, 9},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, HeaderLen(tc.size), "size %d", tc.size)
		assert.Len(t, AppendHeader(nil, 0, tc.size), tc.want, "size %d", tc.size)
	}
}

func TestAppendHeader(t *testing.T) {
	tests := []struct {
		name  string
		flags byte
		size  int
		want  []byte
	}{
		{name: "empty final", size: 0, want: []byte{0x00, 0x00}},
		{name: "short more", flags: FlagMore, size: 5, want: []byte{0x01, 0x05}},
		{name: "largest short", size: 255, want: []byte{0x00, 0xFF}},
		{name: "smallest long", size: 256, want: []byte{0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x00}},
		{name: "long more", flags: FlagMore, size: 0x12c, want: []byte{0x03, 0, 0, 0, 0, 0, 0, 0x01, 0x2c}},
		{name: "short command", flags: FlagCommand, size: 41, want: []byte{0x04, 41}},
		{name: "long command", flags: FlagCommand, size: 70000, want: []byte{0x06, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70}},
		{name: "long flag from caller is ignored for short", flags: FlagLong | FlagMore, size: 3, want: []byte{0x01, 0x03}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendHeader([]byte{0xAA}, tc.flags, tc.size)
			assert.Equal(t, append([]byte{0xAA}, tc.want...), got)
			h, n, err := ParseHeader(got[1:])
			require.NoError(t, err)
			assert.Equal(t, len(tc.want), n)
			assert.Equal(t, uint64(tc.size), h.Size)
			assert.Equal(t, tc.flags&FlagMore != 0, h.More())
			assert.Equal(t, tc.flags&FlagCommand != 0, h.IsCommand())
		})
	}
}

func TestAppendFrameAndMessage(t *testing.T) {
	body := bytes.Repeat([]byte{'x'}, 300)
	assert.Equal(t, append([]byte{0x01, 0x03}, "abc"...), AppendFrame(nil, FlagMore, []byte("abc")))

	got := AppendMessage(nil, [][]byte{{}, []byte("hello"), body})
	want := []byte{0x01, 0x00, 0x01, 0x05}
	want = append(want, "hello"...)
	want = append(want, 0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x2c)
	want = append(want, body...)
	assert.Equal(t, want, got, "the frames libzmq sends for [\"\", \"hello\", 300 x \"x\"]")

	assert.Equal(t, []byte{0x00, 0x01, 'z'}, AppendMessage(nil, [][]byte{[]byte("z")}), "a lone frame is final")
	assert.Empty(t, AppendMessage(nil, nil))
}

func TestParseHeader(t *testing.T) {
	long := func(flags byte, size ...byte) []byte {
		return append([]byte{flags | FlagLong}, size...)
	}
	tests := []struct {
		name    string
		in      []byte
		want    Header
		wantN   int
		wantErr bool
	}{
		{name: "short final", in: []byte{0x00, 0x07}, want: Header{Flags: 0, Size: 7}, wantN: 2},
		{name: "short more with body after", in: []byte{0x01, 0x02, 'h', 'i'}, want: Header{Flags: FlagMore, Size: 2}, wantN: 2},
		{name: "short command", in: []byte{0x04, 0xFF}, want: Header{Flags: FlagCommand, Size: 255}, wantN: 2},
		{name: "long", in: long(0, 0, 0, 0, 0, 0, 0, 0x01, 0x00), want: Header{Flags: FlagLong, Size: 256}, wantN: 9},
		{name: "long frame carrying a small size", in: long(FlagMore, 0, 0, 0, 0, 0, 0, 0, 5), want: Header{Flags: FlagLong | FlagMore, Size: 5}, wantN: 9},
		{name: "long frame carrying zero", in: long(0, 0, 0, 0, 0, 0, 0, 0, 0), want: Header{Flags: FlagLong}, wantN: 9},
		{name: "long command", in: long(FlagCommand, 0, 0, 0, 0, 0, 0, 0x10, 0), want: Header{Flags: FlagLong | FlagCommand, Size: 4096}, wantN: 9},
		{name: "size 2^63-1 accepted", in: long(0, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF), want: Header{Flags: FlagLong, Size: 1<<63 - 1}, wantN: 9},

		{name: "empty", in: nil},
		{name: "short size missing", in: []byte{0x01}},
		{name: "long size cut", in: long(0, 0, 0, 0, 0, 0, 0, 0)},
		{name: "long size missing", in: long(0)},

		{name: "reserved bit 3", in: []byte{0x08, 0x00}, wantErr: true},
		{name: "reserved bit 7", in: []byte{0x80, 0x00}, wantErr: true},
		{name: "all reserved bits", in: []byte{0xF8, 0x00}, wantErr: true},
		{name: "reserved bit on a lone flags byte", in: []byte{0x10}, wantErr: true},
		{name: "command with more", in: []byte{0x05, 0x00}, wantErr: true},
		{name: "long command with more", in: long(FlagCommand|FlagMore, 0, 0, 0, 0, 0, 0, 0, 0), wantErr: true},
		{name: "size 2^63", in: long(0, 0x80, 0, 0, 0, 0, 0, 0, 0), wantErr: true},
		{name: "size 2^64-1", in: long(FlagMore, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, n, err := ParseHeader(tc.in)
			if tc.wantErr {
				var pe *ProtocolError
				require.ErrorAs(t, err, &pe)
				assert.Zero(t, n)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantN, n)
			assert.Equal(t, tc.want, h)
		})
	}
}
