package zmtp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/wire"
)

// goldenDir holds the bytes real libzmq 4.3 sends during a NULL handshake,
// captured by interop/cmd/capture (see its README.md).
const goldenDir = "../testdata/libzmq"

// goldenSocket is one captured libzmq socket: the files name.greeting and
// name.ready, and what that socket is.
type goldenSocket struct {
	name     string
	typ      SocketType
	identity string // ZMQ_ROUTING_ID, or empty
}

var goldenSockets = []goldenSocket{
	{name: "dealer", typ: DEALER},
	{name: "dealer-identity", typ: DEALER, identity: "worker-1"},
	{name: "req", typ: REQ},
	{name: "router", typ: ROUTER},
}

// readGolden returns the content of a capture file.
func readGolden(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, file))
	require.NoError(t, err, "capture %s", file)
	return b
}

// goldenMessage is what the libzmq DEALER sent in dealer.message.
var goldenMessage = [][]byte{{}, []byte("hello"), bytes.Repeat([]byte{'x'}, 300)}

// TestGoldenGreeting parses libzmq's greetings and checks that ours is the
// same byte for byte, except padding bytes 1 to 8, where libzmq puts its
// routing id's length plus one and RFC 23 lets the value differ.
func TestGoldenGreeting(t *testing.T) {
	ours := Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}.Append(nil)
	require.Len(t, ours, GreetingSize)
	for _, gs := range goldenSockets {
		t.Run(gs.name, func(t *testing.T) {
			gold := readGolden(t, gs.name+".greeting")
			require.Len(t, gold, GreetingSize)

			g, err := ParseGreeting(gold)
			require.NoError(t, err)
			assert.Equal(t, Greeting{Major: 3, Minor: 1, Mechanism: "NULL", AsServer: false}, g)

			assert.Equal(t, byte(0xFF), gold[0], "signature start")
			assert.Equal(t, byte(0x7F), gold[9], "signature end")
			assert.Equal(t, uint64(len(gs.identity)+1), binary.BigEndian.Uint64(gold[1:9]),
				"libzmq's padding holds the routing id length plus one")

			assert.Equal(t, gold[:1], ours[:1], "byte 0")
			assert.Equal(t, gold[9:], ours[9:], "bytes 9 to 63")
			if gs.identity == "" {
				// zmtp pads with 1, which is what libzmq sends
				// when it has no routing id.
				assert.Equal(t, gold, ours, "whole greeting")
			}
		})
	}
}

// TestGoldenReady parses libzmq's READY commands and checks that the READY
// zmtp sends for the same socket type and routing id is byte-identical.
func TestGoldenReady(t *testing.T) {
	for _, gs := range goldenSockets {
		t.Run(gs.name, func(t *testing.T) {
			gold := readGolden(t, gs.name+".ready")

			h, n, err := ParseHeader(gold)
			require.NoError(t, err)
			require.Equal(t, 2, n, "READY uses a short header")
			assert.True(t, h.IsCommand(), "command flag")
			assert.False(t, h.More(), "no MORE on a command")
			require.Equal(t, uint64(len(gold)-n), h.Size, "size covers the rest of the capture")

			// The same frame through a Reader, as a handshake reads it.
			rd := NewReader(bytes.NewReader(gold), -1)
			rh, err := rd.ReadHeader()
			require.NoError(t, err)
			assert.Equal(t, h, rh)
			body, err := rd.ReadCommand(rh)
			require.NoError(t, err)
			assert.Equal(t, gold[n:], body)
			_, err = rd.ReadHeader()
			assert.ErrorIs(t, err, io.EOF, "nothing after READY")

			name, _, err := SplitCommand(body)
			require.NoError(t, err)
			assert.Equal(t, CmdReady, name)
			c, err := ParseCommand(body)
			require.NoError(t, err)
			ready, ok := c.(*Ready)
			require.True(t, ok, "READY parses as *Ready, got %T", c)
			md := ready.Metadata
			require.Len(t, md, 2, "libzmq sends Socket-Type and Identity only")
			assert.Equal(t, PropSocketType, md[0].Name)
			assert.Equal(t, string(gs.typ), string(md[0].Value))
			assert.Equal(t, PropIdentity, md[1].Name)
			id, ok := md.Get(PropIdentity)
			require.True(t, ok, "Identity is present even when empty")
			assert.Equal(t, gs.identity, string(id))
			st, ok := md.Get(strings.ToLower(PropSocketType))
			require.True(t, ok, "property names match without regard to case")
			assert.Equal(t, string(gs.typ), string(st))

			cfg := &Config{SocketType: gs.typ}
			if gs.identity != "" {
				cfg.Identity = []byte(gs.identity)
			}
			ours := AppendCommand(nil, &Ready{Metadata: cfg.LocalMetadata()})
			assert.Equal(t, gold, ours, "our READY for a %s", gs.typ)
		})
	}
}

// TestGoldenDealerMessage decodes the message a libzmq DEALER sent after
// its handshake, and checks that zmtp encodes the same frames into the same
// bytes: short frames up to 255 bytes, a long frame for 300.
func TestGoldenDealerMessage(t *testing.T) {
	gold := readGolden(t, "dealer.message")
	rd := NewReader(bytes.NewReader(gold), -1)
	m := wire.Get()
	defer m.Release()
	var flags []byte
	for {
		h, err := rd.ReadHeader()
		require.NoError(t, err)
		require.False(t, h.IsCommand(), "message frame")
		require.NoError(t, rd.ReadFrameInto(m, h))
		flags = append(flags, h.Flags)
		if !h.More() {
			break
		}
	}
	_, err := rd.ReadHeader()
	assert.ErrorIs(t, err, io.EOF, "nothing after the message")

	require.Equal(t, 3, m.Len())
	assert.Equal(t, []byte{FlagMore, FlagMore, FlagLong}, flags)
	assert.Empty(t, m.Frames[0], "empty delimiter frame")
	assert.Equal(t, "hello", string(m.Frames[1]))
	assert.Equal(t, strings.Repeat("x", 300), string(m.Frames[2]))

	assert.Equal(t, gold, AppendMessage(nil, goldenMessage), "our encoding of the same message")
}

// TestGoldenHandshakeReplay plays libzmq's captured bytes to Handshake as
// ROUTER over net.Pipe, and checks both what Handshake makes of them and the
// greeting and READY it sends back. For the DEALER it then decodes the
// captured message from the session's Reader.
func TestGoldenHandshakeReplay(t *testing.T) {
	for _, gs := range goldenSockets {
		t.Run(gs.name, func(t *testing.T) {
			in := append(readGolden(t, gs.name+".greeting"), readGolden(t, gs.name+".ready")...)
			if gs.name == "dealer" {
				in = append(in, readGolden(t, "dealer.message")...)
			}
			local := &Config{SocketType: ROUTER, Timeout: 5 * time.Second, MaxSize: -1}
			want := Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}.Append(nil)
			want = AppendCommand(want, &Ready{Metadata: local.LocalMetadata()})

			ours, theirs := net.Pipe()
			defer func() { _ = ours.Close() }()
			defer func() { _ = theirs.Close() }()
			require.NoError(t, theirs.SetDeadline(time.Now().Add(5*time.Second)))

			type result struct {
				s   *Session
				err error
			}
			done := make(chan result, 1)
			go func() {
				s, err := Handshake(ours, local)
				done <- result{s, err}
			}()
			wrote := make(chan error, 1)
			go func() {
				_, err := theirs.Write(in)
				wrote <- err
			}()

			got := make([]byte, len(want))
			_, err := io.ReadFull(theirs, got)
			require.NoError(t, err, "read our greeting and READY")
			assert.Equal(t, want, got)

			res := <-done
			require.NoError(t, res.err)
			s := res.s
			assert.Equal(t, Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}, s.Greeting)
			assert.Equal(t, gs.typ, s.SocketType)
			assert.Equal(t, gs.identity, string(s.Identity))
			assert.Len(t, s.Metadata, 2)

			if gs.name == "dealer" {
				m := wire.Get()
				defer m.Release()
				for {
					h, err := s.Reader.ReadHeader()
					require.NoError(t, err)
					require.NoError(t, s.Reader.ReadFrameInto(m, h))
					if !h.More() {
						break
					}
				}
				require.Equal(t, len(goldenMessage), m.Len())
				for i, f := range goldenMessage {
					assert.Equal(t, string(f), string(m.Frames[i]), "frame %d", i)
				}
			}
			// The replaying writer finishes once everything it wrote has
			// been read, or fails when the pipe closes.
			_ = ours.Close()
			if err := <-wrote; err != nil {
				assert.True(t, errors.Is(err, io.ErrClosedPipe), "replay write: %v", err)
			}
		})
	}
}
