package zmtp

import "strings"

// Plain is the PLAIN security mechanism (RFC 24): the client sends a user
// name and a password in clear text, and the server lets it in or not. It
// authenticates, and encrypts nothing; use it only where the network is
// trusted, or under CURVE's protection elsewhere.
//
// The client sends HELLO with its credentials and reads WELCOME; then it
// sends INITIATE with its metadata and reads READY with the server's. The
// server answers a HELLO it refuses with ERROR (or, for a temporary
// failure, by closing).
type Plain struct {
	// Server makes this side the server, which checks credentials.
	Server bool
	// Username and Password are a client's credentials, at most 255
	// bytes each.
	Username, Password []byte
}

// Name returns "PLAIN".
func (*Plain) Name() string { return "PLAIN" }

// AsServer returns false, as libzmq 4.3 sends it whatever the role: it
// neither sets nor checks the greeting's as-server bit, so neither does
// zrouter, which would otherwise part from libzmq's bytes on the wire.
func (*Plain) AsServer() bool { return false }

// PLAIN's commands.
const (
	cmdHello    = "HELLO"
	cmdWelcome  = "WELCOME"
	cmdInitiate = "INITIATE"
)

// Handshake runs PLAIN's command exchange in this side's role.
func (p *Plain) Handshake(hc *HandshakeConn, local Metadata) (*Outcome, error) {
	if p.Server {
		return p.serve(hc, local)
	}
	return p.client(hc, local)
}

func (p *Plain) client(hc *HandshakeConn, local Metadata) (*Outcome, error) {
	if len(p.Username) > 255 || len(p.Password) > 255 {
		return nil, protoErr("PLAIN: user name and password are at most 255 bytes")
	}
	hello := appendName(nil, cmdHello)
	hello = append(append(hello, byte(len(p.Username))), p.Username...)
	hello = append(append(hello, byte(len(p.Password))), p.Password...)
	if err := hc.writeBody(hello); err != nil {
		return nil, err
	}
	if data, err := hc.expect("PLAIN", cmdWelcome); err != nil {
		return nil, err
	} else if len(data) != 0 {
		// As libzmq: WELCOME is its name alone.
		return nil, protoErr("PLAIN WELCOME with %d bytes after its name", len(data))
	}
	if err := hc.writeBody(local.Append(appendName(nil, cmdInitiate))); err != nil {
		return nil, err
	}
	md, err := hc.readReady("PLAIN")
	if err != nil {
		return nil, err
	}
	return &Outcome{Peer: md, Codec: PlainCodec{}}, nil
}

func (p *Plain) serve(hc *HandshakeConn, local Metadata) (*Outcome, error) {
	data, err := hc.expect("PLAIN", cmdHello)
	if err != nil {
		return nil, err
	}
	user, rest, ok := cutShort(data)
	if !ok {
		return nil, protoErr("PLAIN HELLO: user name truncated")
	}
	pass, rest, ok := cutShort(rest)
	if !ok || len(rest) != 0 {
		return nil, protoErr("PLAIN HELLO: password truncated or followed by %d bytes", len(rest))
	}
	// The peer's identity is not known yet: it comes in INITIATE.
	rep, err := hc.authorize(&AuthRequest{Mechanism: "PLAIN", Username: user, Password: pass}, hc.refusePlain)
	if err != nil {
		return nil, err
	}
	if err := hc.writeBody(appendName(nil, cmdWelcome)); err != nil {
		return nil, err
	}
	data, err = hc.expect("PLAIN", cmdInitiate)
	if err != nil {
		return nil, err
	}
	md, err := ParseMetadata(data)
	if err != nil {
		return nil, err
	}
	md = md.clone()
	if err := hc.Check(md); err != nil {
		return nil, err
	}
	if err := hc.WriteCommand(&Ready{Metadata: local}); err != nil {
		return nil, err
	}
	return &Outcome{Peer: md, Codec: PlainCodec{}, UserID: rep.UserID, Metadata: rep.Metadata}, nil
}

// plainError is how libzmq 4.3 names the ERROR of its PLAIN mechanism:
// its source writes "\x05ERROR", which C reads as the byte 0x5E and
// "RROR", so the command's first byte, its name's length, is 94. Its PLAIN
// client knows ERROR by these five bytes, and takes the RFC's
// "\x05ERROR" for an unexpected command.
const plainError = "\x5eRROR"

// refusePlain refuses a PLAIN client with the status reason, in the ERROR
// that libzmq's PLAIN clients read: theirs is the only kind in wide use,
// and a client of another kind closes on this command as it would on an
// ERROR.
func (hc *HandshakeConn) refusePlain(reason string) error {
	hc.erred = true
	return hc.writeBody(append(append([]byte(plainError), byte(len(reason))), reason...))
}

// cutShort splits off a field of a one-byte length and its bytes.
func cutShort(b []byte) (field, rest []byte, ok bool) {
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return nil, nil, false
	}
	n := int(b[0])
	return append([]byte(nil), b[1:1+n]...), b[1+n:], true
}

// writeBody sends one command frame with the given body.
func (hc *HandshakeConn) writeBody(body []byte) error {
	return hc.out.send(AppendFrame(make([]byte, 0, HeaderLen(len(body))+len(body)), FlagCommand, body))
}

// expect reads the next command, which must be name (or ERROR, reported as
// a *PeerError), and returns its data, valid until the next read.
func (hc *HandshakeConn) expect(mech, name string) ([]byte, error) {
	body, err := hc.ReadCommand()
	if err != nil {
		return nil, err
	}
	if mech == "PLAIN" && strings.HasPrefix(string(body), plainError) {
		return nil, peerError(body[len(plainError):])
	}
	got, data, err := SplitCommand(body)
	if err != nil {
		return nil, err
	}
	switch got {
	case name:
		return data, nil
	case CmdError:
		return nil, peerError(data)
	}
	return nil, protoErr("%s handshake: got %q, want %s", mech, got, name)
}
