package core_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/zrouter/zrouter/internal/transport"
)

// memNet is an in-memory transport, mem://NAME, over net.Pipe: the tests
// of the socket core run on testing/synctest's fake clock with it, where a
// real socket would keep the clock from moving. Names are global to the
// test binary; each test uses names of its own.
type memNet struct {
	mu        sync.Mutex
	listeners map[string]*memListener
}

var mem = &memNet{listeners: make(map[string]*memListener)}

func init() { transport.Register("mem", mem) }

func (*memNet) Parse(addr string, bind bool) (transport.Endpoint, error) {
	if addr == "" {
		return transport.Endpoint{}, errors.New("no name")
	}
	return transport.Endpoint{Scheme: "mem", Host: addr, Port: -1}, nil
}

func (*memNet) Resolve(_ context.Context, e transport.Endpoint, _ transport.Options) (transport.Endpoint, error) {
	return e, nil
}

func (n *memNet) Listen(_ context.Context, e transport.Endpoint, _ transport.Options) (net.Listener, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.listeners[e.Host] != nil {
		return nil, fmt.Errorf("mem://%s: address in use", e.Host)
	}
	ln := &memListener{n: n, name: e.Host, conns: make(chan net.Conn), done: make(chan struct{})}
	n.listeners[e.Host] = ln
	return ln, nil
}

func (n *memNet) Dial(ctx context.Context, e transport.Endpoint, _ transport.Options) (net.Conn, error) {
	n.mu.Lock()
	ln := n.listeners[e.Host]
	n.mu.Unlock()
	if ln == nil {
		return nil, fmt.Errorf("mem://%s: connection refused", e.Host)
	}
	local, remote := net.Pipe()
	select {
	case ln.conns <- remote:
		return local, nil
	case <-ln.done:
		return nil, fmt.Errorf("mem://%s: connection refused", e.Host)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (*memNet) Bound(ln net.Listener) transport.Endpoint {
	return transport.Endpoint{Scheme: "mem", Host: ln.(*memListener).name, Port: -1}
}

// dial connects a hand-driven peer to mem://name.
func (n *memNet) dial(name string) (net.Conn, error) {
	return n.Dial(context.Background(), transport.Endpoint{Scheme: "mem", Host: name, Port: -1}, transport.Options{})
}

// listen binds mem://name for a hand-driven peer.
func (n *memNet) listen(name string) (*memListener, error) {
	ln, err := n.Listen(context.Background(), transport.Endpoint{Scheme: "mem", Host: name, Port: -1}, transport.Options{})
	if err != nil {
		return nil, err
	}
	return ln.(*memListener), nil
}

type memListener struct {
	n     *memNet
	name  string
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.n.mu.Lock()
		delete(l.n.listeners, l.name)
		l.n.mu.Unlock()
	})
	return nil
}

func (l *memListener) Addr() net.Addr { return memAddr(l.name) }

type memAddr string

func (memAddr) Network() string  { return "mem" }
func (a memAddr) String() string { return string(a) }
