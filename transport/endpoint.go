package transport

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// ErrBadEndpoint reports an endpoint that is not of the form
// tcp://HOST:PORT.
var ErrBadEndpoint = errors.New("transport: bad endpoint")

// Endpoint is a parsed endpoint.
type Endpoint struct {
	// Network is "tcp".
	Network string
	// Addr is HOST:PORT for the net package; a "*" host is empty, meaning
	// every interface.
	Addr string
}

// String returns the endpoint in tcp://HOST:PORT form.
func (e Endpoint) String() string {
	host, port, err := net.SplitHostPort(e.Addr)
	if err != nil {
		return e.Network + "://" + e.Addr
	}
	if host == "" {
		host = "*"
	}
	return e.Network + "://" + net.JoinHostPort(host, port)
}

// Parse parses tcp://HOST:PORT. HOST may be "*" (every interface, for bind),
// a name, an IPv4 address or a bracketed IPv6 address; PORT may be 0 or "*"
// (any free port, for bind).
func Parse(s string) (Endpoint, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return Endpoint{}, fmt.Errorf("%w %q: want tcp://HOST:PORT", ErrBadEndpoint, s)
	}
	if scheme != "tcp" {
		return Endpoint{}, fmt.Errorf("%w %q: transport %q is not supported (only tcp)", ErrBadEndpoint, s, scheme)
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		return Endpoint{}, fmt.Errorf("%w %q: %v", ErrBadEndpoint, s, err)
	}
	if host == "*" {
		host = ""
	}
	if port == "*" {
		port = "0"
	}
	if port == "" {
		return Endpoint{}, fmt.Errorf("%w %q: no port", ErrBadEndpoint, s)
	}
	return Endpoint{Network: "tcp", Addr: net.JoinHostPort(host, port)}, nil
}

// FromAddr returns the endpoint of a bound or dialed address.
func FromAddr(a net.Addr) Endpoint {
	return Endpoint{Network: a.Network(), Addr: a.String()}
}
