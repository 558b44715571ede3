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

// VersionError reports a peer whose greeting announces a ZMTP version that
// is not spoken here: ZMTP 1.0, or a revision byte of 2, which no version
// has; or ZMTP 2.0 where it cannot be spoken (see Why).
type VersionError struct {
	// Major and Minor are the greeting's 11th and 12th bytes: for ZMTP 3
	// its version; before, the revision (0 for ZMTP 1.0 with a revision
	// byte, 1 for 2.0) and a socket type.
	Major, Minor byte
	// Why, when set, says why a version spoken here was refused.
	Why string
}

func (e *VersionError) Error() string {
	switch {
	case e.Why != "":
		return fmt.Sprintf("zmtp: peer speaks ZMTP %s, refused: %s", e.version(), e.Why)
	case e.Major == revisionZMTP20:
		return "zmtp: peer speaks ZMTP 2.0, which has no ZMTP 3 greeting"
	}
	return fmt.Sprintf("zmtp: peer speaks ZMTP %s, which is not supported (2.0 and 3.x are)", e.version())
}

// version names the version of a greeting's 11th and 12th bytes.
func (e *VersionError) version() string {
	switch e.Major {
	case revisionZMTP10, revisionZMTP20:
		return fmt.Sprintf("%d.0", e.Major+1)
	}
	return fmt.Sprintf("%d.%d", e.Major, e.Minor)
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
