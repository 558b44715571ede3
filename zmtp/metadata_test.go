package zmtp

import (
	"encoding/binary"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// prop returns the encoding of one property with a value length that may lie.
func prop(name string, claimed uint32, value string) []byte {
	b := append([]byte{byte(len(name))}, name...)
	b = binary.BigEndian.AppendUint32(b, claimed)
	return append(b, value...)
}

func TestMetadataGet(t *testing.T) {
	md := Metadata{
		{Name: "Socket-Type", Value: []byte("DEALER")},
		{Name: "Identity", Value: []byte{}},
		{Name: "X-Dup", Value: []byte("first")},
		{Name: "x-dup", Value: []byte("second")},
	}
	tests := []struct {
		name   string
		want   string
		wantOK bool
	}{
		{name: "Socket-Type", want: "DEALER", wantOK: true},
		{name: "socket-type", want: "DEALER", wantOK: true},
		{name: "SOCKET-TYPE", want: "DEALER", wantOK: true},
		{name: "identity", want: "", wantOK: true},
		{name: "X-DUP", want: "first", wantOK: true},
		{name: "Resource"},
		{name: ""},
		{name: "Socket-Typ"},
	}
	for _, tc := range tests {
		v, ok := md.Get(tc.name)
		assert.Equal(t, tc.wantOK, ok, tc.name)
		assert.Equal(t, tc.want, string(v), tc.name)
	}
	_, ok := Metadata(nil).Get("Identity")
	assert.False(t, ok)
}

func TestParseMetadata(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    Metadata
		wantErr bool
	}{
		{name: "empty", in: nil, want: nil},
		{name: "one", in: prop("Socket-Type", 6, "ROUTER"), want: Metadata{{Name: "Socket-Type", Value: []byte("ROUTER")}}},
		{name: "empty value", in: prop("Identity", 0, ""), want: Metadata{{Name: "Identity", Value: []byte{}}}},
		{name: "order kept", in: append(prop("B", 1, "2"), prop("A", 1, "1")...), want: Metadata{{Name: "B", Value: []byte("2")}, {Name: "A", Value: []byte("1")}}},
		{name: "every name char", in: prop("aZ09-_.+", 1, "v"), want: Metadata{{Name: "aZ09-_.+", Value: []byte("v")}}},
		{name: "255-byte name", in: prop(strings.Repeat("n", 255), 0, ""), want: Metadata{{Name: strings.Repeat("n", 255), Value: []byte{}}}},
		{name: "binary value", in: prop("X-Bin", 3, "\x00\xff\x7f"), want: Metadata{{Name: "X-Bin", Value: []byte{0, 0xFF, 0x7F}}}},

		{name: "zero-length name", in: prop("", 1, "v"), wantErr: true},
		{name: "zero-length name alone", in: []byte{0}, wantErr: true},
		{name: "name truncated", in: []byte{5, 'a', 'b'}, wantErr: true},
		{name: "value length truncated", in: prop("Name", 1, "v")[:7], wantErr: true},
		{name: "value truncated", in: prop("Name", 10, "short"), wantErr: true},
		{name: "second property truncated", in: append(prop("A", 1, "1"), 3, 'B'), wantErr: true},
		{name: "value length 2^31-1 claimed", in: prop("Name", 1<<31-1, "v"), wantErr: true},
		{name: "value length 2^31 claimed", in: prop("Name", 1<<31, "v"), wantErr: true},
		{name: "value length 2^32-1 claimed", in: prop("Name", 1<<32-1, ""), wantErr: true},
		{name: "space in name", in: prop("Bad Name", 0, ""), wantErr: true},
		{name: "colon in name", in: prop("Bad:", 0, ""), wantErr: true},
		{name: "high byte in name", in: prop("N\xc3\xa9", 0, ""), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			md, err := ParseMetadata(tc.in)
			if tc.wantErr {
				var pe *ProtocolError
				require.ErrorAs(t, err, &pe)
				assert.Nil(t, md)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, md)
			assert.Equal(t, len(tc.in), md.Len())
			assert.Equal(t, string(tc.in), string(md.Append(nil)))
		})
	}
}

// TestParseMetadataValuesReferIntoInput checks that values are not copied and
// cannot be appended to over the next property.
func TestParseMetadataValuesReferIntoInput(t *testing.T) {
	in := append(prop("A", 2, "xy"), prop("B", 1, "z")...)
	md, err := ParseMetadata(in)
	require.NoError(t, err)
	require.Len(t, md, 2)
	assert.Same(t, &in[6], &md[0].Value[0])
	assert.Equal(t, 2, cap(md[0].Value), "capacity is cut at the value's end")
	_ = append(md[0].Value, '!')
	assert.Equal(t, byte(1), in[8], "the next property is left alone")
}

// TestParseMetadataHugeClaimAllocatesNothing checks that a value length
// claimed near 2^31 is refused without allocating anything like that size.
func TestParseMetadataHugeClaimAllocatesNothing(t *testing.T) {
	for _, claimed := range []uint32{1<<31 - 1, 1 << 31, 1<<32 - 1} {
		in := prop("Identity", claimed, "tiny")
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 100 {
			_, err := ParseMetadata(in)
			require.Error(t, err)
		}
		runtime.ReadMemStats(&after)
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "claimed %d", claimed)
	}
}

func TestMetadataValidate(t *testing.T) {
	tests := []struct {
		name    string
		md      Metadata
		wantErr bool
	}{
		{name: "nil", md: nil},
		{name: "usual", md: Metadata{{Name: "Socket-Type", Value: []byte("REQ")}, {Name: "Identity"}, {Name: "X-App.v1+x", Value: []byte("v")}}},
		{name: "empty name", md: Metadata{{Name: ""}}, wantErr: true},
		{name: "long name", md: Metadata{{Name: strings.Repeat("n", 256)}}, wantErr: true},
		{name: "bad char", md: Metadata{{Name: "A=B"}}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.md.Validate()
			if tc.wantErr {
				var pe *ProtocolError
				assert.ErrorAs(t, err, &pe)
				return
			}
			assert.NoError(t, err)
		})
	}
}

func TestLocalMetadata(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want Metadata
	}{
		{name: "DEALER carries Identity", cfg: Config{SocketType: DEALER, Identity: []byte("w1")},
			want: Metadata{{Name: PropSocketType, Value: []byte("DEALER")}, {Name: PropIdentity, Value: []byte("w1")}}},
		{name: "ROUTER carries an empty Identity", cfg: Config{SocketType: ROUTER},
			want: Metadata{{Name: PropSocketType, Value: []byte("ROUTER")}, {Name: PropIdentity}}},
		{name: "REQ", cfg: Config{SocketType: REQ},
			want: Metadata{{Name: PropSocketType, Value: []byte("REQ")}, {Name: PropIdentity}}},
		{name: "PUB has no Identity", cfg: Config{SocketType: PUB, Identity: []byte("ignored")},
			want: Metadata{{Name: PropSocketType, Value: []byte("PUB")}}},
		{name: "extra properties come last", cfg: Config{SocketType: PULL, Properties: Metadata{{Name: "X-A", Value: []byte("1")}}},
			want: Metadata{{Name: PropSocketType, Value: []byte("PULL")}, {Name: "X-A", Value: []byte("1")}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.cfg.LocalMetadata())
		})
	}
}
