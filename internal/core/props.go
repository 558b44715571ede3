package core

import (
	"net"
	"strings"

	"github.com/zrouter/zrouter/internal/msgmeta"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// props is what a connection's handshake said of the peer: the
// properties of every message it sends (libzmq's message metadata).
type props struct {
	userID  string        // the authenticator's name for it; empty when none
	address string        // its IP address, or the transport's address
	peer    zmtp.Metadata // what it sent in its handshake
	auth    zmtp.Metadata // what the authenticator added
}

// newProps returns the properties of a connection c whose handshake gave
// sess.
func newProps(c net.Conn, sess *zmtp.Session) *props {
	pr := &props{userID: sess.UserID, peer: sess.Metadata, auth: sess.Auth}
	switch a := c.RemoteAddr().(type) {
	case *net.TCPAddr:
		pr.address = a.IP.String()
	case nil:
	default:
		pr.address = a.String()
	}
	return pr
}

// Property returns a property of the connection m arrived on, as
// zmq_msg_gets does: "User-Id", "Peer-Address", what the authenticator
// added, and what the peer sent in its handshake ("Socket-Type",
// "Identity" or "Routing-Id", ...), in that order. Names are
// case-insensitive, as ZMTP's are.
func (s *Socket) Property(m *wire.Msg, name string) (string, bool) {
	p, ok := msgmeta.Of(m).Origin.(*Pipe)
	if !ok || p.s != s {
		return "", false
	}
	pr := p.props.Load()
	if pr == nil {
		return "", false
	}
	switch {
	case strings.EqualFold(name, "User-Id"):
		return pr.userID, pr.userID != ""
	case strings.EqualFold(name, "Peer-Address"):
		return pr.address, pr.address != ""
	}
	// The authenticator's word over the peer's, as in libzmq: a peer
	// must not be able to say what its authenticator says of it.
	if v, ok := pr.auth.Get(name); ok {
		return string(v), true
	}
	if v, ok := pr.peer.Get(name); ok {
		return string(v), true
	}
	// libzmq's two names for one property.
	switch {
	case strings.EqualFold(name, zmtp.PropIdentity):
		name = "Routing-Id"
	case strings.EqualFold(name, "Routing-Id"):
		name = zmtp.PropIdentity
	default:
		return "", false
	}
	v, ok := pr.peer.Get(name)
	return string(v), ok
}
