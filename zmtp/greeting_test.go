package zmtp

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawGreeting returns a valid 64-byte greeting that edit may then change.
func rawGreeting(edit func(b []byte)) []byte {
	b := Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}.Append(nil)
	if edit != nil {
		edit(b)
	}
	return b
}

func TestGreetingAppend(t *testing.T) {
	b := Greeting{Major: 3, Minor: 1, Mechanism: "NULL", AsServer: true}.Append([]byte("prefix"))
	require.Len(t, b, len("prefix")+GreetingSize)
	assert.Equal(t, GreetingSize, Greeting{}.Len())
	g := b[len("prefix"):]
	want := append([]byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 1}, "NULL"...)
	want = append(want, make([]byte, 16)...) // mechanism padding
	want = append(want, 1)                   // as-server
	want = append(want, make([]byte, 31)...) // filler
	assert.Equal(t, want, g)
}

func TestParseGreeting(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    Greeting
		wantErr any // nil, or a pointer to the wanted error type
	}{
		{name: "zmtp 3.1 null", in: rawGreeting(nil), want: Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}},
		{name: "zmtp 3.0 accepted", in: rawGreeting(func(b []byte) { b[11] = 0 }), want: Greeting{Major: 3, Minor: 0, Mechanism: "NULL"}},
		{name: "newer major accepted", in: rawGreeting(func(b []byte) { b[10], b[11] = 4, 7 }), want: Greeting{Major: 4, Minor: 7, Mechanism: "NULL"}},
		{name: "as-server", in: rawGreeting(func(b []byte) { copy(b[12:], "PLAIN"); b[32] = 1 }), want: Greeting{Major: 3, Minor: 1, Mechanism: "PLAIN", AsServer: true}},
		// libzmq ignores the as-server byte: a value RFC 23 does not allow
		// is no reason to drop a peer.
		{name: "as-server 2", in: rawGreeting(func(b []byte) { b[32] = 2 }), want: Greeting{Major: 3, Minor: 1, Mechanism: "NULL", AsServer: true}},
		{name: "as-server 0xFF", in: rawGreeting(func(b []byte) { b[32] = 0xFF }), want: Greeting{Major: 3, Minor: 1, Mechanism: "NULL", AsServer: true}},
		{name: "padding bytes not validated", in: rawGreeting(func(b []byte) { copy(b[1:9], []byte{0xDE, 0xAD, 0xBE, 0xEF, 0, 1, 2, 0xFF}) }), want: Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}},
		{name: "libzmq identity length in padding", in: rawGreeting(func(b []byte) { b[8] = 9 }), want: Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}},
		{name: "filler not validated", in: rawGreeting(func(b []byte) { b[63] = 0xAA }), want: Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}},
		{name: "mechanism of 20 chars", in: rawGreeting(func(b []byte) { copy(b[12:32], "ABCDEFGHIJ0123456789") }), want: Greeting{Major: 3, Minor: 1, Mechanism: "ABCDEFGHIJ0123456789"}},
		{name: "mechanism with every allowed kind of char", in: rawGreeting(func(b []byte) { copy(b[12:32], "X-1_Y.Z+") }), want: Greeting{Major: 3, Minor: 1, Mechanism: "X-1_Y.Z+"}},
		{name: "empty mechanism", in: rawGreeting(func(b []byte) { copy(b[12:32], make([]byte, 20)) }), want: Greeting{Major: 3, Minor: 1}},
		{name: "longer input uses the first 64 bytes", in: append(rawGreeting(nil), 0x04, 0x00), want: Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}},

		{name: "short", in: rawGreeting(nil)[:63], wantErr: new(*ProtocolError)},
		{name: "empty", in: nil, wantErr: new(*ProtocolError)},
		{name: "bad first signature byte", in: rawGreeting(func(b []byte) { b[0] = 0xFE }), wantErr: new(*ProtocolError)},
		{name: "zmtp 1.0 length byte", in: rawGreeting(func(b []byte) { b[0] = 0x01 }), wantErr: new(*ProtocolError)},
		{name: "signature end without low bit", in: rawGreeting(func(b []byte) { b[9] = 0x7E }), wantErr: new(*ProtocolError)},
		{name: "version 2.0", in: rawGreeting(func(b []byte) { b[10], b[11] = 2, 0 }), wantErr: new(*VersionError)},
		{name: "version 2.9", in: rawGreeting(func(b []byte) { b[10], b[11] = 2, 9 }), wantErr: new(*VersionError)},
		{name: "zmtp 2.0 revision 1", in: rawGreeting(func(b []byte) { b[10] = 1 }), wantErr: new(*VersionError)},
		{name: "version 0", in: rawGreeting(func(b []byte) { b[10] = 0 }), wantErr: new(*VersionError)},
		{name: "lower-case mechanism", in: rawGreeting(func(b []byte) { copy(b[12:], "null") }), wantErr: new(*ProtocolError)},
		{name: "mechanism with a space", in: rawGreeting(func(b []byte) { copy(b[12:], "NU LL") }), wantErr: new(*ProtocolError)},
		{name: "mechanism with a high byte", in: rawGreeting(func(b []byte) { b[13] = 0xC3 }), wantErr: new(*ProtocolError)},
		{name: "mechanism not null-padded", in: rawGreeting(func(b []byte) { b[20] = 'X' }), wantErr: new(*ProtocolError)},
		{name: "mechanism with a leading null", in: rawGreeting(func(b []byte) { b[12] = 0 }), wantErr: new(*ProtocolError)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ParseGreeting(tc.in)
			if tc.wantErr != nil {
				require.Error(t, err)
				assert.ErrorAs(t, err, tc.wantErr)
				assert.Equal(t, Greeting{}, g)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, g)
		})
	}
}

func TestVersionErrorReportsMajor(t *testing.T) {
	_, err := ParseGreeting(rawGreeting(func(b []byte) { b[10] = 2 }))
	var ve *VersionError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, byte(2), ve.Major)
	assert.Contains(t, err.Error(), "ZMTP 2.")
}

// The revision byte of the versioned protocols before 3.0 is 0 for ZMTP 1.0
// and 1 for 2.0 (RFC 15): the error names the version the peer speaks.
func TestVersionErrorNamesOldRevisions(t *testing.T) {
	for rev, want := range map[byte]string{0: "peer speaks ZMTP 1.0,", 1: "peer speaks ZMTP 2.0,", 2: "peer speaks ZMTP 2.0,"} {
		_, err := ParseGreeting(rawGreeting(func(b []byte) { b[10], b[11] = rev, 0 }))
		require.Error(t, err)
		assert.Contains(t, err.Error(), want, "revision %d", rev)
	}
}

func TestGreetingRoundTrip(t *testing.T) {
	tests := []Greeting{
		{Major: 3, Minor: 1, Mechanism: "NULL"},
		{Major: 3, Minor: 0, Mechanism: "PLAIN", AsServer: true},
		{Major: 3, Minor: 1, Mechanism: "CURVE"},
		{Major: 3, Minor: 1},
		{Major: 255, Minor: 255, Mechanism: "A.B+C-D_E0123456789"},
	}
	for _, g := range tests {
		t.Run(g.Mechanism, func(t *testing.T) {
			b := g.Append(nil)
			require.Len(t, b, GreetingSize)
			got, err := ParseGreeting(b)
			require.NoError(t, err)
			assert.Equal(t, g, got)
			assert.True(t, bytes.Equal(b, got.Append(nil)))
		})
	}
}
