package router

import (
	"errors"
	"fmt"
)

var (
	// ErrHostUnreachable reports, in mandatory mode, a message for a peer
	// that is not connected (libzmq's EHOSTUNREACH).
	ErrHostUnreachable = errors.New("router: host unreachable")
	// ErrWouldBlock reports, in mandatory mode, that the peer's queue (or
	// every peer's, in LoadBalancer mode) is at its high-water mark and the
	// caller asked not to wait (libzmq's EAGAIN).
	ErrWouldBlock = errors.New("router: send would block")
	// ErrNoRoutingID reports a Standard-mode message without a routing id
	// frame.
	ErrNoRoutingID = errors.New("router: message has no routing id frame")
	// ErrBadRoutingID reports a routing id option that is empty, longer than
	// 255 bytes, or starts with a zero byte (reserved for generated ids).
	ErrBadRoutingID = errors.New("router: routing id must be 1-255 bytes and not start with 0x00")
)

// UnroutableError reports, in mandatory mode, a message whose routing id
// matches no connected peer. It matches ErrHostUnreachable with errors.Is.
type UnroutableError struct {
	ID []byte
}

func (e *UnroutableError) Error() string {
	return fmt.Sprintf("router: no peer with routing id %x", e.ID)
}

// Unwrap returns ErrHostUnreachable.
func (e *UnroutableError) Unwrap() error { return ErrHostUnreachable }
