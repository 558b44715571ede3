package socket

import (
	"context"

	"github.com/zrouter/zrouter/wire"
)

// Socket is the part every zrouter socket shares: its endpoints, Send and
// Recv, its counters, its events and its end. Each socket type
// (router.Router, dealer.Dealer, ...) embeds a Socket and adds the routing
// of its type: where Send puts a message, and what Recv delivers, is what
// its package describes.
//
// A socket binds and connects as many endpoints as it likes, at any time.
// Each Connect keeps its connection up in the background, reconnecting
// after failures, until Disconnect or Close. Messages from every
// connection are fair-queued for Recv. The socket's connections, its
// goroutines and its queues all end with Close, which waits for them.
//
// All methods are safe for concurrent use.
type Socket struct {
	e  engine
	in receiver // the inbox, called directly: a call less per message
	tx sender   // the socket type's routing
}

// receiver is the socket's inbox.
type receiver = interface {
	Recv(ctx context.Context) (*wire.Msg, error)
}

// sender is the socket type's routing of what Send is given.
type sender = interface {
	Send(ctx context.Context, m *wire.Msg, wait bool) error
}

// engine is what the socket core implements behind a Socket.
type engine interface {
	Type() string
	Bind(endpoint string) error
	Unbind(endpoint string) error
	Connect(endpoint string, opts []Option) error
	Disconnect(endpoint string) error
	Addr() string
	Receiver() receiver
	Sender() sender
	TryRecv() (*wire.Msg, error)
	WaitPeers(ctx context.Context, n int) error
	SetSendHWM(n int) error
	SetRecvHWM(n int) error
	Stats() Stats
	Peers() []PeerInfo
	Property(m *wire.Msg, name string) (string, bool)
	AddMonitor(key any, emit func(Event) bool, stop func())
	RemoveMonitor(key any)
	Shutdown(ctx context.Context) error
	Close() error
}

// Type returns the socket's type as ZMTP names it: "ROUTER", "DEALER", ...
func (s *Socket) Type() string { return s.e.Type() }

// Bind listens on endpoint and accepts peers there until Unbind or Close.
// Endpoints are written as libzmq writes them: tcp://HOST:PORT, where HOST
// may be * for every IPv4 interface (every interface with WithIPv6) or the
// name of a network interface, and PORT may be * or 0 for any free port;
// or ipc://PATH (absolute or relative), ipc://@NAME (Linux's abstract
// namespace), or ipc://* for a fresh path in a new temporary directory.
// An ipc bind removes a socket file that no process listens on any more,
// but fails with EADDRINUSE while a live listener holds the path; Unbind
// and Close remove the file it made. Addr reports the endpoint actually
// bound. A bad endpoint is refused with ErrBadEndpoint; a failure to
// listen is returned, and reported to monitors as EventBindFailed.
// inproc://NAME binds NAME among the sockets of the process (see the
// package doc).
func (s *Socket) Bind(endpoint string) error { return s.e.Bind(endpoint) }

// Unbind stops listening on endpoint and closes the connections accepted
// there; messages queued for them are dropped after the linger time, and
// messages received from them but not yet read are dropped at once, as
// zmq_unbind does. endpoint is the one given to Bind, or the one Addr
// reported for it (needed for a wildcard). An endpoint not bound returns
// ErrUnknownEndpoint.
func (s *Socket) Unbind(endpoint string) error { return s.e.Unbind(endpoint) }

// Connect connects to endpoint (tcp://HOST:PORT, tcp://SOURCE;HOST:PORT
// from a local address, or ipc://PATH) in the background and
// keeps the connection up until Disconnect or Close, reconnecting after
// failures as the reconnect options say. Connect checks the endpoint's
// syntax and returns ErrBadEndpoint at once for a bad one; a host that
// does not resolve, or a port that refuses, is retried, and reported to
// monitors and, once per failure, to the logger at WARN.
//
// Unless the socket is immediate, the connection's pipe is made at once:
// messages sent to it wait in its queue, up to the high-water mark, until
// a connection is up, and it keeps them across reconnects.
//
// opts apply to this connection alone, over the socket's own; only the
// options documented as per connection are allowed.
func (s *Socket) Connect(endpoint string, opts ...Option) error {
	return s.e.Connect(endpoint, opts)
}

// Disconnect stops connecting to endpoint, which must have been given to
// Connect, and removes its pipe: the connection closes after the linger
// time for what is queued, and messages received but not yet read are
// dropped, as zmq_disconnect does. An endpoint not connected returns
// ErrUnknownEndpoint.
func (s *Socket) Disconnect(endpoint string) error { return s.e.Disconnect(endpoint) }

// Addr returns the endpoint of the most recent Bind, with the address and
// port actually bound (libzmq's ZMQ_LAST_ENDPOINT), or "" before any Bind.
func (s *Socket) Addr() string { return s.e.Addr() }

// Recv returns the next message, fair-queued across the socket's pipes,
// waiting while ctx allows. It returns net.ErrClosed once the socket is
// closed. The caller owns the message: it releases it (wire.Msg.Release)
// or hands it to a Send.
func (s *Socket) Recv(ctx context.Context) (*wire.Msg, error) { return s.in.Recv(ctx) }

// TryRecv is Recv that never waits: with nothing to receive it returns
// ErrWouldBlock.
func (s *Socket) TryRecv() (*wire.Msg, error) { return s.e.TryRecv() }

// Send hands m to the socket, which takes ownership of it on success. Where
// it goes, and what Send does when there is no room, is the socket type's
// routing; a Send that waits does so while ctx allows. When Send returns an
// error the caller keeps m. After Close begins it returns net.ErrClosed.
func (s *Socket) Send(ctx context.Context, m *wire.Msg) error { return s.tx.Send(ctx, m, true) }

// TrySend is Send that never waits: where Send would wait it returns
// ErrWouldBlock, and the caller keeps m.
func (s *Socket) TrySend(m *wire.Msg) error { return s.tx.Send(context.Background(), m, false) }

// SendFrames copies frames into a new message and sends it.
func (s *Socket) SendFrames(ctx context.Context, frames ...[]byte) error {
	m := wire.New(frames...)
	err := s.Send(ctx, m)
	if err != nil {
		m.Release()
	}
	return err
}

// WaitPeers waits until at least n connections are up, or ctx ends. It
// returns net.ErrClosed when the socket closes first.
func (s *Socket) WaitPeers(ctx context.Context, n int) error { return s.e.WaitPeers(ctx, n) }

// SetSendHWM changes the send high-water mark of the socket and of every
// pipe it has, as setting ZMQ_SNDHWM on a live libzmq socket does. Raising
// it lets waiting senders in; lowering it below what a pipe holds keeps
// those messages and refuses more until the pipe drains below the new
// mark. 0 means no limit.
func (s *Socket) SetSendHWM(n int) error { return s.e.SetSendHWM(n) }

// SetRecvHWM changes the receive high-water mark of the socket and of every
// pipe it has, as setting ZMQ_RCVHWM on a live libzmq socket does. 0 means
// no limit.
func (s *Socket) SetRecvHWM(n int) error { return s.e.SetRecvHWM(n) }

// Property returns a property of the connection a received message came
// from, as libzmq's zmq_msg_gets does: "User-Id", the name the
// authenticator gave the peer (WithAuthenticator); "Peer-Address", its IP
// address; "Socket-Type", "Identity" and whatever else the peer sent in its
// handshake; and the metadata the authenticator added. Names are
// case-insensitive. It reports false for a property the connection does
// not have, and for a message that this socket did not receive.
//
// For a Connect's pipe, the properties are those of its latest connection.
func (s *Socket) Property(m *wire.Msg, name string) (string, bool) { return s.e.Property(m, name) }

// Stats returns the socket's counters. It costs a few atomic loads per
// pipe and never waits for the socket's own goroutines, so it may be called
// as often as a metrics scrape likes, whatever the number of peers.
func (s *Socket) Stats() Stats { return s.e.Stats() }

// Peers describes every pipe of the socket, and its connection.
func (s *Socket) Peers() []PeerInfo { return s.e.Peers() }

// Monitor starts delivering the socket's connection events on a new
// Monitor with room for buffer events. A socket may have several monitors;
// each gets every event from its start until it is stopped or the socket
// closes. A monitor made after Close gets only EventMonitorStopped.
func (s *Socket) Monitor(buffer int) *Monitor {
	m := newMonitor(buffer, func(m *Monitor) { s.e.RemoveMonitor(m) })
	s.e.AddMonitor(m, m.emit, m.Stop)
	return m
}

// Shutdown closes the socket like Close, except that it waits for queued
// messages to be written only while ctx allows, whatever the linger
// option says; then it drops what is left. It returns ctx's error when
// messages were dropped for want of time.
func (s *Socket) Shutdown(ctx context.Context) error { return s.e.Shutdown(ctx) }

// Close closes the socket. It stops listening and connecting, waits for
// the messages queued for peers to be written as the linger option says
// (by default until they all are), closes every connection, stops the
// monitors, and returns when every goroutine the socket started has ended.
// Recv and Send then return net.ErrClosed. Close is idempotent.
func (s *Socket) Close() error { return s.e.Close() }
