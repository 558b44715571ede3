package socket

import (
	"errors"
	"fmt"
)

// The errors every socket returns. A closed socket returns net.ErrClosed.
var (
	// ErrWouldBlock reports that a message cannot be queued without going
	// over a high-water mark and the caller asked not to wait (libzmq's
	// EAGAIN).
	ErrWouldBlock = errors.New("socket: operation would block")
	// ErrHostUnreachable reports, where a socket is told to report it
	// (ROUTER mandatory mode), a message for a peer that is not there
	// (libzmq's EHOSTUNREACH). *UnroutableError matches it.
	ErrHostUnreachable = errors.New("socket: host unreachable")
	// ErrBadOption reports an option with a bad value, or one given to a
	// socket type or a call it does not apply to (libzmq's EINVAL from
	// zmq_setsockopt).
	ErrBadOption = errors.New("socket: invalid option")
	// ErrBadRoutingID reports a routing id that is empty, longer than 255
	// bytes, or starts with a zero byte (reserved for generated ids). It
	// comes wrapped in an ErrBadOption error.
	ErrBadRoutingID = errors.New("socket: routing id must be 1-255 bytes and not start with 0x00")
	// ErrRoutingIDTaken reports a Connect whose connect routing id already
	// names another peer of the socket.
	ErrRoutingIDTaken = errors.New("socket: routing id already in use")
	// ErrBadEndpoint reports an endpoint that cannot be parsed, or a
	// transport zrouter does not have (libzmq's EINVAL, EPROTONOSUPPORT).
	ErrBadEndpoint = errors.New("socket: invalid endpoint")
	// ErrUnknownEndpoint reports an Unbind or Disconnect of an endpoint
	// the socket is not bound or connected to (libzmq's ENOENT).
	ErrUnknownEndpoint = errors.New("socket: endpoint not bound or connected")
	// ErrState reports a call that the socket type's order of operations
	// does not allow now (libzmq's EFSM): a REQ's Recv before its Send, or
	// its second Send before the reply; a REP's Send before a request, or
	// its Recv before it has replied. The socket's state is unchanged, and
	// the caller keeps the message it passed.
	ErrState = errors.New("socket: operation not allowed in the socket's state")
	// ErrPeerFiltered is what the Err of an EventAcceptFailed wraps when
	// an ipc peer was closed as it was accepted because its credentials
	// matched none of the socket's IPC filters (WithIPCFilter).
	ErrPeerFiltered = errors.New("socket: peer refused by the IPC credential filters")
)

// UnroutableError reports a message whose routing id names no peer of the
// socket. It matches ErrHostUnreachable with errors.Is.
type UnroutableError struct {
	ID []byte
}

func (e *UnroutableError) Error() string {
	return fmt.Sprintf("socket: no peer with routing id %x", e.ID)
}

// Unwrap returns ErrHostUnreachable.
func (e *UnroutableError) Unwrap() error { return ErrHostUnreachable }
