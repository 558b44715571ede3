package zmtp

import (
	"errors"
	"fmt"
)

// ErrMessageTooLarge is returned when a frame's header announces more bytes
// than the configured maximum. Nothing is allocated for such a frame.
var ErrMessageTooLarge = errors.New("zmtp: message larger than the maximum size")

// ProtocolError reports bytes that break the ZMTP grammar. The connection
// that carried them must be closed.
type ProtocolError struct {
	Reason string
}

func (e *ProtocolError) Error() string { return "zmtp: protocol error: " + e.Reason }

// VersionError reports a peer whose greeting announces a ZMTP version older
// than 3.0.
type VersionError struct {
	Major, Minor byte
}

func (e *VersionError) Error() string {
	switch e.Major {
	case 0, 1:
		// The revision byte: 0 for ZMTP 1.0 with a revision, 1 for 2.0.
		return fmt.Sprintf("zmtp: peer speaks ZMTP %d.0, need 3.0 or later", e.Major+1)
	}
	return fmt.Sprintf("zmtp: peer speaks ZMTP %d.%d, need 3.0 or later", e.Major, e.Minor)
}

// MechanismError reports a peer whose security mechanism differs from ours.
type MechanismError struct {
	Local, Remote string
}

func (e *MechanismError) Error() string {
	return fmt.Sprintf("zmtp: security mechanism mismatch: local %q, peer %q", e.Local, e.Remote)
}

// SocketTypeError reports a peer whose socket type cannot talk to ours.
type SocketTypeError struct {
	Local, Remote SocketType
}

func (e *SocketTypeError) Error() string {
	return fmt.Sprintf("zmtp: socket type %s cannot talk to %q", e.Local, string(e.Remote))
}

// PeerError is an ERROR command received from the peer. Its reason is the
// peer's own words.
type PeerError struct {
	Reason string
}

func (e *PeerError) Error() string { return "zmtp: peer sent ERROR: " + e.Reason }

func protoErr(format string, args ...any) error {
	return &ProtocolError{Reason: fmt.Sprintf(format, args...)}
}
