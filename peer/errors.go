package peer

import "errors"

// ErrQueueFull is returned by Queue.Push when the queue holds its high-water
// mark of messages.
var ErrQueueFull = errors.New("peer: outbound queue full")
