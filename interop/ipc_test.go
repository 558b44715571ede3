//go:build linux

package interop

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/interop/internal/zmqc"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
)

// ipcRouter returns a zrouter ROUTER that echoes, bound to a fresh ipc
// path (or to endpoint when given).
func ipcRouter(t *testing.T, endpoint string, opts ...socket.Option) *router.Router {
	t.Helper()
	if endpoint == "" {
		endpoint = testutil.Endpoint(t, "ipc")
	}
	r := newUnboundRouter(t, opts...)
	require.NoError(t, r.Bind(endpoint))
	require.Equal(t, endpoint, r.Addr())
	startEcho(t, r, nil)
	return r
}

// ipcPeerAddress is libzmq's Peer-Address of an ipc peer in this process.
func ipcPeerAddress() string {
	return fmt.Sprintf("localhost:%d:%d:%d", os.Getuid(), os.Getgid(), os.Getpid())
}

// TestIPCLibzmqDealer: a libzmq DEALER over ipc against a zrouter ROUTER,
// with multipart messages, frames of 1 MiB and more, and pipelining: many
// sent before the first reply is read, the replies in order.
func TestIPCLibzmqDealer(t *testing.T) {
	t.Parallel()
	r := ipcRouter(t, "")
	zctx := newContext(t)
	d := newSocket(t, zctx, zmq.DEALER)
	require.NoError(t, d.Connect(r.Addr()))

	big := bytes.Repeat([]byte("z"), 1<<20)
	huge := bytes.Repeat([]byte("h"), 3<<20+17)
	for _, msg := range [][][]byte{
		bs("hello"),
		bs("", "a", "", "b"),
		{big},
		{[]byte("head"), huge, {}, big},
	} {
		zmqSend(t, d, msg...)
		assert.Equal(t, msg, zmqRecv(t, d))
	}
	const n = 500
	for i := range n {
		zmqSend(t, d, []byte(strconv.Itoa(i)), bytes.Repeat([]byte{byte(i)}, i))
	}
	for i := range n {
		got := zmqRecv(t, d)
		require.Len(t, got, 2)
		require.Equal(t, strconv.Itoa(i), string(got[0]), "order kept")
		require.Len(t, got[1], i)
	}
}

// TestIPCLibzmqREQ: a libzmq REQ over ipc against a zrouter ROUTER, which
// sees the envelope and the peer's credentials as libzmq reports them.
func TestIPCLibzmqREQ(t *testing.T) {
	t.Parallel()
	r := newUnboundRouter(t)
	require.NoError(t, r.Bind(testutil.Endpoint(t, "ipc")))
	zctx := newContext(t)
	req := newSocket(t, zctx, zmq.REQ)
	require.NoError(t, req.Connect(r.Addr()))
	for i := range 50 {
		zmqSend(t, req, []byte("q"+strconv.Itoa(i)))
		m, err := r.Recv(testutil.Context(t, ioTimeout))
		require.NoError(t, err)
		require.Len(t, m.Frames, 3, "[id, delimiter, payload]")
		assert.Empty(t, m.Frames[1])
		addr, ok := r.Property(m, "Peer-Address")
		assert.True(t, ok)
		assert.Equal(t, ipcPeerAddress(), addr)
		require.NoError(t, r.Send(testutil.Context(t, ioTimeout), m))
		assert.Equal(t, []string{"q" + strconv.Itoa(i)}, strs(zmqRecv(t, req)))
	}
}

// TestIPCLibzmqRouter: a libzmq ROUTER connects over ipc to a zrouter
// ROUTER, each knowing the other's routing id, and they talk both ways.
func TestIPCLibzmqRouter(t *testing.T) {
	t.Parallel()
	r := ipcRouter(t, "", socket.WithRoutingID([]byte("zr")))
	zctx := newContext(t)
	lz := newSocket(t, zctx, zmq.ROUTER)
	require.NoError(t, lz.SetIdentity("lz"))
	require.NoError(t, lz.SetRouterMandatory(1))
	require.NoError(t, lz.Connect(r.Addr()))
	// Until the handshake is done, libzmq has no peer "zr".
	testutil.CheckFor(t, ioTimeout, func() bool {
		_, err := lz.SendMessage("zr", "ping")
		return err == nil
	}, "libzmq ROUTER reaches zrouter")
	assert.Equal(t, []string{"zr", "ping"}, strs(zmqRecv(t, lz)))
	for i := range 20 {
		zmqSend(t, lz, []byte("zr"), []byte("m"), []byte(strconv.Itoa(i)))
		assert.Equal(t, []string{"zr", "m", strconv.Itoa(i)}, strs(zmqRecv(t, lz)))
	}
}

// TestIPCFiftyClients: 50 libzmq DEALERs at once over one ipc endpoint,
// each getting back exactly its own messages, in order.
func TestIPCFiftyClients(t *testing.T) {
	t.Parallel()
	r := ipcRouter(t, "")
	zctx := newContext(t)
	const clients, perClient = 50, 40
	socks := make([]*zmq.Socket, clients)
	for i := range socks {
		socks[i] = newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, socks[i].Connect(r.Addr()))
	}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i, s := range socks {
		wg.Go(func() {
			for j := range perClient {
				if _, err := s.SendMessage(frameTag(i, j)); err != nil {
					errs <- err
					return
				}
			}
			for j := range perClient {
				got, err := s.RecvMessage(0)
				if err != nil {
					errs <- err
					return
				}
				if len(got) != 1 || got[0] != frameTag(i, j) {
					errs <- fmt.Errorf("client %d message %d: %q", i, j, got)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assert.EqualValues(t, clients*perClient, r.Stats().MsgsIn)
}

// TestIPCDealerToLibzmqRouter: a zrouter DEALER connects over ipc to a
// libzmq ROUTER, which sees the DEALER's routing id and its credentials.
func TestIPCDealerToLibzmqRouter(t *testing.T) {
	t.Parallel()
	ep := testutil.Endpoint(t, "ipc")
	zctx := newContext(t)
	lz := newSocket(t, zctx, zmq.ROUTER)
	require.NoError(t, lz.Bind(ep))
	d := dealerNew(t, socket.WithRoutingID([]byte("zd")))
	require.NoError(t, d.Connect(ep))
	big := strings.Repeat("b", 2<<20)
	for i := range 30 {
		dealerSend(t, d, "", strconv.Itoa(i), big[:i*1000])
	}
	for i := range 30 {
		msg, props, err := lz.RecvMessageWithMetadata(0, "Peer-Address")
		require.NoError(t, err)
		require.Equal(t, []string{"zd", "", strconv.Itoa(i), big[:i*1000]}, msg)
		assert.Equal(t, ipcPeerAddress(), props["Peer-Address"])
		_, err = lz.SendMessage(msg)
		require.NoError(t, err)
	}
	for i := range 30 {
		assert.Equal(t, []string{"", strconv.Itoa(i), big[:i*1000]}, dealerRecv(t, d))
	}
	dealerSend(t, d, big+big)
	got, err := lz.RecvMessage(0)
	require.NoError(t, err)
	assert.Equal(t, []string{"zd", big + big}, got)
}

// TestIPCAbstract: the Linux abstract namespace both ways.
func TestIPCAbstract(t *testing.T) {
	t.Parallel()
	name := func() string { return fmt.Sprintf("ipc://@zrouter-interop-%d-%x", os.Getpid(), rand.Uint64()) }
	zctx := newContext(t)

	r := ipcRouter(t, name())
	d := newSocket(t, zctx, zmq.DEALER)
	require.NoError(t, d.Connect(r.Addr()))
	zmqSend(t, d, []byte("abstract"), []byte("x"))
	assert.Equal(t, []string{"abstract", "x"}, strs(zmqRecv(t, d)))

	ep := name()
	lz := newSocket(t, zctx, zmq.ROUTER)
	require.NoError(t, lz.Bind(ep))
	last, err := lz.GetLastEndpoint()
	require.NoError(t, err)
	assert.Equal(t, ep, last, "libzmq writes it as zrouter does")
	zd := dealerNew(t)
	require.NoError(t, zd.Connect(ep))
	dealerSend(t, zd, "to-libzmq")
	got, err := lz.RecvMessage(0)
	require.NoError(t, err)
	assert.Equal(t, "to-libzmq", got[1])
}

// TestIPCRestartAfterCrash: a socket file left behind, by a libzmq ROUTER
// (libzmq 4.3.4 does not remove its file at close) and by a listener whose
// process died without cleaning up, does not stop a zrouter ROUTER from
// binding the path again; libzmq clients then reach it there.
func TestIPCRestartAfterCrash(t *testing.T) {
	t.Parallel()
	zctx := newContext(t)
	for _, leave := range []struct {
		name string
		make func(t *testing.T, ep string)
	}{
		{"libzmq closed", func(t *testing.T, ep string) {
			s, err := zctx.NewSocket(zmq.ROUTER)
			require.NoError(t, err)
			require.NoError(t, s.Bind(ep))
			require.NoError(t, s.Close())
			// libzmq closes the listener in its I/O thread, a moment
			// after zmq_close.
			testutil.CheckFor(t, ioTimeout, func() bool {
				c, err := net.Dial("unix", strings.TrimPrefix(ep, "ipc://"))
				if err == nil {
					c.Close()
				}
				return errors.Is(err, syscall.ECONNREFUSED)
			}, "libzmq's listener gone")
		}},
		{"process died", func(t *testing.T, ep string) {
			// A zrouter ROUTER in this process stands for the one that
			// ran before; its listener goes without its file, as when
			// the process is killed.
			leaveStaleSocket(t, strings.TrimPrefix(ep, "ipc://"))
		}},
	} {
		t.Run(leave.name, func(t *testing.T) {
			ep := testutil.Endpoint(t, "ipc")
			leave.make(t, ep)
			fi, err := os.Lstat(strings.TrimPrefix(ep, "ipc://"))
			require.NoError(t, err, "the stale file is there")
			require.Equal(t, fs.ModeSocket, fi.Mode().Type())
			r := ipcRouter(t, ep)
			d := newSocket(t, zctx, zmq.DEALER)
			require.NoError(t, d.Connect(r.Addr()))
			zmqSend(t, d, []byte("after restart"))
			assert.Equal(t, []string{"after restart"}, strs(zmqRecv(t, d)))
		})
	}
}

// TestIPCLiveListenerKeepsItsPath: while a libzmq ROUTER listens on a
// path, a zrouter Bind there fails with "address in use" (libzmq's own
// bind would unlink the file and take the path), and the libzmq ROUTER
// goes on serving its clients.
func TestIPCLiveListenerKeepsItsPath(t *testing.T) {
	t.Parallel()
	ep := testutil.Endpoint(t, "ipc")
	zctx := newContext(t)
	lz := newSocket(t, zctx, zmq.ROUTER)
	require.NoError(t, lz.Bind(ep))

	r := newUnboundRouter(t)
	err := r.Bind(ep)
	require.ErrorIs(t, err, syscall.EADDRINUSE)
	assert.False(t, errors.Is(err, socket.ErrBadEndpoint))

	// libzmq saw our probe come and go; its path and its clients are
	// untouched.
	d := newSocket(t, zctx, zmq.DEALER)
	require.NoError(t, d.SetIdentity("c"))
	require.NoError(t, d.Connect(ep))
	zmqSend(t, d, []byte("still libzmq's"))
	got, err := lz.RecvMessage(0)
	require.NoError(t, err)
	assert.Equal(t, []string{"c", "still libzmq's"}, got)
}

// TestIPCFilteredLibzmqClient: a libzmq DEALER that the IPC filters
// refuse is closed before its handshake: libzmq retries, each attempt is
// an accept failure on the zrouter side, and no message gets through.
func TestIPCFilteredLibzmqClient(t *testing.T) {
	t.Parallel()
	r := newUnboundRouter(t, socket.WithIPCFilter(socket.IPCFilter{UIDs: []int{1<<30 + 7}}))
	mon := r.Monitor(64)
	require.NoError(t, r.Bind(testutil.Endpoint(t, "ipc")))
	zctx := newContext(t)
	d := newSocket(t, zctx, zmq.DEALER)
	require.NoError(t, d.SetReconnectIvl(10*time.Millisecond))
	require.NoError(t, d.Connect(r.Addr()))
	_, err := d.SendMessage("never")
	require.NoError(t, err, "queued by libzmq")
	testutil.CheckFor(t, ioTimeout, func() bool { return r.Stats().RefusedFiltered >= 2 }, "libzmq retried and was refused again")
	s := r.Stats()
	assert.Zero(t, s.Connected)
	assert.Zero(t, s.MsgsIn)
	for ev := range mon.C {
		require.NotEqual(t, socket.EventAccepted, ev.Kind)
		if ev.Kind == socket.EventAcceptFailed {
			assert.ErrorIs(t, ev.Err, socket.ErrPeerFiltered)
			break
		}
	}
}

// leaveStaleSocket leaves at path the socket file of a listener that is
// gone, as a process that was killed leaves it: bound and listened on,
// then closed without the unlink a clean exit does.
func leaveStaleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	require.NoError(t, err)
	ln.SetUnlinkOnClose(false)
	require.NoError(t, ln.Close())
}

// TestIPCFilterAsLibzmq: what libzmq's own ipc listener does with
// ZMQ_IPC_FILTER_UID, which zrouter's WithIPCFilter follows: a peer of
// another user is closed as it is accepted, reported as
// ZMQ_EVENT_ACCEPT_FAILED and never as accepted; one of a listed user is
// accepted.
func TestIPCFilterAsLibzmq(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		uid  int
		want int
	}{
		{"other user", 1<<30 + 7, zmqc.EventAcceptFailed},
		{"this user", os.Getuid(), zmqc.EventAccepted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			zc, err := zmqc.NewContext()
			require.NoError(t, err)
			defer func() { assert.NoError(t, zc.Term()) }()
			lz, err := zc.Socket(zmqc.ROUTER)
			require.NoError(t, err)
			defer lz.Close()
			require.NoError(t, lz.SetInt(zmqc.Linger, 0))
			require.NoError(t, lz.SetInt(zmqc.IPCFilterUID, tc.uid))
			mon := fmt.Sprintf("inproc://ipc-filter-%x", rand.Uint64())
			require.NoError(t, lz.Monitor(mon, zmqc.EventAccepted|zmqc.EventAcceptFailed))
			watch, err := zc.Socket(zmqc.PAIR)
			require.NoError(t, err)
			defer watch.Close()
			require.NoError(t, watch.SetInt(zmqc.Linger, 0))
			require.NoError(t, watch.SetTimeouts(ioTimeout))
			require.NoError(t, watch.Connect(mon))
			ep, err := lz.Bind(testutil.Endpoint(t, "ipc"))
			require.NoError(t, err)

			d := newSocket(t, newContext(t), zmq.DEALER)
			require.NoError(t, d.Connect(ep))
			ev, _, err := zmqc.ReadEvent(watch)
			require.NoError(t, err)
			assert.Equal(t, tc.want, ev)
		})
	}
}
