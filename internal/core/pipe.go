package core

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/zrouter/zrouter/internal/config"
	"github.com/zrouter/zrouter/peer"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// Pipe is a socket's link to one peer: an outbound queue, a share of the
// inbox, and the connection that serves them while one is up.
//
// A pipe made by Connect lives until Disconnect or Close and carries every
// connection to its endpoint in turn, unless the socket is immediate or
// never reconnects; then, like the pipe of an accepted connection, it
// lives as long as one connection.
type Pipe struct {
	// Q holds the messages for the peer.
	Q *peer.Queue
	// Src is the pipe's share of the socket's inbox.
	Src *peer.Source
	// ID is the peer's routing id on a ROUTER, set by the routing before
	// the pipe can be found (and never changed after), or nil.
	ID []byte
	// Cfg is the pipe's settings: the socket's, or a Connect's own.
	Cfg *config.Config
	// Endpoint is the endpoint the pipe belongs to.
	Endpoint string

	s          *Socket
	persistent bool // outlives its connections
	accepted   bool // made for an accepted connection
	conn       atomic.Pointer[peer.Peer]
	removed    atomic.Bool
	retired    atomic.Bool
	gone       chan struct{} // closed when the pipe leaves the socket
	at         int           // index in the registry; guarded by the registry's lock
	bind       *binding      // the listener an accepted pipe came through
	more       chan struct{} // a Connect's pipe: closed when its loop has returned

	// cmu orders Close with a connection coming up: one asked between
	// the routing's admission and conn's store (a ROUTER's handover,
	// from the hub) is kept in closeAsk for attach to apply.
	cmu       sync.Mutex
	attaching bool
	closeAsk  *socket.CloseReason

	// props are the properties of the last connection that came up.
	props atomic.Pointer[props]

	// Set when a connection comes up, for Peers; guarded by the
	// registry's lock.
	remote   string
	peerType zmtp.SocketType
	shownID  []byte // ID, or else the identity the peer announced
}

func newPipe(s *Socket, cfg *config.Config, endpoint string, sndhwm, rcvhwm int, persistent bool) *Pipe {
	p := &Pipe{
		Q:          peer.NewQueue(sndhwm, s.spec.Skip),
		Cfg:        cfg,
		Endpoint:   endpoint,
		s:          s,
		persistent: persistent,
		gone:       make(chan struct{}),
	}
	if !strings.HasPrefix(endpoint, "inproc://") {
		p.Q.SetPacking()
	}
	p.Src = s.Inbox.NewSource(rcvhwm, p)
	if s.spec.DropIn {
		p.Src.SetDropping()
	}
	if f := s.spec.Filter; f != nil {
		p.Src.SetFilter(func(m *wire.Msg) bool { return f(p, m) }, s.spec.FilterLock)
	}
	return p
}

// Owner returns the socket the pipe belongs to.
func (p *Pipe) Owner() *Socket { return p.s }

// Persistent reports whether the pipe outlives its connections.
func (p *Pipe) Persistent() bool { return p.persistent }

// connectionOnly reports whether the pipe goes with its connection, and its
// connection's end retires it: an accepted connection's, or one an
// immediate Connect made for its connection. A Connect's own pipe is
// retired by its connect loop, which forgets the endpoint at the same time
// when it has to.
func (p *Pipe) connectionOnly() bool { return !p.persistent && p.more == nil }

// Connected reports whether a connection is up on the pipe.
func (p *Pipe) Connected() bool { return p.conn.Load() != nil }

// Removed reports whether the pipe has left the socket.
func (p *Pipe) Removed() bool { return p.removed.Load() }

// Gone returns a channel that is closed when the pipe leaves the socket.
func (p *Pipe) Gone() <-chan struct{} { return p.gone }

// WriteNow writes m from the caller's goroutine when a connection is up
// and idle (peer.Peer.WriteNow), and reports whether it did; otherwise m
// stays with the caller.
func (p *Pipe) WriteNow(m *wire.Msg) bool {
	c := p.conn.Load()
	return c != nil && c.WriteNow(m)
}

// Close ends the pipe's connection, if one is up or coming up, with the
// given reason; a persistent pipe then reconnects.
func (p *Pipe) Close(reason socket.CloseReason) {
	p.cmu.Lock()
	c := p.conn.Load()
	if c == nil && p.attaching {
		p.closeAsk = &reason
	}
	p.cmu.Unlock()
	if c != nil {
		c.Close(reason)
	}
}

// beginAttach marks a connection coming up on p: a Close from now until
// endAttach applies to it.
func (p *Pipe) beginAttach() {
	p.cmu.Lock()
	p.attaching, p.closeAsk = true, nil
	p.cmu.Unlock()
}

// endAttach stores c as p's connection, or none when c is nil (refused),
// and returns the reason of a Close asked meanwhile, or nil.
func (p *Pipe) endAttach(c *peer.Peer) *socket.CloseReason {
	p.cmu.Lock()
	defer p.cmu.Unlock()
	if c != nil {
		p.conn.Store(c)
	}
	ask := p.closeAsk
	p.attaching, p.closeAsk = false, nil
	return ask
}

// remoteAddr returns the address of a connection.
func remoteAddr(c net.Conn) string {
	if a := c.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}
