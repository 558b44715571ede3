package interop

import (
	"bytes"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ioTimeout bounds every blocking libzmq call in the tests.
const ioTimeout = 5 * time.Second

// newContext returns a fresh libzmq context that is terminated when the test
// ends. Sockets made with newSocket are closed before that (t.Cleanup runs in
// reverse order), so Term does not block.
func newContext(t testing.TB) *zmq.Context {
	t.Helper()
	ctx, err := zmq.NewContext()
	require.NoError(t, err, "libzmq context (is libzmq installed and linked?)")
	t.Cleanup(func() {
		assert.NoError(t, ctx.Term(), "terminate libzmq context")
	})
	return ctx
}

// newSocket returns a libzmq socket with linger 0 and send and receive
// timeouts of ioTimeout, closed when the test ends.
func newSocket(t testing.TB, ctx *zmq.Context, typ zmq.Type) *zmq.Socket {
	t.Helper()
	s, err := ctx.NewSocket(typ)
	require.NoError(t, err, "new %v socket", typ)
	t.Cleanup(func() {
		assert.NoError(t, s.Close(), "close %v socket", typ)
	})
	require.NoError(t, s.SetLinger(0))
	require.NoError(t, s.SetRcvtimeo(ioTimeout))
	require.NoError(t, s.SetSndtimeo(ioTimeout))
	return s
}

// TestLibzmqAvailable proves that the cgo build against libzmq works: a
// libzmq DEALER sends one 3-frame message to a libzmq ROUTER over TCP, and
// the ROUTER receives it prefixed with the DEALER's routing id. It fails,
// never skips, when libzmq cannot be used.
func TestLibzmqAvailable(t *testing.T) {
	major, minor, patch := zmq.Version()
	t.Logf("libzmq %d.%d.%d", major, minor, patch)
	require.Equal(t, 4, major, "libzmq major version")

	payload := [][]byte{{}, []byte("hello"), bytes.Repeat([]byte{'x'}, 300)}

	tests := []struct {
		name      string
		routingID string
	}{
		{name: "generated-id"},
		{name: "routing-id", routingID: "worker-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := newContext(t)
			router := newSocket(t, ctx, zmq.ROUTER)
			require.NoError(t, router.Bind("tcp://127.0.0.1:*"))
			endpoint, err := router.GetLastEndpoint()
			require.NoError(t, err)
			require.Regexp(t, `^tcp://127\.0\.0\.1:\d+$`, endpoint)

			dealer := newSocket(t, ctx, zmq.DEALER)
			if tc.routingID != "" {
				// ZMQ_IDENTITY is the old name of ZMQ_ROUTING_ID.
				require.NoError(t, dealer.SetIdentity(tc.routingID))
			}
			require.NoError(t, dealer.Connect(endpoint))

			_, err = dealer.SendMessage(payload)
			require.NoError(t, err, "dealer send")

			got, err := router.RecvMessageBytes(0)
			require.NoError(t, err, "router receive")
			require.Len(t, got, 1+len(payload), "routing id plus payload frames")

			id := got[0]
			if tc.routingID != "" {
				assert.Equal(t, []byte(tc.routingID), id)
			} else {
				// libzmq generates a 5-byte id whose first byte is 0.
				require.Len(t, id, 5)
				assert.Equal(t, byte(0), id[0])
			}
			for i, want := range payload {
				assert.Equal(t, want, got[1+i], "frame %d", i)
			}
		})
	}
}
