package router

import (
	"log/slog"
	"time"
)

// Mode selects how Send picks the peer of a message.
type Mode int

const (
	// Standard routes [id, frames...] to the peer named by id.
	Standard Mode = iota
	// LoadBalancer sends [frames...] to the next live peer in round robin.
	LoadBalancer
)

// String returns "standard" or "loadbalancer".
func (m Mode) String() string {
	if m == LoadBalancer {
		return "loadbalancer"
	}
	return "standard"
}

// config is a router's settings; Option functions fill it.
type config struct {
	mode             Mode
	routingID        []byte
	mandatory        bool
	handover         bool
	notify           bool
	probe            bool
	sendHWM          int
	recvHWM          int
	maxMsgSize       int64
	maxPeers         int
	heartbeatIvl     time.Duration
	heartbeatTTL     time.Duration
	heartbeatTimeout time.Duration
	handshakeTimeout time.Duration
	reconnectIvl     time.Duration
	reconnectIvlMax  time.Duration
	logger           *slog.Logger
}

func defaults() config {
	return config{
		sendHWM:          1000,
		recvHWM:          1000,
		maxMsgSize:       -1,
		handshakeTimeout: 30 * time.Second,
		reconnectIvl:     100 * time.Millisecond,
		logger:           slog.New(slog.DiscardHandler),
	}
}

// Option configures a Router.
type Option func(*config)

// WithMode selects Standard (the default) or LoadBalancer routing.
func WithMode(m Mode) Option { return func(c *config) { c.mode = m } }

// WithRoutingID sets the routing id this socket announces to its peers
// (ZMQ_ROUTING_ID). It must be 1 to 255 bytes and not start with 0x00.
func WithRoutingID(id []byte) Option {
	return func(c *config) { c.routingID = append([]byte{}, id...) }
}

// WithMandatory makes undeliverable messages an error instead of a silent,
// counted drop (ZMQ_ROUTER_MANDATORY): an unknown id returns
// *UnroutableError, and a full queue makes Send wait while its context
// allows (TrySend returns ErrWouldBlock at once).
func WithMandatory(on bool) Option { return func(c *config) { c.mandatory = on } }

// WithHandover lets a new peer take over the routing id of a connected one,
// which is then disconnected (ZMQ_ROUTER_HANDOVER). Without it the newcomer
// is refused.
func WithHandover(on bool) Option { return func(c *config) { c.handover = on } }

// WithNotify delivers a message [id, ""] to Recv when a peer connects and
// again when it disconnects (like ZMQ_ROUTER_NOTIFY).
func WithNotify(on bool) Option { return func(c *config) { c.notify = on } }

// WithProbe sends an empty message to every new peer (ZMQ_PROBE_ROUTER).
func WithProbe(on bool) Option { return func(c *config) { c.probe = on } }

// WithSendHWM bounds each peer's outbound queue to n messages (ZMQ_SNDHWM,
// default 1000); 0 means no limit.
func WithSendHWM(n int) Option { return func(c *config) { c.sendHWM = n } }

// WithRecvHWM bounds the messages waiting in Recv from each peer
// (ZMQ_RCVHWM, default 1000); 0 means no limit. A peer at its bound is not
// read from until Recv makes room, so TCP pushes back on it.
func WithRecvHWM(n int) Option { return func(c *config) { c.recvHWM = n } }

// WithMaxMsgSize closes the connection of a peer that sends a frame bigger
// than n bytes, before anything is allocated for it (ZMQ_MAXMSGSIZE);
// negative (the default) means no limit.
func WithMaxMsgSize(n int64) Option { return func(c *config) { c.maxMsgSize = n } }

// WithMaxPeers refuses connections beyond n live peers; 0 means no limit.
func WithMaxPeers(n int) Option { return func(c *config) { c.maxPeers = n } }

// WithHeartbeat sends a ZMTP 3.1 PING every ivl asking the peer for the given
// TTL, and drops a peer from which nothing arrived within timeout of an
// unanswered PING (ZMQ_HEARTBEAT_IVL, _TTL, _TIMEOUT). A zero timeout means
// ivl.
func WithHeartbeat(ivl, ttl, timeout time.Duration) Option {
	return func(c *config) { c.heartbeatIvl, c.heartbeatTTL, c.heartbeatTimeout = ivl, ttl, timeout }
}

// WithHandshakeTimeout bounds the ZMTP handshake of each connection
// (ZMQ_HANDSHAKE_IVL, default 30s); 0 means no bound.
func WithHandshakeTimeout(d time.Duration) Option {
	return func(c *config) { c.handshakeTimeout = d }
}

// WithReconnect sets the backoff of connections made with Connect: retry
// after ivl, doubling up to max when max is larger (ZMQ_RECONNECT_IVL,
// ZMQ_RECONNECT_IVL_MAX; default 100ms and no doubling).
func WithReconnect(ivl, max time.Duration) Option {
	return func(c *config) { c.reconnectIvl, c.reconnectIvlMax = ivl, max }
}

// WithLogger sets the logger for connection events; the default discards.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// ConnectOption configures one Connect call.
type ConnectOption func(*connectConfig)

type connectConfig struct {
	routingID []byte
}

// ConnectRoutingID names the peer reached by this Connect with id in this
// router's table, instead of the id the peer announces
// (ZMQ_CONNECT_ROUTING_ID); it is how a ROUTER addresses another ROUTER.
func ConnectRoutingID(id []byte) ConnectOption {
	return func(c *connectConfig) { c.routingID = append([]byte{}, id...) }
}
