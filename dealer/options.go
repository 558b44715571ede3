package dealer

import (
	"log/slog"
	"time"
)

// config is a dealer's settings; Option functions fill it.
type config struct {
	routingID        []byte
	sendHWM          int
	recvHWM          int
	maxMsgSize       int64
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

// Option configures a Dealer.
type Option func(*config)

// WithRoutingID sets the routing id this socket announces to its peers in
// READY (ZMQ_ROUTING_ID); a ROUTER peer then addresses it by that id. It
// must be 1 to 255 bytes and not start with 0x00.
func WithRoutingID(id []byte) Option {
	return func(c *config) { c.routingID = append(make([]byte, 0, len(id)), id...) }
}

// WithSendHWM bounds each pipe's outbound queue to n messages (ZMQ_SNDHWM,
// default 1000); 0 means no limit. When every pipe is at its bound, Send
// waits and TrySend returns ErrWouldBlock.
func WithSendHWM(n int) Option { return func(c *config) { c.sendHWM = n } }

// WithRecvHWM bounds the messages waiting in Recv from each connection
// (ZMQ_RCVHWM, default 1000); 0 means no limit. A connection at its bound is
// not read from until Recv makes room, so TCP pushes back on the peer.
func WithRecvHWM(n int) Option { return func(c *config) { c.recvHWM = n } }

// WithMaxMsgSize closes the connection of a peer that sends a frame bigger
// than n bytes, before anything is allocated for it (ZMQ_MAXMSGSIZE);
// negative (the default) means no limit.
func WithMaxMsgSize(n int64) Option { return func(c *config) { c.maxMsgSize = n } }

// WithHeartbeat sends a ZMTP 3.1 PING every ivl asking the peer for the given
// TTL, and drops a connection from which nothing arrived within timeout of
// an unanswered PING (ZMQ_HEARTBEAT_IVL, _TTL, _TIMEOUT). A zero timeout
// means ivl.
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

// recheck is how long a Send that waits on one full pipe gives the others
// before it looks at them again, when several connected pipes are full.
const recheck = 10 * time.Millisecond
