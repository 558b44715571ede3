package zmtp

import (
	"net"
	"time"
)

// Mechanism is a ZMTP security mechanism (RFC 37 "Authentication and
// Confidentiality"): NULL, PLAIN (RFC 24) or CURVE (RFC 26). A Mechanism
// holds a socket's settings for it and may serve many handshakes at once;
// what one connection needs it keeps in the Codec it returns.
type Mechanism interface {
	// Name returns the name sent in the greeting, such as "NULL".
	Name() string
	// AsServer returns the as-server bit this side sends.
	AsServer() bool
	// Handshake runs the mechanism's command exchange after the greetings.
	// It sends local to the peer and returns what the exchange learnt:
	// the peer's metadata, the codec that carries frames from then on,
	// and, on a server, what authentication said of the peer.
	Handshake(hc *HandshakeConn, local Metadata) (*Outcome, error)
}

// Outcome is what a mechanism's handshake learnt.
type Outcome struct {
	// Peer is the metadata the peer sent.
	Peer Metadata
	// Codec carries frames from then on.
	Codec Codec
	// UserID and Metadata are the authenticator's, on a server that
	// authenticated the peer (ZAP's user id and metadata).
	UserID   string
	Metadata Metadata
}

// Codec carries frames once the handshake is done. A clear-text mechanism
// sends frames as they are; an encrypting one (CURVE) seals each frame,
// commands included, into a MESSAGE command. Callers of the framing code go
// through this interface, so adding a mechanism does not change them.
//
// A codec that is not Plain keeps per-connection state on each side: its
// Append methods are called by one goroutine at a time, in the order their
// output goes on the wire, and Open by the connection's reader.
type Codec interface {
	// Plain reports whether frames go on the wire unchanged, so that a
	// writer may send a large body straight from its storage.
	Plain() bool
	// Overhead is the most bytes a frame takes on the wire beyond its
	// body, header included.
	Overhead() int
	// AppendFrame appends the wire form of one message frame to b.
	AppendFrame(b []byte, flags byte, body []byte) []byte
	// AppendCommand appends the wire form of a command sent after the
	// handshake (PING, PONG, SUBSCRIBE...), given its body.
	AppendCommand(b []byte, body []byte) []byte
	// Open decodes the body of a command frame received after the
	// handshake, for a codec that is not Plain: it appends what the frame
	// carried to dst and returns it, with its flags: FlagMore for a
	// message frame with more to come, FlagCommand for a command, whose
	// body it then is. Errors end the connection.
	Open(dst, body []byte) ([]byte, byte, error)
	// Limit returns the largest command frame body that can carry a
	// message frame of max bytes (max negative: no limit, -1 returned).
	Limit(max int64) int64
	// OpenLen returns how many bytes Open gives for a body of n bytes: a
	// flags byte and the frame; less than 1 when n cannot be one.
	OpenLen(n int) int
}

// HandshakeConn is what a Mechanism sees of the connection during its
// handshake: whole commands in, whole commands out, the peer's greeting, and
// the local side's settings that a mechanism needs.
type HandshakeConn struct {
	out   *sender
	rd    *Reader
	cfg   *Config
	conn  net.Conn
	erred bool // an ERROR went to the peer

	deadline  time.Time // when the handshake times out; zero for never
	peerFirst bool      // see PeerFirst
}

// PeerFirst reports that the peer's whole greeting came before the rest of
// ours went out. Such a peer sends its first command without waiting for
// ours: it did not have our greeting when it finished its own. A mechanism
// whose sides both speak first (NULL: READY) then reads the peer's command
// before it sends its own. libzmq wants that: a libzmq peer that reads our
// READY with the end of our greeting checks it before it sends its own, and
// hangs up on an incompatible one without a word. Of two zrouter peers at
// most one waits, for each has the other's greeting first only if it
// finished its own later.
func (hc *HandshakeConn) PeerFirst() bool { return hc.peerFirst }

// Check reports an *SocketTypeError when the peer's metadata names a socket
// type that cannot talk to ours, after sending the peer an ERROR saying so
// (RFC 37). A mechanism calls it on the peer's metadata before it answers
// with its own last command; the handshake calls it again after.
func (hc *HandshakeConn) Check(md Metadata) error {
	st, _ := md.Get(PropSocketType)
	if Compatible(hc.cfg.SocketType, SocketType(st)) {
		return nil
	}
	if !hc.erred {
		_ = hc.Refuse("invalid socket type")
	}
	return &SocketTypeError{Local: hc.cfg.SocketType, Remote: SocketType(st)}
}

// Refuse sends the peer an ERROR with reason; the handshake then lets it
// arrive before the connection closes. It returns the write's error.
func (hc *HandshakeConn) Refuse(reason string) error {
	hc.erred = true
	return hc.WriteCommand(&Error{Reason: reason})
}

// Authenticate asks the socket's authenticator about the peer, filling in
// the domain and the peer's address; without an authenticator the answer is
// 200, as libzmq's without a ZAP handler.
func (hc *HandshakeConn) Authenticate(req *AuthRequest) AuthReply {
	if hc.cfg.Authenticate == nil {
		return AuthReply{Status: 200}
	}
	req.Domain = hc.cfg.Domain
	if a, ok := hc.conn.RemoteAddr().(*net.TCPAddr); ok {
		req.Address = a.IP.String()
	} else if a := hc.conn.RemoteAddr(); a != nil {
		req.Address = a.String()
	}
	return hc.cfg.Authenticate(req)
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

// Handshake sends READY and reads the peer's READY or ERROR, the peer's
// first when it spoke first (see HandshakeConn.PeerFirst). With an
// authenticator, it asks it about the peer first, as libzmq's NULL asks
// its ZAP handler when the socket has a ZAP domain, and refuses the peer
// as PLAIN and CURVE servers do.
func (Null) Handshake(hc *HandshakeConn, local Metadata) (*Outcome, error) {
	var rep AuthReply
	if hc.cfg.Authenticate != nil {
		var err error
		if rep, err = hc.authorize(&AuthRequest{Mechanism: "NULL"}, hc.Refuse); err != nil {
			return nil, err
		}
	}
	var md Metadata
	if hc.PeerFirst() {
		var err error
		if md, err = hc.readReady("NULL"); err != nil {
			return nil, err
		}
		if err := hc.Check(md); err != nil {
			return nil, err
		}
	}
	if err := hc.WriteCommand(&Ready{Metadata: local}); err != nil {
		return nil, err
	}
	if md == nil {
		var err error
		if md, err = hc.readReady("NULL"); err != nil {
			return nil, err
		}
	}
	return &Outcome{Peer: md, Codec: PlainCodec{}, UserID: rep.UserID, Metadata: rep.Metadata}, nil
}

// readReady reads the peer's READY, or its ERROR, and returns the READY's
// metadata.
func (hc *HandshakeConn) readReady(mech string) (Metadata, error) {
	body, err := hc.ReadCommand()
	if err != nil {
		return nil, err
	}
	name, data, err := SplitCommand(body)
	if err != nil {
		return nil, err
	}
	switch name {
	case CmdReady:
		md, err := ParseMetadata(data)
		if err != nil {
			return nil, err
		}
		return md.clone(), nil
	case CmdError:
		return nil, peerError(data)
	}
	return nil, protoErr("%s handshake: got %q, want READY or ERROR", mech, name)
}

// peerError returns the *PeerError of an ERROR command's data.
func peerError(data []byte) error {
	e, err := parseError(data)
	if err != nil {
		return err
	}
	return &PeerError{Reason: e.Reason}
}

// PlainCodec sends frames unchanged, as NULL and PLAIN do.
type PlainCodec struct{}

// Plain returns true.
func (PlainCodec) Plain() bool { return true }

// Overhead returns the longest frame header.
func (PlainCodec) Overhead() int { return MaxHeaderLen }

// AppendFrame appends header and body.
func (PlainCodec) AppendFrame(b []byte, flags byte, body []byte) []byte {
	return AppendFrame(b, flags, body)
}

// AppendCommand appends a command frame: header and body.
func (PlainCodec) AppendCommand(b []byte, body []byte) []byte {
	return AppendFrame(b, FlagCommand, body)
}

// Open is never called for a plain codec: its commands arrive as they are.
func (PlainCodec) Open([]byte, []byte) ([]byte, byte, error) {
	return nil, 0, protoErr("a plain codec opens nothing")
}

// Limit returns max: a plain frame is its body.
func (PlainCodec) Limit(max int64) int64 { return max }

// OpenLen is never called for a plain codec.
func (PlainCodec) OpenLen(n int) int { return n }

// clone copies md so that it no longer refers into a read buffer.
func (md Metadata) clone() Metadata {
	out := make(Metadata, len(md))
	for i, p := range md {
		out[i] = Property{Name: p.Name, Value: append([]byte(nil), p.Value...)}
	}
	return out
}
