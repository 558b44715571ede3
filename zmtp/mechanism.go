package zmtp

// Mechanism is a ZMTP security mechanism (RFC 37 "Authentication and
// Confidentiality"). NULL is provided by this package; PLAIN (RFC 24) and
// CURVE (RFC 26) plug in through the same interface.
type Mechanism interface {
	// Name returns the name sent in the greeting, such as "NULL".
	Name() string
	// AsServer returns the as-server bit this side sends.
	AsServer() bool
	// Handshake runs the mechanism's command exchange after the greetings.
	// It sends local to the peer and returns the peer's metadata and the
	// codec that carries message frames from then on.
	Handshake(hc *HandshakeConn, local Metadata) (peer Metadata, codec Codec, err error)
}

// Codec carries message frames once the handshake is done. A clear-text
// mechanism sends frames as they are; an encrypting one (CURVE) seals each
// frame into a command. Callers of the framing code go through this
// interface, so adding a mechanism does not change them.
type Codec interface {
	// Plain reports whether message frames go on the wire unchanged, so
	// that a writer may send a large body straight from its storage.
	Plain() bool
	// AppendFrame appends the wire form of one message frame to b.
	AppendFrame(b []byte, flags byte, body []byte) []byte
}

// HandshakeConn is what a Mechanism sees of the connection during its
// handshake: whole commands in, whole commands out.
type HandshakeConn struct {
	out *sender
	rd  *Reader
}

// WriteCommand sends one command frame with a single Write. The write is
// made by the handshake's own goroutine, so WriteCommand does not wait for
// the peer to read it, and a mechanism may go on to read the peer's
// command at once, even over an unbuffered connection such as net.Pipe.
// A failed write is reported when the handshake ends, unless reading from
// the peer fails first; WriteCommand itself fails only when called after
// the handshake has ended.
func (hc *HandshakeConn) WriteCommand(c Command) error {
	n := c.Len()
	return hc.out.send(AppendCommand(make([]byte, 0, HeaderLen(n)+n), c))
}

// ReadCommand reads the next frame, which must be a command, and returns its
// body. The body is valid until the next call.
func (hc *HandshakeConn) ReadCommand() ([]byte, error) {
	h, err := hc.rd.ReadHeader()
	if err != nil && err != ErrMessageTooLarge {
		return nil, err
	}
	if !h.IsCommand() { // whatever its size
		return nil, protoErr("message frame before the handshake completed")
	}
	return hc.rd.ReadCommand(h)
}

// Null is the NULL security mechanism: no authentication, no encryption;
// each side sends READY with its metadata (RFC 37 "The NULL Security
// Mechanism").
type Null struct{}

// Name returns "NULL".
func (Null) Name() string { return "NULL" }

// AsServer returns false: NULL has no roles.
func (Null) AsServer() bool { return false }

// Handshake sends READY, then reads the peer's READY or ERROR.
func (Null) Handshake(hc *HandshakeConn, local Metadata) (Metadata, Codec, error) {
	if err := hc.WriteCommand(&Ready{Metadata: local}); err != nil {
		return nil, nil, err
	}
	body, err := hc.ReadCommand()
	if err != nil {
		return nil, nil, err
	}
	name, data, err := SplitCommand(body)
	if err != nil {
		return nil, nil, err
	}
	switch name {
	case CmdReady:
		md, err := ParseMetadata(data)
		if err != nil {
			return nil, nil, err
		}
		return md.clone(), PlainCodec{}, nil
	case CmdError:
		e, err := parseError(data)
		if err != nil {
			return nil, nil, err
		}
		return nil, nil, &PeerError{Reason: e.Reason}
	}
	return nil, nil, protoErr("NULL handshake: got %q, want READY or ERROR", name)
}

// PlainCodec sends message frames unchanged, as NULL and PLAIN do.
type PlainCodec struct{}

// Plain returns true.
func (PlainCodec) Plain() bool { return true }

// AppendFrame appends header and body.
func (PlainCodec) AppendFrame(b []byte, flags byte, body []byte) []byte {
	return AppendFrame(b, flags, body)
}

// clone copies md so that it no longer refers into a read buffer.
func (md Metadata) clone() Metadata {
	out := make(Metadata, len(md))
	for i, p := range md {
		out[i] = Property{Name: p.Name, Value: append([]byte(nil), p.Value...)}
	}
	return out
}
