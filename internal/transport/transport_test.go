package transport

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/socket"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		bind    bool
		want    Endpoint
		str     string
		wantErr bool
	}{
		{in: "tcp://127.0.0.1:5555", want: Endpoint{Scheme: "tcp", Host: "127.0.0.1", Port: 5555}, str: "tcp://127.0.0.1:5555"},
		{in: "tcp://localhost:5555", want: Endpoint{Scheme: "tcp", Host: "localhost", Port: 5555}},
		{in: "tcp://my-host_1.example:80", want: Endpoint{Scheme: "tcp", Host: "my-host_1.example", Port: 80}},
		{in: "tcp://[::1]:5555", want: Endpoint{Scheme: "tcp", Host: "::1", Port: 5555}, str: "tcp://[::1]:5555"},
		{in: "tcp://*:5555", bind: true, want: Endpoint{Scheme: "tcp", Host: "", Port: 5555}, str: "tcp://*:5555"},
		{in: "tcp://*:*", bind: true, want: Endpoint{Scheme: "tcp", Host: "", Port: 0}, str: "tcp://*:0"},
		{in: "tcp://127.0.0.1:0", bind: true, want: Endpoint{Scheme: "tcp", Host: "127.0.0.1", Port: 0}},

		// What libzmq's zmq_connect refuses with EINVAL.
		{in: "tcp://in val id:1234", wantErr: true},
		{in: "tcp://localhost:invalid", wantErr: true},
		{in: "tcp://localhost:", wantErr: true},
		{in: "tcp://localhost", wantErr: true},
		{in: "tcp://localhost:5555 ", wantErr: true},
		{in: "tcp://localhost:-1", wantErr: true},
		{in: "tcp://*:5555", wantErr: true},
		{in: "tcp://localhost:*", wantErr: true},
		// What libzmq takes and then fails on, or wraps: refused here.
		{in: "tcp://:5555", wantErr: true},
		{in: "tcp://localhost:99999", wantErr: true},
		{in: "tcp://localhost:0", wantErr: true},
		{in: "tcp://::1:5555", wantErr: true},
		{in: "tcp://[::1:5555", wantErr: true},
		// Source addresses, for a connect.
		{in: "tcp://eth0;127.0.0.1:5555", wantErr: true}, // a source needs a port
		{in: "tcp://eth0:0;127.0.0.1:5555", want: Endpoint{Scheme: "tcp", Host: "127.0.0.1", Port: 5555, Source: "eth0:0"},
			str: "tcp://eth0:0;127.0.0.1:5555"},
		{in: "tcp://127.0.0.1:*;localhost:5555", want: Endpoint{Scheme: "tcp", Host: "localhost", Port: 5555, Source: "127.0.0.1:*"}},
		{in: "tcp://*:4000;[::1]:5555", want: Endpoint{Scheme: "tcp", Host: "::1", Port: 5555, Source: "*:4000"}},
		{in: "tcp://127.0.0.1:0;127.0.0.1:5555", bind: true, wantErr: true},
		{in: "tcp://;127.0.0.1:5555", wantErr: true},
		{in: "tcp://a b:1;127.0.0.1:5555", wantErr: true},
		{in: "tcp://127.0.0.1:1;127.0.0.1:1;127.0.0.1:5555", wantErr: true},
		{in: "tcp://127.0.0.1:1;", wantErr: true},
		// Interface names, for a bind.
		{in: "tcp://lo:*", bind: true, want: Endpoint{Scheme: "tcp", Host: "lo", Port: 0}},

		// ipc: paths, absolute or relative, the abstract namespace, and
		// "*" for a bind.
		{in: "ipc:///tmp/x", want: Endpoint{Scheme: "ipc", Host: "/tmp/x", Port: -1}, str: "ipc:///tmp/x"},
		{in: "ipc://rel/x.sock", bind: true, want: Endpoint{Scheme: "ipc", Host: "rel/x.sock", Port: -1}, str: "ipc://rel/x.sock"},
		{in: "ipc://@name", want: Endpoint{Scheme: "ipc", Host: "@name", Port: -1}, str: "ipc://@name"},
		{in: "ipc://*", bind: true, want: Endpoint{Scheme: "ipc", Host: "*", Port: -1}},
		{in: "ipc:///" + strings.Repeat("a", 106), want: Endpoint{Scheme: "ipc", Host: "/" + strings.Repeat("a", 106), Port: -1}},
		// What libzmq refuses: nothing, an empty abstract name, a path
		// that does not fit sun_path.
		{in: "ipc://", wantErr: true},
		{in: "ipc://", bind: true, wantErr: true},
		{in: "ipc://@", bind: true, wantErr: true},
		{in: "ipc:///" + strings.Repeat("a", 107), wantErr: true},
		{in: "ipc://@" + strings.Repeat("a", 107), bind: true, wantErr: true},
		// Refused here: "*" names nothing to connect to (libzmq connects
		// to a file named "*"), and a NUL cannot be in a path.
		{in: "ipc://*", wantErr: true},
		{in: "ipc:///tmp/a\x00b", wantErr: true},
		// Not endpoints of a transport zrouter has.
		{in: "inproc://x", wantErr: true},
		{in: "127.0.0.1:5555", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, err := Parse(tt.in, tt.bind)
			if tt.wantErr {
				assert.ErrorIs(t, err, socket.ErrBadEndpoint)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, e)
			if tt.str != "" {
				assert.Equal(t, tt.str, e.String())
			}
		})
	}
}

// TestWildcardBindIsIPv4 checks what libzmq does with tcp://*:* and IPv6
// off (its default): it binds the IPv4 wildcard and reports
// tcp://0.0.0.0:PORT. With IPv6 on it binds [::].
func TestWildcardBindIsIPv4(t *testing.T) {
	e, err := Parse("tcp://*:*", true)
	require.NoError(t, err)
	for _, tc := range []struct {
		ipv6 bool
		host string
	}{{false, "0.0.0.0"}, {true, "::"}} {
		ln, err := Listen(context.Background(), e, Options{IPv6: tc.ipv6, Keepalive: -1})
		require.NoError(t, err)
		got := Bound(e, ln)
		assert.Equal(t, tc.host, got.Host)
		assert.NotZero(t, got.Port)
		require.NoError(t, ln.Close())
	}
}

func TestDialAndListen(t *testing.T) {
	e, err := Parse("tcp://127.0.0.1:*", true)
	require.NoError(t, err)
	ln, err := Listen(context.Background(), e, Options{Keepalive: -1})
	require.NoError(t, err)
	defer ln.Close()
	to, err := Parse(Bound(e, ln).String(), false)
	require.NoError(t, err)
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	c, err := Dial(context.Background(), to, Options{Keepalive: -1})
	require.NoError(t, err)
	defer c.Close()
	s, ok := <-accepted
	require.True(t, ok)
	s.Close()
	_, err = Dial(context.Background(), Endpoint{Scheme: "tcp", Host: "::1", Port: 1}, Options{Keepalive: -1})
	assert.Error(t, err, "an IPv6 address without IPv6 on")
}

// loopback returns the name of a loopback interface with an IPv4 address,
// which every machine that runs the tests has.
func loopback(t *testing.T) string {
	t.Helper()
	ifs, err := net.Interfaces()
	require.NoError(t, err)
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagLoopback == 0 {
			continue
		}
		addrs, _ := ifi.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				return ifi.Name
			}
		}
	}
	t.Fatal("no loopback interface with an IPv4 address")
	return ""
}

// TestInterfaceBind binds an interface by name, as libzmq resolves it: its
// first IPv4 address.
func TestInterfaceBind(t *testing.T) {
	lo := loopback(t)
	e, err := Parse("tcp://"+lo+":*", true)
	require.NoError(t, err)
	ln, err := Listen(context.Background(), e, Options{Keepalive: -1})
	require.NoError(t, err)
	defer ln.Close()
	got := Bound(e, ln)
	assert.True(t, net.ParseIP(got.Host).IsLoopback(), got.Host)
	assert.NotZero(t, got.Port)

	_, err = nicAddr(lo, true)
	if err != nil {
		assert.ErrorIs(t, err, errNoInterfaceAddr, "a loopback without IPv6")
	}
}

// TestSourceAddress connects from a chosen source address and port, as
// tcp://SOURCE;HOST:PORT does, and from an interface named as the source.
func TestSourceAddress(t *testing.T) {
	e, err := Parse("tcp://127.0.0.1:*", true)
	require.NoError(t, err)
	ln, err := Listen(context.Background(), e, Options{Keepalive: -1})
	require.NoError(t, err)
	defer ln.Close()
	peers := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(peers)
				return
			}
			peers <- c
		}
	}()
	dst := Bound(e, ln)
	// A free port for the source: bind one, note it, let it go.
	probe, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	srcPort := probe.Addr().(*net.TCPAddr).Port
	require.NoError(t, probe.Close())

	for _, src := range []string{fmt.Sprintf("127.0.0.1:%d", srcPort), loopback(t) + ":*", "*:0"} {
		to, err := Parse("tcp://"+src+";"+dst.String()[len("tcp://"):], false)
		require.NoError(t, err, src)
		c, err := Dial(context.Background(), to, Options{Keepalive: -1})
		require.NoError(t, err, src)
		s := <-peers
		la := c.LocalAddr().(*net.TCPAddr)
		assert.Equal(t, la.String(), s.RemoteAddr().String(), src)
		if strings.HasPrefix(src, "127.0.0.1:") {
			assert.Equal(t, srcPort, la.Port, "the port asked for")
		}
		assert.True(t, la.IP.IsLoopback(), src)
		c.Close()
		s.Close()
	}
	to, err := Parse("tcp://nosuchif0:1;"+dst.String()[len("tcp://"):], false)
	require.NoError(t, err)
	_, err = Dial(context.Background(), to, Options{Keepalive: -1})
	assert.ErrorContains(t, err, "neither an IP address nor a network interface")
}
