package zmtp

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestZ85(t *testing.T) {
	// RFC 32's test vector.
	hello := []byte{0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B}
	enc, ok := AppendZ85(nil, hello)
	require.True(t, ok)
	assert.Equal(t, "HelloWorld", string(enc))
	dec, err := AppendZ85Decode(nil, "HelloWorld")
	require.NoError(t, err)
	assert.Equal(t, hello, dec)

	// libzmq's test_security_curve keys, public and secret, round trip.
	for _, k := range []string{"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID", "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"} {
		b, err := AppendZ85Decode(nil, k)
		require.NoError(t, err, k)
		require.Len(t, b, 32)
		e, ok := AppendZ85(nil, b)
		require.True(t, ok)
		assert.Equal(t, k, string(e))
	}

	_, ok = AppendZ85(nil, []byte{1, 2, 3})
	assert.False(t, ok, "not a multiple of 4 bytes")
	for _, bad := range []string{"Hello", "HelloWorl", "Hell~", "%%%%%", "#####"} {
		if bad == "Hello" {
			continue // a valid group
		}
		_, err := AppendZ85Decode(nil, bad)
		assert.ErrorIs(t, err, ErrZ85, bad)
	}
	max, err := AppendZ85Decode(nil, "%nSc0")
	require.NoError(t, err, "0xFFFFFFFF is the largest group")
	assert.Equal(t, []byte{0xFF, 0xFF, 0xFF, 0xFF}, max)
}

func FuzzZ85(f *testing.F) {
	f.Add("HelloWorld")
	f.Add("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID")
	f.Add("%%%%%")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := AppendZ85Decode(nil, s)
		if err != nil {
			return
		}
		e, ok := AppendZ85(nil, b)
		if !ok || !bytes.Equal(e, []byte(s)) {
			t.Fatalf("%q decodes to %x, which encodes to %q", s, b, e)
		}
	})
}
