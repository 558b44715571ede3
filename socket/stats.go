package socket

// Stats are a socket's counters since it was made. They stay true after
// Close: what the socket's connections did is kept when they end.
//
// A message counts once however many frames it has. Bytes are the bytes of
// message frames that crossed the connection, without ZMTP framing: a
// ROUTER's routing-id frame, which never goes on the wire, is not counted.
type Stats struct {
	// Peers is the number of connections that are up.
	Peers int
	// Pipes is the number of pipes: one per connection that is up, and
	// one per Connect whose connection is down but whose pipe stays,
	// holding messages for the next connection.
	Pipes int
	// Queued is the number of outbound messages waiting in pipes or being
	// written.
	Queued int

	// Connected counts connections admitted after their handshake.
	Connected uint64
	// Disconnected counts admitted connections that have ended.
	Disconnected uint64
	// HandshakeFailed counts connections that failed their handshake.
	HandshakeFailed uint64
	// RefusedDuplicateID counts connections refused after their handshake
	// because their routing id named another peer (ROUTER, without
	// handover).
	RefusedDuplicateID uint64
	// RefusedMaxPeers counts connections refused at the peer limit.
	RefusedMaxPeers uint64
	// RefusedFiltered counts ipc connections closed as they were
	// accepted, before their handshake, because the peer's credentials
	// matched none of the IPC filters (WithIPCFilter).
	RefusedFiltered uint64

	// MsgsIn and BytesIn count messages received from peers.
	MsgsIn, BytesIn uint64
	// MsgsOut and BytesOut count messages written to peers.
	MsgsOut, BytesOut uint64
	// MsgsOutDirect counts the messages of MsgsOut that Send wrote
	// itself, with no hand-off to the connection's writer goroutine.
	MsgsOutDirect uint64

	// DroppedHWM counts messages dropped at a pipe's send high-water mark
	// (ROUTER, PUB), and ROUTER_NOTIFY messages dropped because the
	// receive high-water mark of them already waited for Recv.
	DroppedHWM uint64
	// Unroutable counts messages dropped for want of a peer: an unknown
	// routing id, or no peer at all.
	Unroutable uint64
	// DroppedClosed counts messages Send took that were discarded before
	// any connection took them, because their pipe ended: its connection
	// went (a pipe of an accepted connection), Disconnect or Unbind
	// removed it, or Close's linger ran out.
	DroppedClosed uint64
	// DroppedEmpty counts messages with nothing to put on the wire (no
	// frames, or a ROUTER message that is only a routing id), which are
	// dropped as libzmq drops them.
	DroppedEmpty uint64
	// DroppedIn counts messages a peer sent to a socket type that cannot
	// receive (PUSH), read and dropped; MsgsIn counts them too.
	DroppedIn uint64

	// RefusedSubscriptions counts subscriptions a PUB or XPUB refused
	// because the subscriber had reached its bound
	// (pub.WithMaxSubscriptions).
	RefusedSubscriptions uint64
	// DroppedCancels counts the cancels an XPUB makes for the
	// subscriptions of a subscriber that left and drops, because as many
	// as one subscriber may hold were waiting for Recv already.
	DroppedCancels uint64

	// CloseReasons counts ended connections by why they ended.
	CloseReasons map[CloseReason]uint64
	// EventsDropped counts events no monitor had room for.
	EventsDropped uint64
}

// Dropped returns every message the socket dropped.
func (s Stats) Dropped() uint64 {
	return s.DroppedHWM + s.Unroutable + s.DroppedClosed + s.DroppedEmpty + s.DroppedIn
}

// PeerInfo describes one pipe of a socket and its connection.
type PeerInfo struct {
	// ID is the peer's routing id on a ROUTER; on other sockets, the
	// identity the peer announced, if any.
	ID []byte
	// Endpoint is the endpoint the pipe belongs to: the one bound, for an
	// accepted connection, or the one connected to.
	Endpoint string
	// Remote is the address of the peer; empty while not connected.
	Remote string
	// SocketType is the peer's socket type, as its handshake announced it;
	// empty before the first connection.
	SocketType string
	// UserID is the name the authenticator gave the peer ("User-Id"), if
	// any.
	UserID string
	// Connected reports whether a connection is up on the pipe.
	Connected bool
	// Queued is the number of messages waiting or being written.
	Queued int
	// The pipe's counters, as in Stats.
	MsgsIn, BytesIn, MsgsOut, BytesOut, DroppedHWM uint64
}

// CloseReason says why a connection ended.
type CloseReason int32

// Close reasons.
const (
	Open             CloseReason = iota // still up
	ClosedByOwner                       // this socket closed it: Close, Disconnect or Unbind
	PeerClosed                          // EOF or reset from the peer
	ProtocolError                       // bad bytes from the peer
	TooLarge                            // a frame over the maximum message size
	HeartbeatTimeout                    // no traffic within the heartbeat timeout or the peer's TTL
	PeerSentError                       // the peer sent an ERROR command
	WriteError                          // writing failed
	Replaced                            // another connection took over its routing id (handover)
	HandshakeTimeout                    // the handshake did not complete in time
	Refused                             // refused after its handshake: routing id taken, or too many peers
	SlowConsumer                        // a write waited past the send timeout (or the heartbeat timeout): the peer stopped reading
)

var reasonNames = [...]string{
	Open:             "open",
	ClosedByOwner:    "closed",
	PeerClosed:       "peer closed",
	ProtocolError:    "protocol error",
	TooLarge:         "message too large",
	HeartbeatTimeout: "heartbeat timeout",
	PeerSentError:    "peer sent ERROR",
	WriteError:       "write error",
	Replaced:         "replaced by handover",
	HandshakeTimeout: "handshake timeout",
	Refused:          "refused",
	SlowConsumer:     "slow consumer",
}

// String returns a short lower-case name of the reason.
func (r CloseReason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}
