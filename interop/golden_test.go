package interop

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/zmtp"
)

// goldenDir holds the libzmq captures that the pure-Go zmtp tests compare
// against (testdata/libzmq/README.md).
const goldenDir = "../testdata/libzmq"

// TestGoldenCapturesMatchLibzmq checks that the captures in testdata are
// still what the installed libzmq sends: a libzmq socket connects to a raw
// listener running zmtp.Handshake as a ROUTER, and every byte read from it
// (greeting, READY and, for the DEALER, one message) must equal the files.
// If libzmq changed its wire output, the pure-Go golden tests would be
// checking against history; this test says so.
func TestGoldenCapturesMatchLibzmq(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		typ      zmq.Type
		identity string
		message  [][]byte
	}{
		{name: "dealer", typ: zmq.DEALER, message: [][]byte{{}, []byte("hello"), bytes.Repeat([]byte{'x'}, 300)}},
		{name: "dealer-identity", typ: zmq.DEALER, identity: "worker-1"},
		{name: "req", typ: zmq.REQ},
		{name: "router", typ: zmq.ROUTER},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			read := func(ext string) []byte {
				b, err := os.ReadFile(filepath.Join(goldenDir, tc.name+ext))
				require.NoError(t, err)
				return b
			}
			want := append(read(".greeting"), read(".ready")...)
			if tc.message != nil {
				want = append(want, read(".message")...)
			}

			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			t.Cleanup(func() { _ = ln.Close() })

			zctx := newContext(t)
			s := newSocket(t, zctx, tc.typ)
			if tc.identity != "" {
				require.NoError(t, s.SetIdentity(tc.identity))
			}
			require.NoError(t, s.Connect("tcp://"+ln.Addr().String()))

			c, err := ln.Accept()
			require.NoError(t, err)
			rc := &recordConn{Conn: c}
			t.Cleanup(func() { _ = rc.Close() })
			sess, err := zmtp.Handshake(rc, routerConfig())
			require.NoError(t, err)

			if tc.message != nil {
				zmqSend(t, s, tc.message...)
				got := readMessage(t, rc, sess.Reader)
				assert.Equal(t, strs(tc.message), strs(got))
			}
			got := rc.bytesRead()
			require.Len(t, got, len(want), "bytes libzmq sent")
			assert.Equal(t, want[:zmtp.GreetingSize], got[:zmtp.GreetingSize], "greeting")
			assert.Equal(t, want[zmtp.GreetingSize:], got[zmtp.GreetingSize:], "READY (and message)")
		})
	}
}
