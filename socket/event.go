package socket

import (
	"sync"
	"time"
)

// EventKind is the kind of a connection event, after libzmq's
// zmq_socket_monitor events.
type EventKind int

// Event kinds, each with the libzmq event it stands for.
const (
	// EventListening: Bind is listening on Endpoint (ZMQ_EVENT_LISTENING).
	EventListening EventKind = iota + 1
	// EventBindFailed: Bind could not listen on Endpoint; Err says why
	// (ZMQ_EVENT_BIND_FAILED).
	EventBindFailed
	// EventAccepted: a connection from Remote was accepted on Endpoint
	// (ZMQ_EVENT_ACCEPTED).
	EventAccepted
	// EventAcceptFailed: accepting on Endpoint failed; Err says why
	// (ZMQ_EVENT_ACCEPT_FAILED).
	EventAcceptFailed
	// EventConnected: a connection to Endpoint is up (ZMQ_EVENT_CONNECTED).
	EventConnected
	// EventConnectDelayed: a connection attempt to Endpoint has started
	// and not completed yet (ZMQ_EVENT_CONNECT_DELAYED).
	EventConnectDelayed
	// EventConnectRetried: a connection to Endpoint failed or ended, and
	// the next attempt comes after Interval; Err says why the last one
	// failed, when it did (ZMQ_EVENT_CONNECT_RETRIED).
	EventConnectRetried
	// EventHandshakeSucceeded: the ZMTP handshake with Remote completed
	// and the socket admitted the peer (ZMQ_EVENT_HANDSHAKE_SUCCEEDED).
	EventHandshakeSucceeded
	// EventHandshakeFailed: the handshake with Remote failed, or the
	// socket refused the peer after it; Failure and Err say why
	// (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, _PROTOCOL and _AUTH).
	EventHandshakeFailed
	// EventDisconnected: a connection ended; Reason says why
	// (ZMQ_EVENT_DISCONNECTED). As libzmq, it follows every
	// EventHandshakeFailed, and is not sent for a connection the socket
	// closes itself (Close, Disconnect, Unbind).
	EventDisconnected
	// EventClosed: a listener or a connection of Endpoint was closed
	// (ZMQ_EVENT_CLOSED).
	EventClosed
	// EventMonitorStopped: the last event of a monitor, sent when it is
	// stopped or its socket closes (ZMQ_EVENT_MONITOR_STOPPED).
	EventMonitorStopped
)

var kindNames = [...]string{
	EventListening:          "listening",
	EventBindFailed:         "bind failed",
	EventAccepted:           "accepted",
	EventAcceptFailed:       "accept failed",
	EventConnected:          "connected",
	EventConnectDelayed:     "connect delayed",
	EventConnectRetried:     "connect retried",
	EventHandshakeSucceeded: "handshake succeeded",
	EventHandshakeFailed:    "handshake failed",
	EventDisconnected:       "disconnected",
	EventClosed:             "closed",
	EventMonitorStopped:     "monitor stopped",
}

// String returns a short lower-case name of the kind.
func (k EventKind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// HandshakeFailure classifies a failed handshake.
type HandshakeFailure int

// Handshake failures.
const (
	// HandshakeNoDetail: the connection failed or timed out before the
	// handshake completed (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL).
	HandshakeNoDetail HandshakeFailure = iota
	// HandshakeProtocol: the peer broke the ZMTP grammar or speaks a
	// version before 3.0 (ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL).
	HandshakeProtocol
	// HandshakeMechanism: the peer uses another security mechanism
	// (libzmq reports it as a protocol failure).
	HandshakeMechanism
	// HandshakeSocketType: the peer's socket type cannot talk to ours
	// (libzmq reports it as a protocol failure).
	HandshakeSocketType
	// HandshakeAuth: the peer's credentials were refused, or it refused
	// ours (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH).
	HandshakeAuth
	// HandshakeRefused: the handshake completed, but the socket refused
	// the peer: its routing id was taken, or the socket had its maximum
	// of peers.
	HandshakeRefused
)

var failureNames = [...]string{
	HandshakeNoDetail:   "no detail",
	HandshakeProtocol:   "protocol",
	HandshakeMechanism:  "mechanism",
	HandshakeSocketType: "socket type",
	HandshakeAuth:       "auth",
	HandshakeRefused:    "refused",
}

// String returns a short lower-case name of the failure.
func (f HandshakeFailure) String() string {
	if f >= 0 && int(f) < len(failureNames) {
		return failureNames[f]
	}
	return "unknown"
}

// Event is one connection event of a socket.
type Event struct {
	Kind EventKind
	// Endpoint is the endpoint the event belongs to, as Bind or Connect
	// was given it (for a bound one, as Addr reports it).
	Endpoint string
	// Remote is the address of the peer, for a connection's events.
	Remote string
	// RoutingID is the peer's routing id, where known: the id a ROUTER
	// gave the peer, or the identity the peer announced.
	RoutingID []byte
	// Err is the error behind a failure.
	Err error
	// Failure classifies an EventHandshakeFailed.
	Failure HandshakeFailure
	// Status is the ZAP status (300, 400 or 500) of a HandshakeAuth
	// failure: what our authenticator answered, or what the server that
	// refused us said (the value of ZMQ_EVENT_HANDSHAKE_FAILED_AUTH).
	Status int
	// Reason says why an EventDisconnected connection ended.
	Reason CloseReason
	// Interval is the wait before the next attempt, for
	// EventConnectRetried.
	Interval time.Duration
}

// Monitor delivers a socket's events, as zmq_socket_monitor does. Make one
// with the socket's Monitor method.
//
// A monitor never slows its socket: an event that finds the buffer full is
// dropped and counted (Dropped, and the socket's Stats.EventsDropped). The
// last event is always EventMonitorStopped, after which C is closed.
//
// All methods are safe for concurrent use.
type Monitor struct {
	// C delivers the events, oldest first.
	C <-chan Event

	c       chan Event
	mu      sync.Mutex // guards c against a send after close
	stopped bool
	dropped uint64
	onStop  func(*Monitor)
}

// newMonitor returns a monitor with room for buffer events. onStop runs
// once, when Stop is first called; it must not call the monitor's methods.
func newMonitor(buffer int, onStop func(*Monitor)) *Monitor {
	if buffer < 1 {
		buffer = 1
	}
	// One slot more, kept for EventMonitorStopped.
	c := make(chan Event, buffer+1)
	return &Monitor{C: c, c: c, onStop: onStop}
}

// emit delivers ev, or drops it when the buffer is full, and reports
// false for a dropped event. A stopped monitor takes no more events.
func (m *Monitor) emit(ev Event) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return true
	}
	if len(m.c) >= cap(m.c)-1 {
		m.dropped++
		return false
	}
	m.c <- ev
	return true
}

// Dropped returns the number of events this monitor dropped for want of
// room.
func (m *Monitor) Dropped() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dropped
}

// Stop ends the monitor: it sends EventMonitorStopped and closes C. Stop is
// idempotent; closing the socket stops its monitors.
func (m *Monitor) Stop() {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return
	}
	m.stopped = true
	m.c <- Event{Kind: EventMonitorStopped}
	close(m.c)
	m.mu.Unlock()
	if m.onStop != nil {
		m.onStop(m)
	}
}
