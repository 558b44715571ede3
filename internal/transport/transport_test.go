package transport

import (
	"context"
	"net"
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
		{in: "tcp://127.0.0.1:5555", want: Endpoint{"tcp", "127.0.0.1", 5555}, str: "tcp://127.0.0.1:5555"},
		{in: "tcp://localhost:5555", want: Endpoint{"tcp", "localhost", 5555}},
		{in: "tcp://my-host_1.example:80", want: Endpoint{"tcp", "my-host_1.example", 80}},
		{in: "tcp://[::1]:5555", want: Endpoint{"tcp", "::1", 5555}, str: "tcp://[::1]:5555"},
		{in: "tcp://*:5555", bind: true, want: Endpoint{"tcp", "", 5555}, str: "tcp://*:5555"},
		{in: "tcp://*:*", bind: true, want: Endpoint{"tcp", "", 0}, str: "tcp://*:0"},
		{in: "tcp://127.0.0.1:0", bind: true, want: Endpoint{"tcp", "127.0.0.1", 0}},

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
		{in: "tcp://eth0;127.0.0.1:5555", wantErr: true},
		// Not endpoints of a transport zrouter has.
		{in: "ipc:///tmp/x", wantErr: true},
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
