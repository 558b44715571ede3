package transport

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/zrouter/zrouter/socket"
)

// ErrBadEndpoint reports an endpoint that cannot be parsed, or of a
// transport zrouter does not have.
var ErrBadEndpoint = socket.ErrBadEndpoint

// Endpoint is a parsed endpoint.
type Endpoint struct {
	// Scheme is the transport: "tcp" or "ipc".
	Scheme string
	// Host is the host part: a name (of a host, or for a bind of a
	// network interface), an IPv4 address, an IPv6 address without
	// brackets, or "" for the wildcard "*" of a bind. A transport without
	// ports keeps its whole address here: for ipc the path, "@NAME", or
	// "*".
	Host string
	// Port is the port; 0 for the "*" or 0 of a bind (any free port), and
	// -1 for a transport without ports.
	Port int
	// Source is the local address of a tcp connect, SOURCE in
	// tcp://SOURCE;HOST:PORT, as given: HOST:PORT where HOST is an IP
	// address, a network interface or "*", and PORT a number or "*" (any).
	// Empty when the system chooses.
	Source string
}

// String returns the endpoint as libzmq writes it: tcp://HOST:PORT, with
// "*" for the wildcard and brackets around an IPv6 address, the source
// first when there is one; ipc://PATH.
func (e Endpoint) String() string {
	if e.Port < 0 {
		return e.Scheme + "://" + e.Host
	}
	host := e.Host
	if host == "" {
		host = "*"
	}
	src := ""
	if e.Source != "" {
		src = e.Source + ";"
	}
	return e.Scheme + "://" + src + net.JoinHostPort(host, strconv.Itoa(e.Port))
}

// Wildcard reports whether e is a bind endpoint that leaves the address to
// the system: a tcp host or port "*" (or port 0), or ipc://*. What it binds
// is known only from the listener (Bound).
func (e Endpoint) Wildcard() bool {
	if e.Port < 0 {
		return e.Host == "*"
	}
	return e.Host == "" || e.Port == 0
}

// Transport is one scheme of endpoints.
type Transport interface {
	// Parse parses the part of an endpoint after "scheme://", for a bind
	// or for a connect; errors wrap ErrBadEndpoint.
	Parse(addr string, bind bool) (Endpoint, error)
	// Listen binds e.
	Listen(ctx context.Context, e Endpoint, o Options) (net.Listener, error)
	// Resolve returns e with its address resolved, before each attempt
	// to connect.
	Resolve(ctx context.Context, e Endpoint, o Options) (Endpoint, error)
	// Dial connects to a resolved e once.
	Dial(ctx context.Context, e Endpoint, o Options) (net.Conn, error)
	// Bound returns the endpoint of a listener, as ZMQ_LAST_ENDPOINT
	// reports it.
	Bound(ln net.Listener) Endpoint
}

var transports = map[string]Transport{"tcp": tcpTransport{}, "ipc": ipcTransport{}}

// Register adds the transport of a scheme. It is for transports outside
// this package (a test's in-memory one) and must be called before any
// socket uses the scheme.
func Register(scheme string, t Transport) { transports[scheme] = t }

func lookup(e Endpoint) Transport { return transports[e.Scheme] }

// Listen binds e.
func Listen(ctx context.Context, e Endpoint, o Options) (net.Listener, error) {
	return lookup(e).Listen(ctx, e, o)
}

// Resolve returns e with its address resolved.
func Resolve(ctx context.Context, e Endpoint, o Options) (Endpoint, error) {
	return lookup(e).Resolve(ctx, e, o)
}

// Dial connects to a resolved e once.
func Dial(ctx context.Context, e Endpoint, o Options) (net.Conn, error) {
	return lookup(e).Dial(ctx, e, o)
}

// Bound returns the endpoint of ln, a listener Listen made for e.
func Bound(e Endpoint, ln net.Listener) Endpoint { return lookup(e).Bound(ln) }

// Parse parses an endpoint of a transport zrouter has, for a bind or for a
// connect. It checks what libzmq checks before it goes to the network.
func Parse(s string, bind bool) (Endpoint, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return Endpoint{}, fmt.Errorf("%w %q: want tcp://HOST:PORT, ipc://PATH or inproc://NAME", ErrBadEndpoint, s)
	}
	t := transports[scheme]
	if t == nil {
		return Endpoint{}, fmt.Errorf("%w %q: transport %q is not supported (only tcp, ipc and inproc)", ErrBadEndpoint, s, scheme)
	}
	e, err := t.Parse(rest, bind)
	if err != nil {
		return Endpoint{}, fmt.Errorf("%w %q: %w", ErrBadEndpoint, s, err)
	}
	e.Scheme = scheme
	return e, nil
}

// parseTCP parses the address of a tcp endpoint:
//
//   - tcp://HOST:PORT, where HOST is a name, an IPv4 address or a bracketed
//     IPv6 address, and PORT a number from 0 to 65535;
//   - for a bind, HOST may be "*" (every interface) and PORT "*" (any free
//     port);
//   - for a connect, HOST and PORT must name a peer: a host that does not
//     resolve is the network's business, and retried, as with libzmq;
//   - for a bind, HOST may name a network interface (tcp://eth0:5555),
//     which binds the interface's first IPv4 address (IPv6 with IPv6 on);
//   - a connect may start with a source address, tcp://SOURCE;HOST:PORT,
//     where SOURCE is as the HOST:PORT of a bind, without host names.
func parseTCP(rest string, bind bool) (Endpoint, error) {
	bad := func(why string, args ...any) (Endpoint, error) {
		return Endpoint{}, fmt.Errorf(why, args...)
	}
	var src string
	if i := strings.LastIndexByte(rest, ';'); i >= 0 {
		if bind {
			return bad("a source address (SOURCE;HOST:PORT) is for a connect")
		}
		src, rest = rest[:i], rest[i+1:]
		if _, err := parseTCP(src, true); err != nil {
			return bad("source %q: %v", src, err)
		}
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return bad("no port")
	}
	host, port := rest[:i], rest[i+1:]
	e := Endpoint{Scheme: "tcp", Source: src}
	switch {
	case port == "*" && bind:
	case port == "":
		return bad("no port")
	default:
		n, err := strconv.Atoi(port)
		if err != nil || n < 0 || n > 65535 || port[0] == '+' || port[0] == '-' {
			return bad("port %q is not a number from 0 to 65535", port)
		}
		if n == 0 && !bind {
			return bad("port 0 names no peer")
		}
		e.Port = n
	}
	switch {
	case host == "*" && bind:
		return e, nil
	case host == "":
		return bad("no host")
	case strings.HasPrefix(host, "["):
		if !strings.HasSuffix(host, "]") {
			return bad("unclosed bracket in host %q", host)
		}
		ip := net.ParseIP(host[1 : len(host)-1])
		if ip == nil || ip.To4() != nil && !strings.Contains(host, ":") {
			return bad("%q is not an IPv6 address", host)
		}
		e.Host = host[1 : len(host)-1]
		return e, nil
	}
	if strings.Contains(host, ":") {
		return bad("an IPv6 address must be in brackets, as [%s]", host)
	}
	for _, c := range host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return bad("host %q has the character %q", host, c)
		}
	}
	e.Host = host
	return e, nil
}

// fromAddr returns the endpoint of a bound or connected TCP address.
func fromAddr(a net.Addr) Endpoint {
	if ta, ok := a.(*net.TCPAddr); ok {
		host := ta.IP.String()
		if ta.IP == nil {
			host = "0.0.0.0"
		}
		return Endpoint{Scheme: "tcp", Host: host, Port: ta.Port}
	}
	host, port, _ := net.SplitHostPort(a.String())
	n, _ := strconv.Atoi(port)
	return Endpoint{Scheme: a.Network(), Host: host, Port: n}
}
