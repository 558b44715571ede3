package dealer

import "errors"

var (
	// ErrWouldBlock reports that no pipe can take a message without going
	// over its send high-water mark and the caller asked not to wait
	// (libzmq's EAGAIN).
	ErrWouldBlock = errors.New("dealer: send would block")
	// ErrNoFrames reports a message with no frames, which ZMTP cannot carry.
	ErrNoFrames = errors.New("dealer: message has no frames")
	// ErrBadRoutingID reports a routing id option that is empty, longer than
	// 255 bytes, or starts with a zero byte (reserved for generated ids).
	ErrBadRoutingID = errors.New("dealer: routing id must be 1-255 bytes and not start with 0x00")
)
