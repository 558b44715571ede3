//go:build linux

package interop

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// Transport options against libzmq 4.3: TCP keepalive, high-water marks
// changed on a live socket, heartbeat options, endpoint validation,
// wildcard binds and unbinds, and WaitPeers. Each test runs the scenario
// with libzmq first and then asserts that zrouter does the same.
//
// The file is Linux only: it finds the TCP sockets of the connections
// under test through /proc/self/fd and reads their options with
// getsockopt.

// ---------------------------------------------------------------------------
// Helpers (prefixed otr: options, transport).

// otrTCPSocket is one TCP socket of this process.
type otrTCPSocket struct {
	fd            int
	local, remote netip.AddrPort
}

// otrSockaddr converts a socket address to an AddrPort; ok is false for
// anything but IPv4 and IPv6.
func otrSockaddr(sa syscall.Sockaddr) (netip.AddrPort, bool) {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)), true
	case *syscall.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port)), true
	}
	return netip.AddrPort{}, false
}

// otrConnectedTCP lists the connected TCP sockets of this process: zrouter's
// and libzmq's alike live here. Every descriptor of /proc/self/fd that is a
// socket is asked for its type and its two addresses; listening sockets
// have no peer and are left out.
func otrConnectedTCP(t *testing.T) []otrTCPSocket {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	var out []otrTCPSocket
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		link, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		if typ, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TYPE); err != nil || typ != syscall.SOCK_STREAM {
			continue
		}
		lsa, err := syscall.Getsockname(fd)
		if err != nil {
			continue
		}
		rsa, err := syscall.Getpeername(fd)
		if err != nil {
			continue
		}
		local, ok1 := otrSockaddr(lsa)
		remote, ok2 := otrSockaddr(rsa)
		if ok1 && ok2 {
			out = append(out, otrTCPSocket{fd: fd, local: local, remote: remote})
		}
	}
	return out
}

// otrConnFDs returns the descriptors of both ends of the one TCP
// connection to the listener at server: the connecting end (remote ==
// server) and the accepted end (local == server, remote == the connecting
// end). Both ends must be sockets of this process, and there must be
// exactly one such connection.
func otrConnFDs(t *testing.T, server netip.AddrPort) (connected, accepted int) {
	t.Helper()
	socks := otrConnectedTCP(t)
	var conns []otrTCPSocket
	for _, s := range socks {
		if s.remote == server {
			conns = append(conns, s)
		}
	}
	require.Len(t, conns, 1, "one connection to %v in this process", server)
	var accs []otrTCPSocket
	for _, s := range socks {
		if s.local == server && s.remote == conns[0].local {
			accs = append(accs, s)
		}
	}
	require.Len(t, accs, 1, "one accepted socket for %v at %v", conns[0].local, server)
	return conns[0].fd, accs[0].fd
}

// otrEndpointAddr parses tcp://IP:PORT.
func otrEndpointAddr(t *testing.T, endpoint string) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(tcpAddr(t, endpoint))
	require.NoError(t, err, "endpoint %q", endpoint)
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// otrKeepalive is what getsockopt reports of a socket's TCP keepalive.
type otrKeepalive struct {
	On, Idle, Intvl, Cnt int // SO_KEEPALIVE, TCP_KEEPIDLE (s), TCP_KEEPINTVL (s), TCP_KEEPCNT
}

func otrReadKeepalive(t *testing.T, fd int) otrKeepalive {
	t.Helper()
	get := func(level, opt int) int {
		v, err := syscall.GetsockoptInt(fd, level, opt)
		require.NoError(t, err, "getsockopt(%d, %d, %d)", fd, level, opt)
		return v
	}
	return otrKeepalive{
		On:    get(syscall.SOL_SOCKET, syscall.SO_KEEPALIVE),
		Idle:  get(syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE),
		Intvl: get(syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL),
		Cnt:   get(syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT),
	}
}

// otrSysKeepalive returns the system's keepalive schedule, which a socket
// gets when nobody sets it (Linux: 7200 s, 75 s, 9 probes unless tuned).
func otrSysKeepalive(t *testing.T) otrKeepalive {
	t.Helper()
	read := func(name string) int {
		b, err := os.ReadFile("/proc/sys/net/ipv4/" + name)
		require.NoError(t, err)
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		require.NoError(t, err)
		return n
	}
	return otrKeepalive{Idle: read("tcp_keepalive_time"), Intvl: read("tcp_keepalive_intvl"), Cnt: read("tcp_keepalive_probes")}
}

// otrUnread returns the bytes waiting in c's kernel receive queue
// (FIONREAD), without reading them.
func otrUnread(t *testing.T, c net.Conn) int {
	t.Helper()
	raw, err := c.(syscall.Conn).SyscallConn()
	require.NoError(t, err)
	var n int32
	var serr error
	require.NoError(t, raw.Control(func(fd uintptr) {
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n))); e != 0 {
			serr = e
		}
	}))
	require.NoError(t, serr, "ioctl FIONREAD")
	return int(n)
}

// otrListen is acceptHandshake with the listener's SO_RCVBUF set to
// rcvbuf (0: the system's), which the accepted connection inherits and
// which stops the kernel from growing it.
func otrListen(t *testing.T, rcvbuf int, cfg *zmtp.Config) (endpoint string, result <-chan handshakeResult) {
	t.Helper()
	lc := net.ListenConfig{}
	if rcvbuf > 0 {
		lc.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	ln, err := lc.Listen(context.Background(), "tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	return acceptHandshakeOn(t, ln, cfg)
}

// otrDial connects a raw ZMTP DEALER to endpoint and runs the handshake.
// The connection is closed when the test ends.
func otrDial(t *testing.T, endpoint string) (net.Conn, *zmtp.Session) {
	t.Helper()
	c, err := net.DialTimeout("tcp", tcpAddr(t, endpoint), ioTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	sess, err := zmtp.Handshake(c, &zmtp.Config{SocketType: zmtp.DEALER, Timeout: ioTimeout, MaxSize: -1})
	require.NoError(t, err, "raw handshake with %s", endpoint)
	return c, sess
}

// otrReadCommand reads the next frame, which must be a command, and
// returns a copy of its body.
func otrReadCommand(t *testing.T, c net.Conn, rd *zmtp.Reader) []byte {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(ioTimeout)))
	h, err := rd.ReadHeader()
	require.NoError(t, err, "read frame header")
	require.True(t, h.IsCommand(), "a command frame (flags %#x, %d bytes)", h.Flags, h.Size)
	body, err := rd.ReadCommand(h)
	require.NoError(t, err)
	return bytes.Clone(body)
}

// otrZmqMonitor starts a libzmq monitor of all events on s and returns the
// PAIR socket that receives them; connected before s does anything, it
// misses nothing.
func otrZmqMonitor(t *testing.T, zctx *zmq.Context, s *zmq.Socket, name string) *zmq.Socket {
	t.Helper()
	addr := "inproc://otr-monitor-" + name
	require.NoError(t, s.Monitor(addr, zmq.EVENT_ALL))
	mon := newSocket(t, zctx, zmq.PAIR)
	require.NoError(t, mon.Connect(addr))
	return mon
}

// otrBig returns message i of the high-water-mark tests: 1 MiB, its index
// in the first 8 bytes and a filling that depends on it.
func otrBig(i int) []byte {
	b := bytes.Repeat([]byte{byte('a' + i%26)}, 1<<20)
	binary.BigEndian.PutUint64(b, uint64(i))
	return b
}

// otrHWMSender is one side of the SNDHWM scenario: a libzmq or a zrouter
// DEALER.
type otrHWMSender interface {
	// trySend sends b without waiting and reports whether it was taken;
	// false means refused at the high-water mark (EAGAIN, ErrWouldBlock).
	trySend(t *testing.T, b []byte) bool
	setHWM(t *testing.T, n int)
}

type otrZmqSender struct{ s *zmq.Socket }

func (z otrZmqSender) trySend(t *testing.T, b []byte) bool {
	t.Helper()
	_, err := z.s.SendBytes(b, zmq.DONTWAIT)
	if isErrno(err, zmq.Errno(syscall.EAGAIN)) {
		return false
	}
	require.NoError(t, err, "libzmq send")
	return true
}

func (z otrZmqSender) setHWM(t *testing.T, n int) {
	t.Helper()
	require.NoError(t, z.s.SetSndhwm(n))
	got, err := z.s.GetSndhwm()
	require.NoError(t, err)
	require.Equal(t, n, got, "ZMQ_SNDHWM reads back")
}

type otrDealerSender struct{ d *dealer.Dealer }

func (z otrDealerSender) trySend(t *testing.T, b []byte) bool {
	t.Helper()
	m := wire.Get()
	m.AppendRef(b)
	err := z.d.TrySend(m)
	if err != nil {
		m.Release()
		if errors.Is(err, socket.ErrWouldBlock) {
			return false
		}
		require.NoError(t, err, "zrouter TrySend")
	}
	return true
}

func (z otrDealerSender) setHWM(t *testing.T, n int) {
	t.Helper()
	require.NoError(t, z.d.SetSendHWM(n))
}

// ---------------------------------------------------------------------------
// 1. TCP keepalive (FACTS Q12).

// TestOptionTCPKeepalive: libzmq's ZMQ_TCP_KEEPALIVE defaults to -1, which
// touches nothing (on Linux SO_KEEPALIVE stays 0 and the schedule is the
// system's); 1 with _IDLE 30, _INTVL 5 and _CNT 4 sets SO_KEEPALIVE 1,
// TCP_KEEPIDLE 30, TCP_KEEPINTVL 5 and TCP_KEEPCNT 4; 0 sets SO_KEEPALIVE
// 0, and still applies whichever of _IDLE, _INTVL and _CNT are set. It
// applies to connected and accepted sockets alike. The test reads
// the options back with getsockopt from the real sockets, for a libzmq
// ROUTER (accepted side) and DEALER (connected side), and then for a
// zrouter ROUTER and DEALER given the matching socket.WithTCPKeepalive;
// each socket under test talks to a peer of the other library left at its
// defaults, so the two ends of each connection differ.
func TestOptionTCPKeepalive(t *testing.T) {
	t.Parallel()
	sys := otrSysKeepalive(t)
	tests := []struct {
		name   string
		zmq    func(t *testing.T, s *zmq.Socket)
		zr     []socket.Option
		want   otrKeepalive
		sysOff bool // want is the system's schedule, with SO_KEEPALIVE want.On
		// zrDiff marks a case where zrouter is known to differ from
		// libzmq: its assertions fail and say so.
		zrDiff string
	}{
		{
			name:   "default",
			zmq:    func(*testing.T, *zmq.Socket) {},
			want:   otrKeepalive{On: 0},
			sysOff: true,
		},
		{
			name: "enabled-30s-5s-4",
			zmq: func(t *testing.T, s *zmq.Socket) {
				require.NoError(t, s.SetTcpKeepalive(1))
				require.NoError(t, s.SetTcpKeepaliveIdle(30))
				require.NoError(t, s.SetTcpKeepaliveIntvl(5))
				require.NoError(t, s.SetTcpKeepaliveCnt(4))
			},
			zr:   []socket.Option{socket.WithTCPKeepalive(socket.TCPKeepalive{Enable: true, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 4})},
			want: otrKeepalive{On: 1, Idle: 30, Intvl: 5, Cnt: 4},
		},
		{
			name: "enabled-system-schedule",
			zmq: func(t *testing.T, s *zmq.Socket) {
				require.NoError(t, s.SetTcpKeepalive(1))
			},
			zr:     []socket.Option{socket.WithTCPKeepalive(socket.TCPKeepalive{Enable: true})},
			want:   otrKeepalive{On: 1},
			sysOff: true,
		},
		{
			name: "disabled",
			zmq: func(t *testing.T, s *zmq.Socket) {
				require.NoError(t, s.SetTcpKeepalive(0))
			},
			zr:     []socket.Option{socket.WithTCPKeepalive(socket.TCPKeepalive{Enable: false})},
			want:   otrKeepalive{On: 0},
			sysOff: true,
		},
		{
			// libzmq applies _IDLE, _INTVL and _CNT even with
			// ZMQ_TCP_KEEPALIVE 0 (FACTS Q12); nothing probes then.
			// DIFFERENCE: zrouter leaves the system's schedule when
			// Enable is false, so its subtest fails here.
			name: "disabled-with-schedule",
			zrDiff: "DIFFERENCE from libzmq: with Enable false zrouter does not apply Idle, Interval and Count; " +
				"libzmq applies them with ZMQ_TCP_KEEPALIVE 0",
			zmq: func(t *testing.T, s *zmq.Socket) {
				require.NoError(t, s.SetTcpKeepalive(0))
				require.NoError(t, s.SetTcpKeepaliveIdle(30))
				require.NoError(t, s.SetTcpKeepaliveIntvl(5))
				require.NoError(t, s.SetTcpKeepaliveCnt(4))
			},
			zr:   []socket.Option{socket.WithTCPKeepalive(socket.TCPKeepalive{Enable: false, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 4})},
			want: otrKeepalive{On: 0, Idle: 30, Intvl: 5, Cnt: 4},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := tc.want
			if tc.sysOff {
				want.Idle, want.Intvl, want.Cnt = sys.Idle, sys.Intvl, sys.Cnt
			}
			t.Run("libzmq", func(t *testing.T) {
				t.Parallel()
				zctx := newContext(t)
				// Accepted side: a libzmq ROUTER with the options, a
				// zrouter DEALER at its defaults.
				lr := newSocket(t, zctx, zmq.ROUTER)
				tc.zmq(t, lr)
				require.NoError(t, lr.Bind("tcp://127.0.0.1:*"))
				lrEP, err := lr.GetLastEndpoint()
				require.NoError(t, err)
				zd := dealerNew(t, socket.WithRoutingID([]byte("zd")))
				require.NoError(t, zd.Connect(lrEP))
				dealerSend(t, zd, "hello")
				assert.Equal(t, []string{"zd", "hello"}, strs(zmqRecv(t, lr)))
				_, accepted := otrConnFDs(t, otrEndpointAddr(t, lrEP))

				// Connected side: a libzmq DEALER with the options, a
				// zrouter ROUTER at its defaults.
				zr := newRouter(t)
				ld := newSocket(t, zctx, zmq.DEALER)
				tc.zmq(t, ld)
				require.NoError(t, ld.Connect(zr.Addr()))
				zmqSend(t, ld, []byte("hello"))
				assert.Equal(t, "hello", string(recvFrames(t, zr)[1]))
				connected, _ := otrConnFDs(t, otrEndpointAddr(t, zr.Addr()))

				assert.Equal(t, want, otrReadKeepalive(t, accepted), "libzmq ROUTER's accepted socket")
				assert.Equal(t, want, otrReadKeepalive(t, connected), "libzmq DEALER's connected socket")
			})
			t.Run("zrouter", func(t *testing.T) {
				t.Parallel()
				zctx := newContext(t)
				// Accepted side: a zrouter ROUTER with the options, a
				// libzmq DEALER at its defaults.
				zr := newRouter(t, tc.zr...)
				ld := newSocket(t, zctx, zmq.DEALER)
				require.NoError(t, ld.Connect(zr.Addr()))
				zmqSend(t, ld, []byte("hello"))
				assert.Equal(t, "hello", string(recvFrames(t, zr)[1]))
				_, accepted := otrConnFDs(t, otrEndpointAddr(t, zr.Addr()))

				// Connected side: a zrouter DEALER with the options, a
				// libzmq ROUTER at its defaults.
				lr := newSocket(t, zctx, zmq.ROUTER)
				require.NoError(t, lr.Bind("tcp://127.0.0.1:*"))
				lrEP, err := lr.GetLastEndpoint()
				require.NoError(t, err)
				zd := dealerNew(t, append([]socket.Option{socket.WithRoutingID([]byte("zd"))}, tc.zr...)...)
				require.NoError(t, zd.Connect(lrEP))
				dealerSend(t, zd, "hello")
				assert.Equal(t, []string{"zd", "hello"}, strs(zmqRecv(t, lr)))
				connected, _ := otrConnFDs(t, otrEndpointAddr(t, lrEP))

				assert.Equal(t, want, otrReadKeepalive(t, accepted), "zrouter ROUTER's accepted socket %s", tc.zrDiff)
				assert.Equal(t, want, otrReadKeepalive(t, connected), "zrouter DEALER's connected socket %s", tc.zrDiff)
			})
		})
	}
}

// ---------------------------------------------------------------------------
// 2. SNDHWM and RCVHWM on a live socket (FACTS Q7).

// TestOptionSendHWMLive: ZMQ_SNDHWM set on a live socket applies to its
// existing tcp pipes, raising and lowering, and lowering it drops nothing
// already accepted (libzmq's test_sockopt_hwm.cpp, which runs over inproc
// only; here over tcp). The libzmq and the zrouter DEALER each send 1 MiB
// messages to a raw ZMTP peer that completes the handshake and then reads
// only when the test says so.
//
// What makes it deterministic: the raw peer's SO_RCVBUF and the sender's
// SO_SNDBUF are small (libzmq: ZMQ_SNDBUF; zrouter has no such option, so
// the test sets SO_SNDBUF on zrouter's socket, found in /proc/self/fd), so
// the kernel holds far less than one message. The connection can then
// never finish writing message r until the peer has read messages 0..r-1:
// after the peer has read r messages the connection has taken at most
// r+1 off the pipe. FACTS Q7 warns that over tcp the counts otherwise
// depend on how much the TCP path absorbs. The mark starts at 3, not 1:
// at 1 or 2 libzmq's LWM is 1, and the session's one read of message 0
// then acknowledges it at a moment the test cannot control (FACTS Q7:
// "SNDHWM=1: 1 (+1 after 300ms)").
//
// The two libraries count the message their connection holds differently,
// and the test asserts each one's count:
//   - libzmq counts a message against the mark until the session has
//     acknowledged it, which it does every LWM = (HWM+1)/2 reads; with the
//     connection stuck on message 0 nothing is acknowledged, so HWM
//     messages in all are accepted. zrouter counts only the messages
//     waiting for the writer, so HWM plus the one the writer holds.
//   - libzmq does not wake a pipe that has already hit the mark when the
//     mark is raised (FACTS Q7: "+0"; the pipe waits for an activation
//     from the session), while zrouter lets more in at once, as its
//     SetSendHWM documents. This is a difference; see the report.
//
// What both do alike, and the test asserts for both: raising the mark on a
// pipe that is not full lets more in; lowering it below what is queued
// refuses every send until the queue drains below the new mark, which
// happens only as the peer reads; and every accepted message arrives,
// in order.
func TestOptionSendHWMLive(t *testing.T) {
	t.Parallel()
	const (
		rcvbuf = 16 << 10
		sndbuf = 32 << 10
	)
	type impl struct {
		name string
		// held is how many messages the connection holds without
		// counting them against the mark (libzmq 0, zrouter 1).
		held int
		// raiseFull is how many more messages a full pipe accepts when
		// its mark goes from 6 to 8 (libzmq 0, zrouter 2).
		raiseFull int
		start     func(t *testing.T, endpoint string) otrHWMSender
	}
	impls := []impl{
		{
			name: "libzmq", held: 0, raiseFull: 0,
			start: func(t *testing.T, endpoint string) otrHWMSender {
				zctx := newContext(t)
				s := newSocket(t, zctx, zmq.DEALER)
				require.NoError(t, s.SetSndbuf(sndbuf))
				require.NoError(t, s.SetSndhwm(3))
				require.NoError(t, s.Connect(endpoint))
				return otrZmqSender{s}
			},
		},
		{
			name: "zrouter", held: 1, raiseFull: 2,
			start: func(t *testing.T, endpoint string) otrHWMSender {
				d := dealerNew(t, socket.WithSendHWM(3))
				require.NoError(t, d.Connect(endpoint))
				testutil.CheckFor(t, waitLimit, func() bool { return d.Stats().Peers == 1 }, "zrouter DEALER connected")
				// zrouter has no ZMQ_SNDBUF: shrink its socket's
				// buffer directly, which also stops autotuning.
				fd, _ := otrConnFDs(t, otrEndpointAddr(t, endpoint))
				require.NoError(t, syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, sndbuf))
				return otrDealerSender{d}
			},
		},
	}
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			ep, hs := otrListen(t, rcvbuf, &zmtp.Config{SocketType: zmtp.ROUTER, Timeout: ioTimeout, MaxSize: -1})
			s := im.start(t, ep)
			res := waitHandshake(t, hs)
			require.NoError(t, res.err, "raw handshake")
			conn, rd := res.conn, res.sess.Reader

			next := 0 // the next message to send
			send := func() bool {
				if s.trySend(t, otrBig(next)) {
					next++
					return true
				}
				return false
			}
			// fill sends until refused and returns how many were taken.
			fill := func() int {
				n := 0
				for send() {
					n++
					require.Less(t, n, 100, "the high-water mark holds")
				}
				return n
			}

			// Message 0 goes out; once its first bytes reach the peer,
			// the connection holds it and is stuck on it for good.
			require.True(t, send(), "message 0 accepted")
			testutil.CheckFor(t, waitLimit, func() bool { return otrUnread(t, conn) > 0 || rd.Buffered() > 0 },
				"message 0 reaches the peer")
			require.True(t, send(), "message 1 accepted: the pipe (SNDHWM 3) is not full")

			// Raised on a pipe that is not full: the new mark applies.
			s.setHWM(t, 6)
			assert.Equal(t, 6+im.held-2, fill(), "messages accepted after SNDHWM 3 -> 6")
			accepted := next
			assert.Equal(t, 6+im.held, accepted, "accepted in all at SNDHWM 6")

			// Raised on a pipe that is full.
			s.setHWM(t, 8)
			assert.Equal(t, im.raiseFull, fill(), "messages accepted by a full pipe after SNDHWM 6 -> 8")
			accepted = next

			// Lowered below what is queued: refused until the queue
			// drains below 2, which needs the peer to read. After the
			// peer has read r messages the connection has taken at most
			// r+1, so at least accepted-(r+1) are queued (libzmq: not
			// acknowledged); that is 2 or more while r <= accepted-3.
			s.setHWM(t, 2)
			for r := 0; r <= accepted-3; r++ {
				require.False(t, send(), "refused at SNDHWM 2 after the peer read %d of %d", r, accepted)
				otrCheckBig(t, conn, rd, r)
			}
			// The peer has read accepted-2 messages: the connection
			// takes one more, one is left, and there is room for one.
			testutil.CheckFor(t, waitLimit, send, "a send accepted once the queue drains below SNDHWM 2")
			assert.False(t, send(), "refused again at SNDHWM 2")
			for r := accepted - 2; r < next; r++ {
				otrCheckBig(t, conn, rd, r)
			}
			t.Logf("%s: %d messages accepted and received in order", im.name, next)
		})
	}
}

// otrCheckBig reads the next message from the raw peer and checks it is
// otrBig(i).
func otrCheckBig(t *testing.T, conn net.Conn, rd *zmtp.Reader, i int) {
	t.Helper()
	got := readMessage(t, conn, rd)
	require.Len(t, got, 1, "message %d: one frame", i)
	require.Len(t, got[0], 1<<20, "message %d: size", i)
	require.Equal(t, uint64(i), binary.BigEndian.Uint64(got[0]), "message %d: index (order)", i)
	require.True(t, bytes.Equal(otrBig(i), got[0]), "message %d: content", i)
}

// TestOptionRecvHWMLive: ZMQ_RCVHWM set on a live libzmq ROUTER applies to
// its pipes; a peer's messages queued behind RCVHWM 1 all arrive, in
// order, once it is raised. zrouter: a ROUTER with RCVHWM 1 takes exactly
// one message off the connection while the application does not read
// (Stats().MsgsIn counts what went into the receive queue); SetRecvHWM(10)
// lets exactly ten in, and 0 (no limit) all of them, with no Recv in
// between; then every message arrives, in order.
func TestOptionRecvHWMLive(t *testing.T) {
	t.Parallel()
	const n = 200
	msg := func(i int) string { return fmt.Sprintf("msg-%03d", i) }

	t.Run("libzmq", func(t *testing.T) {
		t.Parallel()
		zctx := newContext(t)
		lr := newSocket(t, zctx, zmq.ROUTER)
		require.NoError(t, lr.SetRcvhwm(1))
		require.NoError(t, lr.Bind("tcp://127.0.0.1:*"))
		ep, err := lr.GetLastEndpoint()
		require.NoError(t, err)
		d := dealerNew(t, socket.WithRoutingID([]byte("zd")))
		require.NoError(t, d.Connect(ep))
		for i := range n {
			dealerSend(t, d, msg(i))
		}
		require.NoError(t, lr.SetRcvhwm(1000))
		got, err := lr.GetRcvhwm()
		require.NoError(t, err)
		assert.Equal(t, 1000, got)
		for i := range n {
			require.Equal(t, []string{"zd", msg(i)}, strs(zmqRecv(t, lr)))
		}
	})

	t.Run("zrouter", func(t *testing.T) {
		t.Parallel()
		r := newRouter(t, socket.WithRecvHWM(1))
		zctx := newContext(t)
		ld := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, ld.SetIdentity("ld"))
		require.NoError(t, ld.Connect(r.Addr()))
		for i := range n {
			zmqSend(t, ld, []byte(msg(i)))
		}
		testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().MsgsIn == 1 }, "one message in at RCVHWM 1")
		require.NoError(t, r.SetRecvHWM(10))
		testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().MsgsIn == 10 }, "ten messages in at RCVHWM 10")
		require.NoError(t, r.SetRecvHWM(0))
		testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().MsgsIn == n }, "all messages in at RCVHWM 0")
		for i := range n {
			require.Equal(t, []string{"ld", msg(i)}, strs(recvFrames(t, r)))
		}
		assert.Zero(t, r.Stats().Dropped())
	})
}

// ---------------------------------------------------------------------------
// 3. Heartbeats (FACTS Q8).

// TestOptionHeartbeatTTLRange: libzmq divides ZMQ_HEARTBEAT_TTL by 100
// (ms to deciseconds) before its 16-bit range check, so 6553600 ms is
// EINVAL and 6553599 ms is accepted (stored as 6553500 ms).
// zrouter: a TTL of 6553600 ms makes router.New, dealer.New and Connect
// fail with socket.ErrBadOption; socket.MaxHeartbeatTTL, 6553599 ms, is
// accepted.
func TestOptionHeartbeatTTLRange(t *testing.T) {
	t.Parallel()
	const over = 6553600 * time.Millisecond

	zctx := newContext(t)
	for _, typ := range []zmq.Type{zmq.ROUTER, zmq.DEALER} {
		s := newSocket(t, zctx, typ)
		err := s.SetHeartbeatTtl(over)
		assert.True(t, isErrno(err, zmq.Errno(syscall.EINVAL)), "libzmq %v TTL 6553600 ms: %v", typ, err)
		// (It reads back as 6553500 ms; pebbe/zmq4 has no getter for it.)
		require.NoError(t, s.SetHeartbeatTtl(6553599*time.Millisecond), "libzmq %v TTL 6553599 ms", typ)
	}

	assert.Equal(t, 6553599*time.Millisecond, socket.MaxHeartbeatTTL)
	bad := socket.WithHeartbeat(socket.Heartbeat{TTL: over})
	good := socket.WithHeartbeat(socket.Heartbeat{TTL: socket.MaxHeartbeatTTL})

	_, err := router.New(bad)
	assert.ErrorIs(t, err, socket.ErrBadOption, "router.New, TTL 6553600 ms")
	_, err = dealer.New(bad)
	assert.ErrorIs(t, err, socket.ErrBadOption, "dealer.New, TTL 6553600 ms")
	r := newUnboundRouter(t, good)
	d := dealerNew(t, good)

	// Per connection, as libzmq's snapshot of the options at zmq_connect.
	ep := freeEndpoint(t)
	assert.ErrorIs(t, r.Connect(ep, bad), socket.ErrBadOption, "Router.Connect, TTL 6553600 ms")
	assert.ErrorIs(t, d.Connect(ep, bad), socket.ErrBadOption, "Dealer.Connect, TTL 6553600 ms")
	assert.Zero(t, d.Stats().Pipes, "a refused Connect leaves no pipe")
	assert.NoError(t, d.Connect(ep, good), "Dealer.Connect, TTL MaxHeartbeatTTL")
}

// TestOptionHeartbeatPingTTL: a libzmq ROUTER with ZMQ_HEARTBEAT_IVL 100 ms
// sends PING every 100 ms with its TTL in deciseconds (truncated) and no
// context: TTL 1550 ms gives "\x04PING\x00\x0f". A raw ZMTP peer reads the
// first PING of a libzmq ROUTER and of a zrouter ROUTER with the same
// Heartbeat{Interval, TTL}; both bodies are the same bytes, for 1550 ms
// (15 ds), 1599 ms (15 ds) and 6553599 ms (65535 ds).
func TestOptionHeartbeatPingTTL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ttl  time.Duration
		wire uint16
	}{
		{1550 * time.Millisecond, 15},
		{1599 * time.Millisecond, 15},
		{6553599 * time.Millisecond, 65535},
	} {
		t.Run(fmt.Sprintf("%dms", tc.ttl.Milliseconds()), func(t *testing.T) {
			t.Parallel()
			want := binary.BigEndian.AppendUint16([]byte("\x04PING"), tc.wire)
			check := func(t *testing.T, endpoint string) {
				t.Helper()
				c, sess := otrDial(t, endpoint)
				body := otrReadCommand(t, c, sess.Reader)
				assert.Equal(t, want, body, "PING body")
				cmd, err := zmtp.ParseCommand(body)
				require.NoError(t, err)
				ping, ok := cmd.(*zmtp.Ping)
				require.True(t, ok, "a PING, got %T", cmd)
				assert.Equal(t, tc.wire, ping.TTL, "TTL in deciseconds")
				assert.Empty(t, ping.Context, "no context")
			}
			t.Run("libzmq", func(t *testing.T) {
				t.Parallel()
				zctx := newContext(t)
				lr := newSocket(t, zctx, zmq.ROUTER)
				require.NoError(t, lr.SetHeartbeatIvl(100*time.Millisecond))
				require.NoError(t, lr.SetHeartbeatTtl(tc.ttl))
				require.NoError(t, lr.Bind("tcp://127.0.0.1:*"))
				ep, err := lr.GetLastEndpoint()
				require.NoError(t, err)
				check(t, ep)
			})
			t.Run("zrouter", func(t *testing.T) {
				t.Parallel()
				r := newRouter(t, socket.WithHeartbeat(socket.Heartbeat{Interval: 100 * time.Millisecond, TTL: tc.ttl}))
				check(t, r.Addr())
			})
		})
	}
}

// TestOptionHeartbeatPingContext: libzmq answers a PING whose context is
// 20 bytes with a PONG carrying the first 16 ("\x04PONG0123456789abcdef"),
// and the connection stays up. A raw ZMTP peer sends that PING to a
// libzmq ROUTER and to a zrouter ROUTER, checks the PONG byte for byte,
// then sends a message, which the ROUTER receives and answers.
func TestOptionHeartbeatPingContext(t *testing.T) {
	t.Parallel()
	const ctx20 = "0123456789abcdefghij"
	ping := zmtp.AppendFrame(nil, zmtp.FlagCommand, append([]byte("\x04PING\x00\x00"), ctx20...))
	wantPong := []byte("\x04PONG" + ctx20[:16])

	exchange := func(t *testing.T, endpoint string, echo func(t *testing.T)) {
		t.Helper()
		c, sess := otrDial(t, endpoint)
		_, err := c.Write(ping)
		require.NoError(t, err)
		assert.Equal(t, wantPong, otrReadCommand(t, c, sess.Reader), "PONG with the first 16 bytes of the context")
		_, err = c.Write(zmtp.AppendMessage(nil, bs("after")))
		require.NoError(t, err)
		echo(t)
		assert.Equal(t, []string{"back"}, strs(readMessage(t, c, sess.Reader)), "the connection is still up")
	}
	t.Run("libzmq", func(t *testing.T) {
		t.Parallel()
		zctx := newContext(t)
		lr := newSocket(t, zctx, zmq.ROUTER)
		require.NoError(t, lr.Bind("tcp://127.0.0.1:*"))
		ep, err := lr.GetLastEndpoint()
		require.NoError(t, err)
		exchange(t, ep, func(t *testing.T) {
			got := zmqRecv(t, lr)
			require.Len(t, got, 2)
			assert.Equal(t, "after", string(got[1]))
			zmqSend(t, lr, got[0], []byte("back"))
		})
	})
	t.Run("zrouter", func(t *testing.T) {
		t.Parallel()
		r := newRouter(t)
		exchange(t, r.Addr(), func(t *testing.T) {
			got := recvFrames(t, r)
			require.Len(t, got, 2)
			assert.Equal(t, "after", string(got[1]))
			sendFrames(t, r, got[0], []byte("back"))
		})
		assert.Zero(t, r.Stats().Disconnected)
	})
}

// ---------------------------------------------------------------------------
// 4. Endpoint validation at Connect (FACTS Q9).

// TestOptionConnectEndpointSyntax: libzmq's zmq_connect checks only the
// syntax of a tcp endpoint and returns EINVAL for a bad one, keeping
// nothing (zmq_disconnect then gives ENOENT). zrouter's Connect returns
// socket.ErrBadEndpoint for the same endpoints, at once, and keeps no pipe
// or endpoint (it does not retry: Disconnect gives ErrUnknownEndpoint).
//
// Deliberate differences: libzmq accepts "tcp://:5555" (and then only
// retries, as the empty host never resolves) and a port over 65535, which
// it wraps to 16 bits ("tcp://localhost:99999" connects to port 34463; the
// test shows the wrap with a listener of its own, at its port + 65536, so
// as to connect to nobody else's). zrouter refuses both with
// ErrBadEndpoint.
func TestOptionConnectEndpointSyntax(t *testing.T) {
	t.Parallel()
	bad := []string{
		"tcp://in val id:1234",
		"tcp://localhost:invalid",
		"tcp://localhost:",
		"tcp://localhost",
		"tcp://*:5555",
		"tcp://localhost:*",
		"tcp://localhost:-1",
	}
	zctx := newContext(t)
	ld := newSocket(t, zctx, zmq.DEALER)
	d := dealerNew(t)
	r := newUnboundRouter(t)
	for _, ep := range bad {
		err := ld.Connect(ep)
		assert.True(t, isErrno(err, zmq.Errno(syscall.EINVAL)), "libzmq connect %q: %v", ep, err)
		err = ld.Disconnect(ep)
		assert.True(t, isErrno(err, zmq.Errno(syscall.ENOENT)), "libzmq disconnect %q: %v", ep, err)

		for _, s := range []*socket.Socket{&d.Socket, &r.Socket} {
			assert.ErrorIs(t, s.Connect(ep), socket.ErrBadEndpoint, "zrouter %s Connect %q", s.Type(), ep)
			assert.ErrorIs(t, s.Disconnect(ep), socket.ErrUnknownEndpoint, "zrouter %s keeps nothing of %q", s.Type(), ep)
		}
	}
	assert.Zero(t, d.Stats().Pipes, "no pipe for a bad endpoint")
	assert.Zero(t, r.Stats().Pipes, "no pipe for a bad endpoint")

	// libzmq accepts these two; zrouter refuses them, deliberately.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	accepted := make(chan net.Conn, 1)
	go func() {
		defer close(accepted)
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	var conn net.Conn
	t.Cleanup(func() {
		_ = ln.Close()
		for c := range accepted {
			_ = c.Close()
		}
		if conn != nil {
			_ = conn.Close()
		}
	})
	wrapped := fmt.Sprintf("tcp://localhost:%d", ln.Addr().(*net.TCPAddr).Port+65536)

	lw := newSocket(t, zctx, zmq.DEALER)
	assert.NoError(t, lw.Connect("tcp://:5555"), "libzmq accepts an empty host")
	assert.NoError(t, lw.Connect(wrapped), "libzmq accepts a port over 65535")
	select {
	case c, ok := <-accepted:
		require.True(t, ok, "accept failed")
		conn = c
		t.Logf("libzmq connected to %s for %s", c.LocalAddr(), wrapped)
	case <-time.After(waitLimit):
		require.FailNow(t, "libzmq did not connect to the port modulo 65536", wrapped)
	}
	for _, ep := range []string{"tcp://:5555", "tcp://localhost:99999", wrapped} {
		assert.ErrorIs(t, d.Connect(ep), socket.ErrBadEndpoint, "zrouter Connect %q (deliberately stricter than libzmq)", ep)
	}
}

// TestOptionConnectUnresolvable: libzmq's zmq_connect to a host that does
// not resolve ("tcp://no-such-host.invalid:5555") succeeds, queues what is
// sent (immediate off), and retries for ever; its monitor shows only
// CONNECT_RETRIED, never CONNECT_DELAYED, because no socket is ever made.
// zrouter's Connect returns nil, TrySend queues, its monitor shows
// socket.EventConnectRetried and no EventConnectDelayed, and its logger
// gets one WARN for the endpoint, not one per retry (counted after at
// least three retries).
func TestOptionConnectUnresolvable(t *testing.T) {
	t.Parallel()
	const ep = "tcp://no-such-host.invalid:5555"
	const retries = 3

	t.Run("libzmq", func(t *testing.T) {
		t.Parallel()
		zctx := newContext(t)
		ld := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, ld.SetReconnectIvl(20*time.Millisecond))
		mon := otrZmqMonitor(t, zctx, ld, "unresolvable")
		require.NoError(t, ld.Connect(ep))
		_, err := ld.SendBytes([]byte("queued"), zmq.DONTWAIT)
		assert.NoError(t, err, "a send is queued")
		for n := 0; n < retries; {
			ev, addr, _, err := mon.RecvEvent(0)
			require.NoError(t, err, "libzmq monitor event")
			require.NotEqual(t, zmq.EVENT_CONNECT_DELAYED, ev, "no CONNECT_DELAYED")
			require.Equal(t, zmq.EVENT_CONNECT_RETRIED, ev, "only CONNECT_RETRIED (%s)", addr)
			n++
		}
	})

	t.Run("zrouter", func(t *testing.T) {
		t.Parallel()
		var logs testutil.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		d := dealerNew(t, socket.WithLogger(logger), socket.WithReconnectInterval(20*time.Millisecond))
		mon := d.Monitor(64)
		require.NoError(t, d.Connect(ep))
		assert.NoError(t, d.TrySend(wire.New([]byte("queued"))), "a send is queued")
		timeout := time.After(waitLimit)
		for n := 0; n < retries; {
			select {
			case ev := <-mon.C:
				require.NotEqual(t, socket.EventConnectDelayed, ev.Kind, "no EventConnectDelayed: %+v", ev)
				require.Equal(t, socket.EventConnectRetried, ev.Kind, "only EventConnectRetried: %+v", ev)
				assert.Equal(t, ep, ev.Endpoint)
				assert.Error(t, ev.Err, "the resolution failure")
				n++
			case <-timeout:
				require.FailNow(t, "too few EventConnectRetried", "%d of %d", n, retries)
			}
		}
		out := logs.String()
		warns := strings.Count(out, "level=WARN")
		assert.Equal(t, 1, warns, "one WARN for the endpoint, not one per retry:\n%s", out)
		assert.Equal(t, 1, d.Stats().Pipes, "the pipe holds the queued message")
		assert.Equal(t, 1, d.Stats().Queued)
	})
}

// ---------------------------------------------------------------------------
// 5. Wildcard bind and unbind (FACTS Q9, Q13).

// TestOptionWildcardBind: libzmq binds "tcp://*:*" on the IPv4 wildcard and
// reports ZMQ_LAST_ENDPOINT "tcp://0.0.0.0:PORT" with ZMQ_IPV6 off, and
// "tcp://[::]:PORT" with it on; a DEALER connecting to tcp://127.0.0.1:PORT
// reaches it either way. zmq_unbind looks the endpoint up by that
// resolved string: "tcp://*:*" and the other spellings of the address are
// ENOENT, the last endpoint works (once). The listener's accepted
// connections are closed with it (the close waits for the unbinding
// socket's next API call, so the test keeps calling it), and new
// connections are refused.
//
// zrouter with socket.WithIPv6(false/true): Addr reports the same strings,
// a libzmq DEALER reaches it through 127.0.0.1, Unbind refuses the same
// spellings with socket.ErrUnknownEndpoint and takes Addr() once; then a
// dial to the port is refused at once and the libzmq DEALER's connection
// is closed (Stats().Peers goes to 0).
func TestOptionWildcardBind(t *testing.T) {
	t.Parallel()
	for _, ipv6 := range []bool{false, true} {
		t.Run(fmt.Sprintf("ipv6=%v", ipv6), func(t *testing.T) {
			t.Parallel()
			host := `0\.0\.0\.0`
			if ipv6 {
				host = `\[::\]`
			}
			re := regexp.MustCompile(`^tcp://` + host + `:(\d+)$`)
			port := func(t *testing.T, endpoint string) string {
				t.Helper()
				m := re.FindStringSubmatch(endpoint)
				require.NotNil(t, m, "endpoint %q matches %s", endpoint, re)
				return m[1]
			}
			// Spellings that do not name the bound endpoint, and the
			// one that does.
			wrong := func(p string) []string {
				if ipv6 {
					return []string{"tcp://*:*", "tcp://*:" + p, "tcp://0.0.0.0:" + p, "tcp://127.0.0.1:" + p, "tcp://localhost:" + p, "tcp://[::1]:" + p}
				}
				return []string{"tcp://*:*", "tcp://*:" + p, "tcp://[::]:" + p, "tcp://127.0.0.1:" + p, "tcp://localhost:" + p, "tcp://[::1]:" + p}
			}
			dialRefused := func(p string) bool {
				c, err := net.DialTimeout("tcp", "127.0.0.1:"+p, ioTimeout)
				if err == nil {
					_ = c.Close()
					return false
				}
				return true
			}

			t.Run("libzmq", func(t *testing.T) {
				t.Parallel()
				zctx := newContext(t)
				lr := newSocket(t, zctx, zmq.ROUTER)
				require.NoError(t, lr.SetIpv6(ipv6))
				require.NoError(t, lr.Bind("tcp://*:*"))
				last, err := lr.GetLastEndpoint()
				require.NoError(t, err)
				p := port(t, last)

				ld := newSocket(t, zctx, zmq.DEALER)
				require.NoError(t, ld.SetIdentity("ld"))
				require.NoError(t, ld.Connect("tcp://127.0.0.1:"+p))
				zmqSend(t, ld, []byte("via 127.0.0.1"))
				assert.Equal(t, []string{"ld", "via 127.0.0.1"}, strs(zmqRecv(t, lr)))
				// A zrouter peer, to watch its connection end.
				zd := dealerNew(t)
				require.NoError(t, zd.Connect("tcp://127.0.0.1:"+p))
				testutil.CheckFor(t, waitLimit, func() bool { return zd.Stats().Peers == 1 }, "zrouter DEALER connected")

				for _, ep := range wrong(p) {
					err := lr.Unbind(ep)
					assert.True(t, isErrno(err, zmq.Errno(syscall.ENOENT)), "libzmq unbind %q: %v", ep, err)
				}
				require.NoError(t, lr.Unbind(last), "libzmq unbind of the last endpoint")
				err = lr.Unbind(last)
				assert.True(t, isErrno(err, zmq.Errno(syscall.ENOENT)), "second unbind: %v", err)

				pump := func() { _, _ = lr.GetEvents() } // let the socket process its commands
				testutil.CheckFor(t, waitLimit, func() bool { pump(); return dialRefused(p) }, "new connections refused")
				testutil.CheckFor(t, waitLimit, func() bool { pump(); return zd.Stats().Peers == 0 }, "accepted connection closed")
			})

			t.Run("zrouter", func(t *testing.T) {
				t.Parallel()
				r := newUnboundRouter(t, socket.WithIPv6(ipv6))
				require.NoError(t, r.Bind("tcp://*:*"))
				last := r.Addr()
				p := port(t, last)

				zctx := newContext(t)
				ld := newSocket(t, zctx, zmq.DEALER)
				require.NoError(t, ld.SetIdentity("ld"))
				require.NoError(t, ld.Connect("tcp://127.0.0.1:"+p))
				zmqSend(t, ld, []byte("via 127.0.0.1"))
				assert.Equal(t, []string{"ld", "via 127.0.0.1"}, strs(recvFrames(t, r)))
				// Not require.Equal: the connection's reader starts just
				// before the socket counts it up, so its first message
				// can be received while Stats().Peers is still 0.
				testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().Peers == 1 }, "libzmq DEALER counted as a peer")

				for _, ep := range wrong(p) {
					assert.ErrorIs(t, r.Unbind(ep), socket.ErrUnknownEndpoint, "zrouter Unbind %q", ep)
				}
				require.NoError(t, r.Unbind(last), "zrouter Unbind of Addr()")
				assert.ErrorIs(t, r.Unbind(last), socket.ErrUnknownEndpoint, "second Unbind")

				assert.True(t, dialRefused(p), "new connections refused once Unbind returns")
				testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().Peers == 0 }, "accepted connection closed")
				assert.Empty(t, r.Addr(), "nothing bound")
			})
		})
	}
}

// ---------------------------------------------------------------------------
// 6. WaitPeers (zrouter's own: libzmq has no such call).

// TestOptionWaitPeers: a zrouter ROUTER's WaitPeers(ctx, 3) returns nil
// once three libzmq DEALERs are connected, and not before: when it
// returns Stats().Peers is at least 3, and it has not returned while two
// were. With a context that ends first it returns the context's error;
// on a socket that closes while it waits, and after Close, net.ErrClosed.
func TestOptionWaitPeers(t *testing.T) {
	t.Parallel()

	t.Run("three-dealers", func(t *testing.T) {
		t.Parallel()
		r := newRouter(t)
		zctx := newContext(t)
		type result struct {
			err   error
			peers int
		}
		done := make(chan result, 1)
		ctx, cancel := context.WithTimeout(context.Background(), 2*waitLimit)
		defer cancel()
		go func() {
			err := r.WaitPeers(ctx, 3)
			done <- result{err, r.Stats().Peers}
		}()
		for i := range 3 {
			if i == 2 {
				testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().Peers == 2 }, "two peers up")
				select {
				case res := <-done:
					require.FailNow(t, "WaitPeers(3) returned with two peers", "%+v", res)
				default:
				}
			}
			ld := newSocket(t, zctx, zmq.DEALER)
			require.NoError(t, ld.Connect(r.Addr()))
		}
		select {
		case res := <-done:
			require.NoError(t, res.err)
			assert.GreaterOrEqual(t, res.peers, 3, "Stats().Peers when WaitPeers returned")
		case <-time.After(waitLimit):
			require.FailNow(t, "WaitPeers(3) did not return with three peers")
		}
	})

	t.Run("context-ends", func(t *testing.T) {
		t.Parallel()
		r := newRouter(t)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		assert.ErrorIs(t, r.WaitPeers(ctx, 1), context.DeadlineExceeded)
		ctx2, cancel2 := context.WithCancel(context.Background())
		cancel2()
		assert.ErrorIs(t, r.WaitPeers(ctx2, 1), context.Canceled)
	})

	t.Run("close", func(t *testing.T) {
		t.Parallel()
		r := newRouter(t)
		ctx, cancel := context.WithTimeout(context.Background(), 2*waitLimit)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- r.WaitPeers(ctx, 1) }()
		require.NoError(t, r.Close())
		select {
		case err := <-done:
			assert.ErrorIs(t, err, net.ErrClosed, "WaitPeers while the socket closes")
		case <-time.After(waitLimit):
			require.FailNow(t, "WaitPeers did not return at Close")
		}
		assert.ErrorIs(t, r.WaitPeers(ctx, 1), net.ErrClosed, "WaitPeers after Close")
	})
}
