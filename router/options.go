package router

import (
	"fmt"

	"github.com/zrouter/zrouter/internal/config"
	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/zmtp"
)

// Mode selects how Send picks the peer of a message.
type Mode int

const (
	// Standard routes [id, frames...] to the peer named by id.
	Standard Mode = iota
	// LoadBalancer sends [frames...] to the next peer in round robin
	// whose queue has room.
	LoadBalancer
)

// String returns "standard" or "loadbalancer".
func (m Mode) String() string {
	if m == LoadBalancer {
		return "loadbalancer"
	}
	return "standard"
}

var routerOnly = []zmtp.SocketType{zmtp.ROUTER}

// option makes a ROUTER option that New takes.
func option(name string, set func(*config.Config)) socket.Option {
	return core.Option(config.Opt{Name: name, Types: routerOnly, Socket: true, Set: func(c *config.Config) error {
		set(c)
		return nil
	}})
}

// WithMode selects Standard (the default) or LoadBalancer routing.
func WithMode(m Mode) socket.Option {
	return option("router mode", func(c *config.Config) { c.LoadBalance = m == LoadBalancer })
}

// WithMandatory makes undeliverable messages an error instead of a silent,
// counted drop (ZMQ_ROUTER_MANDATORY): an unknown id returns
// *socket.UnroutableError, and a full queue makes Send wait while its
// context allows (TrySend returns socket.ErrWouldBlock at once).
func WithMandatory(on bool) socket.Option {
	return option("ZMQ_ROUTER_MANDATORY", func(c *config.Config) { c.Mandatory = on })
}

// WithHandover lets a new peer take over the routing id of a connected one,
// which is then disconnected (ZMQ_ROUTER_HANDOVER). Without it the newcomer
// is refused.
func WithHandover(on bool) socket.Option {
	return option("ZMQ_ROUTER_HANDOVER", func(c *config.Config) { c.Handover = on })
}

// Notify selects the ROUTER_NOTIFY messages: an empty message from a peer,
// [id, ""], when it connects, when it disconnects, or both.
type Notify int

// The ZMQ_ROUTER_NOTIFY flags, with libzmq's values.
const (
	NotifyConnect    Notify = 1 // ZMQ_NOTIFY_CONNECT
	NotifyDisconnect Notify = 2 // ZMQ_NOTIFY_DISCONNECT
)

// WithNotify makes Recv deliver [id, ""] when a peer's connection comes up
// (NotifyConnect) or goes down (NotifyDisconnect), as ZMQ_ROUTER_NOTIFY
// does. The connect message comes before any message of that connection,
// the disconnect message after all of them.
func WithNotify(n Notify) socket.Option {
	return core.Option(config.Opt{Name: "ZMQ_ROUTER_NOTIFY", Types: routerOnly, Socket: true, Set: func(c *config.Config) error {
		if n&^(NotifyConnect|NotifyDisconnect) != 0 {
			return fmt.Errorf("%d is not a set of NotifyConnect and NotifyDisconnect", n)
		}
		c.Notify = config.Notify(n)
		return nil
	}})
}

// ConnectRoutingID names the peer reached by one Connect with id in this
// router's table, instead of the id the peer announces
// (ZMQ_CONNECT_ROUTING_ID); it is how a ROUTER addresses another ROUTER.
// The pipe gets the id at once, so a message sent to id right after
// Connect waits for the connection, as with libzmq. It is given to
// Connect, not to New: r.Connect(endpoint, router.ConnectRoutingID(id)).
func ConnectRoutingID(id []byte) socket.Option {
	id = append([]byte(nil), id...)
	return core.Option(config.Opt{Name: "ZMQ_CONNECT_ROUTING_ID", Types: routerOnly, PerConnect: true, Set: func(c *config.Config) error {
		if !socket.ValidRoutingID(id) {
			return socket.ErrBadRoutingID
		}
		c.ConnectRoutingID = id
		return nil
	}})
}
