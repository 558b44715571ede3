package peer

import "errors"

// ErrQueueFull is returned by Queue.Push when the queue holds its high-water
// mark of messages.
var ErrQueueFull = errors.New("peer: outbound queue full")

// CloseReason says why a connection ended.
type CloseReason int32

// Close reasons.
const (
	Open             CloseReason = iota // still running
	ClosedByOwner                       // the socket closed it
	PeerClosed                          // EOF or reset from the peer
	ProtocolError                       // bad bytes from the peer
	TooLarge                            // a frame over the maximum message size
	HeartbeatTimeout                    // no traffic within the heartbeat timeout or the peer's TTL
	PeerSentError                       // the peer sent an ERROR command
	WriteError                          // writing failed
	Replaced                            // another connection took over its routing id
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
}

// String returns a short lower-case name of the reason.
func (r CloseReason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}
