package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"
)

// Options are a socket's settings that its transports use.
type Options struct {
	// IPv6 lets a tcp endpoint use IPv6 (ZMQ_IPV6). Without it a wildcard
	// binds the IPv4 wildcard, and host names resolve to IPv4 only.
	IPv6 bool
	// Keepalive is ZMQ_TCP_KEEPALIVE: -1 leaves the system's setting, 0
	// turns probes off, 1 on with the schedule below.
	Keepalive int
	// KeepaliveIdle, KeepaliveInterval and KeepaliveCount are the probe
	// schedule; zero leaves the system's value.
	KeepaliveIdle, KeepaliveInterval time.Duration
	KeepaliveCount                   int

	// IPCPerm, when not zero, is the mode given to the socket file of an
	// ipc bind, once bound.
	IPCPerm os.FileMode
	// IPCFilter lets in only the ipc peers whose credentials match.
	IPCFilter IPCFilter
}

// network returns the net package's network for o.
func (o Options) network() string {
	if o.IPv6 {
		return "tcp"
	}
	return "tcp4"
}

// keepalive applies ZMQ_TCP_KEEPALIVE and its schedule to a connection, as
// libzmq's tune_tcp_keepalives does: nothing for -1; for 0 and 1,
// SO_KEEPALIVE off or on, and the schedule's values that are set, whether
// the probes are on or not.
func (o Options) keepalive(c net.Conn) error {
	tc, ok := c.(*net.TCPConn)
	if !ok || o.Keepalive < 0 {
		return nil
	}
	unset := func(d time.Duration) time.Duration {
		if d == 0 {
			return -1 // leave the system's value
		}
		return d
	}
	count := o.KeepaliveCount
	if count == 0 {
		count = -1
	}
	return tc.SetKeepAliveConfig(net.KeepAliveConfig{
		Enable:   o.Keepalive == 1,
		Idle:     unset(o.KeepaliveIdle),
		Interval: unset(o.KeepaliveInterval),
		Count:    count,
	})
}

// hostport returns e's address for the net package. A host that names a
// network interface becomes the interface's address, as libzmq resolves a
// bind's host (and a connect's source) as an interface name before it
// tries anything else.
func (e Endpoint) hostport(o Options) (string, error) {
	host := e.Host
	if host == "" && !o.IPv6 {
		host = "0.0.0.0"
	}
	if ip, err := nicAddr(host, o.IPv6); err != nil {
		return "", err
	} else if ip != "" {
		host = ip
	}
	return net.JoinHostPort(host, strconv.Itoa(e.Port)), nil
}

// errNoInterfaceAddr reports a network interface without an address of the
// family a bind or a source wants.
var errNoInterfaceAddr = errors.New("the interface has no address of that family")

// nicAddr returns the first address of the network interface named host:
// IPv4, or IPv6 when ipv6 is set (libzmq looks for one family only). It
// returns "" when host is an IP address, empty, or names no interface.
func nicAddr(host string, ipv6 bool) (string, error) {
	if host == "" || net.ParseIP(host) != nil {
		return "", nil
	}
	ifi, err := net.InterfaceByName(host)
	if err != nil {
		return "", nil
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return "", err
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if is4 := ipn.IP.To4() != nil; is4 != ipv6 {
			return ipn.IP.String(), nil
		}
	}
	return "", fmt.Errorf("%s: %w", host, errNoInterfaceAddr)
}

// sourceAddr returns the local address of a connect to e, or nil when the
// system chooses it. Its host is an IP address, "*" or an interface: a
// source is never looked up by name, as in libzmq.
func (e Endpoint) sourceAddr(o Options) (*net.TCPAddr, error) {
	if e.Source == "" {
		return nil, nil
	}
	se, err := parseTCP(e.Source, true)
	if err != nil {
		return nil, err
	}
	la := &net.TCPAddr{Port: se.Port}
	switch ip, err := nicAddr(se.Host, o.IPv6); {
	case err != nil:
		return nil, err
	case ip != "":
		la.IP = net.ParseIP(ip)
	case se.Host == "":
	default:
		if la.IP = net.ParseIP(se.Host); la.IP == nil {
			return nil, fmt.Errorf("source host %q is neither an IP address nor a network interface", se.Host)
		}
	}
	return la, nil
}

// tcpTransport is tcp://.
type tcpTransport struct{}

func (tcpTransport) Parse(addr string, bind bool) (Endpoint, error) { return parseTCP(addr, bind) }

func (tcpTransport) Bound(ln net.Listener) Endpoint { return fromAddr(ln.Addr()) }

func (tcpTransport) Listen(ctx context.Context, e Endpoint, o Options) (net.Listener, error) {
	// KeepAlive -1: Go would turn probes on every 15 s by default; libzmq
	// leaves the system's setting (on Linux: off), and so does keepalive
	// unless told otherwise.
	lc := net.ListenConfig{KeepAlive: -1}
	hp, err := e.hostport(o)
	if err != nil {
		return nil, err
	}
	ln, err := lc.Listen(ctx, o.network(), hp)
	if err != nil || o.Keepalive < 0 {
		return ln, err
	}
	return &tcpListener{Listener: ln, o: o}, nil
}

// tcpListener applies the keepalive options to each accepted connection.
type tcpListener struct {
	net.Listener
	o Options
}

func (l *tcpListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if err := l.o.keepalive(c); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// Dial connects to e once, from its source address when it has one (with
// SO_REUSEADDR, as libzmq binds it, so that one source port can reach many
// servers). Go sets TCP_NODELAY, as libzmq does.
func (tcpTransport) Dial(ctx context.Context, e Endpoint, o Options) (net.Conn, error) {
	d := net.Dialer{KeepAlive: -1} // as for Listen
	la, err := e.sourceAddr(o)
	if err != nil {
		return nil, err
	}
	if la != nil {
		d.LocalAddr, d.Control = la, reuseAddr
	}
	hp, err := e.hostport(o)
	if err != nil {
		return nil, err
	}
	c, err := d.DialContext(ctx, o.network(), hp)
	if err != nil {
		return nil, err
	}
	if err := o.keepalive(c); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// Resolve returns e with its host resolved to an IP address, as libzmq
// resolves a connect endpoint before each attempt: IPv4 only unless IPv6
// is on, the first address the resolver gives. An IP address stays as it
// is, though an IPv6 one without IPv6 on fails.
func (tcpTransport) Resolve(ctx context.Context, e Endpoint, o Options) (Endpoint, error) {
	network := "ip4"
	if o.IPv6 {
		network = "ip"
	}
	if ip, err := netip.ParseAddr(e.Host); err == nil {
		if ip.Is6() && !ip.Is4In6() && !o.IPv6 {
			return e, &net.AddrError{Err: "IPv6 address without IPv6 on", Addr: e.Host}
		}
		return e, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, network, e.Host)
	if err != nil {
		return e, err
	}
	e.Host = ips[0].Unmap().String()
	return e, nil
}
