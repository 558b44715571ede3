package zmtp

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// AuthRequest is what a server's mechanism asks its authenticator about a
// peer, as a ZAP request (RFC 27) does.
type AuthRequest struct {
	// Domain is the socket's ZAP domain.
	Domain string
	// Address is the peer's IP address (or the transport's address).
	Address string
	// Identity is the routing id the peer announced, if any.
	Identity []byte
	// Mechanism is "NULL", "PLAIN" or "CURVE".
	Mechanism string
	// Username and Password are a PLAIN peer's credentials.
	Username, Password []byte
	// ClientKey is a CURVE peer's long-term public key.
	ClientKey [32]byte
}

// AuthReply is an authenticator's answer, as a ZAP reply.
type AuthReply struct {
	// Status is 200 (let in), 300 (temporary failure), 400 (refused) or
	// 500 (internal error), as RFC 27's status codes.
	Status int
	// Text says why, for the logs.
	Text string
	// UserID names the peer to the application, as libzmq's "User-Id"
	// message property.
	UserID string
	// Metadata goes with the peer's messages too.
	Metadata Metadata
}

// AuthError reports a peer that authentication did not let in, or, on a
// client, a server that refused us with a ZAP status in its ERROR.
type AuthError struct {
	Status int
	Text   string
}

func (e *AuthError) Error() string {
	if e.Text == "" {
		return fmt.Sprintf("zmtp: authentication failed with status %d", e.Status)
	}
	return fmt.Sprintf("zmtp: authentication failed with status %d: %s", e.Status, e.Text)
}

// authorize asks the authenticator and applies its answer as libzmq does:
// 200 lets the peer in; 400 and 500 refuse, sending the status with refuse;
// 300, a temporary failure, closes without a word; anything else is an
// internal error.
func (hc *HandshakeConn) authorize(req *AuthRequest, refuse func(reason string) error) (AuthReply, error) {
	rep := hc.Authenticate(req)
	if !hc.deadline.IsZero() && !time.Now().Before(hc.deadline) {
		// Whatever it says, it said it too late: the handshake timed out
		// while it decided, as libzmq's does while its ZAP handler does.
		return rep, fmt.Errorf("zmtp: the authenticator took longer than the handshake may: %w", os.ErrDeadlineExceeded)
	}
	switch rep.Status {
	case 200:
		return rep, nil
	case 300:
		return rep, &AuthError{Status: 300, Text: rep.Text}
	case 400:
	default:
		rep.Status = 500
	}
	_ = refuse(strconv.Itoa(rep.Status))
	return rep, &AuthError{Status: rep.Status, Text: rep.Text}
}
