package interop

import (
	"net"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/zmtp"
)

// routerConfig is the raw side of the handshake tests: zmtp as a ROUTER.
func routerConfig() *zmtp.Config {
	return &zmtp.Config{SocketType: zmtp.ROUTER, Timeout: ioTimeout, MaxSize: -1}
}

// TestHandshakeLibzmqConnects makes libzmq DEALER, REQ and ROUTER sockets
// connect to a raw listener that runs zmtp.Handshake as a ROUTER. Each
// handshake must succeed with the peer's socket type and routing id, and a
// message must then cross both ways on the bare connection.
func TestHandshakeLibzmqConnects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		typ      zmq.Type
		wantType zmtp.SocketType
		identity string
	}{
		{name: "dealer", typ: zmq.DEALER, wantType: zmtp.DEALER},
		{name: "dealer-identity", typ: zmq.DEALER, wantType: zmtp.DEALER, identity: "worker-7"},
		{name: "req", typ: zmq.REQ, wantType: zmtp.REQ},
		{name: "req-identity", typ: zmq.REQ, wantType: zmtp.REQ, identity: "client-1"},
		{name: "router", typ: zmq.ROUTER, wantType: zmtp.ROUTER, identity: "lz-router"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			endpoint, result := acceptHandshake(t, routerConfig())
			zctx := newContext(t)
			s := newSocket(t, zctx, tc.typ)
			if tc.identity != "" {
				require.NoError(t, s.SetIdentity(tc.identity))
			}
			// A libzmq ROUTER names the peer of its next connect with
			// this id, so that it can address us.
			const rawID = "raw"
			if tc.typ == zmq.ROUTER {
				require.NoError(t, s.SetConnectRid(rawID))
				require.NoError(t, s.SetRouterMandatory(1))
			}
			require.NoError(t, s.Connect(endpoint))

			res := waitHandshake(t, result)
			require.NoError(t, res.err, "handshake with libzmq %v", tc.typ)
			sess := res.sess
			assert.Equal(t, byte(3), sess.Greeting.Major, "ZMTP major version")
			assert.Equal(t, byte(1), sess.Greeting.Minor, "libzmq 4.3 speaks ZMTP 3.1")
			assert.Equal(t, "NULL", sess.Greeting.Mechanism)
			assert.False(t, sess.Greeting.AsServer)
			assert.Equal(t, tc.wantType, sess.SocketType)
			assert.Equal(t, tc.identity, string(sess.Identity), "Identity property")
			st, ok := sess.Metadata.Get(zmtp.PropSocketType)
			require.True(t, ok)
			assert.Equal(t, string(tc.wantType), string(st))

			// libzmq to us: the REQ adds the empty delimiter itself.
			switch tc.typ {
			case zmq.REQ:
				zmqSend(t, s, []byte("ping"))
			case zmq.DEALER:
				zmqSend(t, s, []byte{}, []byte("ping"))
			case zmq.ROUTER:
				// Until libzmq has finished its side of the
				// handshake the id is unknown to it.
				testutil.CheckFor(t, waitLimit, func() bool {
					_, err := s.SendMessage(rawID, "", "ping")
					if err != nil {
						require.True(t, isErrno(err, zmq.EHOSTUNREACH), "libzmq send: %v", err)
					}
					return err == nil
				}, "libzmq ROUTER never got a route to us")
			}
			got := readMessage(t, res.conn, sess.Reader)
			assert.Equal(t, []string{"", "ping"}, strs(got), "message from libzmq %v", tc.typ)

			// Us to libzmq, encoded by zmtp, written in one go.
			_, err := res.conn.Write(zmtp.AppendMessage(nil, bs("", "pong")))
			require.NoError(t, err)
			reply := zmqRecv(t, s)
			switch tc.typ {
			case zmq.REQ:
				assert.Equal(t, []string{"pong"}, strs(reply), "REQ strips the delimiter")
			case zmq.DEALER:
				assert.Equal(t, []string{"", "pong"}, strs(reply))
			case zmq.ROUTER:
				assert.Equal(t, []string{rawID, "", "pong"}, strs(reply))
			}
		})
	}
}

// TestHandshakeDialLibzmqRouter is the other direction: a libzmq ROUTER
// binds, and a raw connection runs zmtp.Handshake as a DEALER with routing
// id "abc". libzmq must see our messages as coming from "abc", and what it
// sends to "abc" must reach us.
func TestHandshakeDialLibzmqRouter(t *testing.T) {
	t.Parallel()
	zctx := newContext(t)
	lz := newSocket(t, zctx, zmq.ROUTER)
	require.NoError(t, lz.Bind("tcp://127.0.0.1:*"))
	endpoint, err := lz.GetLastEndpoint()
	require.NoError(t, err)

	conn, err := net.DialTimeout("tcp", tcpAddr(t, endpoint), ioTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	sess, err := zmtp.Handshake(conn, &zmtp.Config{
		SocketType: zmtp.DEALER,
		Identity:   []byte("abc"),
		Timeout:    ioTimeout,
		MaxSize:    -1,
	})
	require.NoError(t, err, "handshake with a libzmq ROUTER")
	assert.Equal(t, byte(3), sess.Greeting.Major)
	assert.Equal(t, zmtp.ROUTER, sess.SocketType)
	id, ok := sess.Metadata.Get(zmtp.PropIdentity)
	assert.True(t, ok, "libzmq sends Identity even when it has none")
	assert.Empty(t, id)

	_, err = conn.Write(zmtp.AppendMessage(nil, bs("", "hello", "")))
	require.NoError(t, err)
	got := zmqRecv(t, lz)
	assert.Equal(t, []string{"abc", "", "hello", ""}, strs(got), "libzmq routes by our Identity")

	zmqSend(t, lz, bs("abc", "", "world")...)
	assert.Equal(t, []string{"", "world"}, strs(readMessage(t, conn, sess.Reader)))
}

// TestHandshakeRefusesIncompatiblePeer makes a libzmq PUB connect to the
// raw ROUTER handshake: the handshake must fail with *zmtp.SocketTypeError
// naming both types.
func TestHandshakeRefusesIncompatiblePeer(t *testing.T) {
	t.Parallel()
	endpoint, result := acceptHandshake(t, routerConfig())
	zctx := newContext(t)
	pub := newSocket(t, zctx, zmq.PUB)
	// One attempt is enough; do not keep knocking after the refusal.
	require.NoError(t, pub.SetReconnectIvl(time.Duration(-1)))
	require.NoError(t, pub.Connect(endpoint))

	res := waitHandshake(t, result)
	require.Error(t, res.err)
	ste, ok := errAs[*zmtp.SocketTypeError](res.err)
	require.True(t, ok, "want *zmtp.SocketTypeError, got %T: %v", res.err, res.err)
	assert.Equal(t, zmtp.ROUTER, ste.Local)
	assert.Equal(t, zmtp.PUB, ste.Remote)
	assert.Nil(t, res.sess)
}
