package transport

import (
	"errors"
	"testing"

	"github.com/zrouter/zrouter/socket"
)

// FuzzParse feeds the endpoint parser any string, for a bind and for a
// connect: it returns an endpoint or an error wrapping ErrBadEndpoint,
// never panics, and an endpoint it returns parses again, from its String,
// to itself.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"tcp://127.0.0.1:5555", "tcp://*:*", "tcp://[::1]:0", "tcp://lo:*",
		"tcp://eth0:0;127.0.0.1:5555", "tcp://*:1;[::1]:2", "tcp://a;b;c:1",
		"ipc:///tmp/x", "ipc://@name", "ipc://*", "ipc://", "ipc://rel/p",
		"inproc://x", "tcp://", "://", "",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, bind bool) {
		e, err := Parse(s, bind)
		if err != nil {
			if !errors.Is(err, socket.ErrBadEndpoint) {
				t.Fatalf("Parse(%q): %v does not wrap ErrBadEndpoint", s, err)
			}
			return
		}
		again, err := Parse(e.String(), bind)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v, whose String %q does not parse: %v", s, e, e.String(), err)
		}
		if again != e {
			t.Fatalf("Parse(%q) = %+v, but its String %q parses to %+v", s, e, e.String(), again)
		}
	})
}
