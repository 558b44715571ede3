//go:build linux

package interop

import (
	"fmt"
	"net"
	"strings"
	"testing"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loopbackName returns the name of the loopback interface.
func loopbackName(t *testing.T) string {
	t.Helper()
	ifs, err := net.Interfaces()
	require.NoError(t, err)
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagLoopback != 0 {
			return ifi.Name
		}
	}
	t.Skip("no loopback interface")
	return ""
}

// freeTCPPort returns a loopback port that was free a moment ago.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestTCPInterfaceBind: tcp://IFACE:* binds the interface's IPv4 address
// in zrouter as in libzmq, and both report it the same way.
func TestTCPInterfaceBind(t *testing.T) {
	t.Parallel()
	lo := loopbackName(t)
	r := newUnboundRouter(t)
	require.NoError(t, r.Bind("tcp://"+lo+":*"))
	zctx := newContext(t)
	lz := newSocket(t, zctx, zmq.ROUTER)
	require.NoError(t, lz.Bind("tcp://"+lo+":*"))
	last, err := lz.GetLastEndpoint()
	require.NoError(t, err)
	assert.Regexp(t, `^tcp://127\.0\.0\.1:\d+$`, last)
	assert.Regexp(t, `^tcp://127\.0\.0\.1:\d+$`, r.Addr())
	startEcho(t, r, nil)
	d := newSocket(t, zctx, zmq.DEALER)
	require.NoError(t, d.Connect(r.Addr()))
	zmqSend(t, d, []byte("via "+lo))
	assert.Equal(t, []string{"via " + lo}, strs(zmqRecv(t, d)))
}

// TestTCPSourceAddress: tcp://SOURCE;HOST:PORT makes the connection from
// SOURCE, for a libzmq DEALER connecting to zrouter and for a zrouter
// DEALER connecting to libzmq, with the same spelling: the peer sees the
// port asked for.
func TestTCPSourceAddress(t *testing.T) {
	t.Parallel()
	zctx := newContext(t)

	// libzmq's source, seen by zrouter.
	r := newRouter(t)
	startEcho(t, r, nil)
	port := freeTCPPort(t)
	d := newSocket(t, zctx, zmq.DEALER)
	require.NoError(t, d.Connect(fmt.Sprintf("tcp://127.0.0.1:%d;%s", port, strings.TrimPrefix(r.Addr(), "tcp://"))))
	zmqSend(t, d, []byte("from a source"))
	assert.Equal(t, []string{"from a source"}, strs(zmqRecv(t, d)))
	peers := r.Peers()
	require.Len(t, peers, 1)
	assert.Equal(t, fmt.Sprintf("127.0.0.1:%d", port), peers[0].Remote)

	// zrouter's source, from the loopback interface by name, taken by
	// libzmq (the port itself is checked in package transport).
	lz := newSocket(t, zctx, zmq.ROUTER)
	require.NoError(t, lz.Bind("tcp://127.0.0.1:*"))
	ep, err := lz.GetLastEndpoint()
	require.NoError(t, err)
	zd := dealerNew(t)
	require.NoError(t, zd.Connect(fmt.Sprintf("tcp://%s:%d;%s", loopbackName(t), freeTCPPort(t), strings.TrimPrefix(ep, "tcp://"))))
	dealerSend(t, zd, "hello")
	got, props, err := lz.RecvMessageWithMetadata(0, "Peer-Address")
	require.NoError(t, err)
	assert.Equal(t, "hello", got[1])
	assert.Equal(t, "127.0.0.1", props["Peer-Address"])
}
