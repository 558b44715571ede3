package zmtp

import (
	"bytes"
	"io"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/wire"
)

// TestHugeClaimRefusedWithoutAllocation reads a header claiming 2^62 bytes
// with a 1 MiB limit: ReadHeader refuses it before anything is allocated.
func TestHugeClaimRefusedWithoutAllocation(t *testing.T) {
	hdr := AppendHeader(nil, FlagMore, 1<<62)
	br := bytes.NewReader(hdr)
	rd := NewReader(br, 1<<20)
	var err error
	allocs := testing.AllocsPerRun(100, func() {
		br.Reset(hdr)
		_, err = rd.ReadHeader()
	})
	require.ErrorIs(t, err, ErrMessageTooLarge)
	assert.Zero(t, allocs, "allocations per refused header")
}

// totalAlloc returns the bytes allocated by the process so far.
func totalAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// TestHugeClaimAllocatesOnlyWhatArrives has a peer claim a 2^40-byte body
// with no limit set, send a little of it, and close. Storage must follow the
// bytes that arrived (plus at most one 1 MiB growth step), never the claim.
func TestHugeClaimAllocatesOnlyWhatArrives(t *testing.T) {
	tests := []struct {
		name     string
		flags    byte
		sent     int    // body bytes that arrive before EOF
		maxAlloc uint64 // bytes the whole read may allocate
	}{
		{name: "message frame, nothing sent", sent: 0, maxAlloc: 8 << 20},
		{name: "message frame, a little sent", sent: 1000, maxAlloc: 8 << 20},
		{name: "message frame, 5 MiB sent", sent: 5 << 20, maxAlloc: 32 << 20},
		{name: "command, nothing sent", flags: FlagCommand, sent: 0, maxAlloc: 8 << 20},
		{name: "command, 5 MiB sent", flags: FlagCommand, sent: 5 << 20, maxAlloc: 32 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stream := AppendHeader(nil, tc.flags, 1<<40)
			stream = append(stream, bytes.Repeat([]byte{'a'}, tc.sent)...)
			rd := NewReader(bytes.NewReader(stream), -1)
			rd.MaxCommandSize = -1 // no limit for commands either
			m := wire.Get()
			defer m.Release()

			before := totalAlloc()
			h, err := rd.ReadHeader()
			require.NoError(t, err)
			require.Equal(t, uint64(1<<40), h.Size)
			if h.IsCommand() {
				_, err = rd.ReadCommand(h)
			} else {
				err = rd.ReadFrameInto(m, h)
			}
			used := totalAlloc() - before

			require.ErrorIs(t, err, io.ErrUnexpectedEOF)
			assert.Less(t, used, tc.maxAlloc, "allocated %d bytes for %d that arrived", used, tc.sent)
		})
	}
}
