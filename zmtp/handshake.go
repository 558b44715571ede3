package zmtp

import (
	"errors"
	"net"
	"os"
	"time"
)

// Config describes the local side of a handshake.
type Config struct {
	// SocketType is our socket type, sent as Socket-Type.
	SocketType SocketType
	// Identity is sent as the Identity property by REQ, DEALER and ROUTER
	// sockets (empty when nil), as libzmq does; to a ZMTP 2.0 peer, every
	// socket sends it as its identity frame.
	Identity []byte
	// Properties are extra metadata sent after Socket-Type and Identity.
	Properties Metadata
	// Mechanism is the security mechanism; nil means NULL.
	Mechanism Mechanism
	// Timeout bounds the whole handshake; zero means no bound.
	Timeout time.Duration
	// MaxSize is the largest message frame the returned Reader accepts;
	// negative means no limit.
	MaxSize int64
	// Authenticate decides, on a PLAIN or CURVE server or on either side
	// of NULL, whether the peer is let in, as a ZAP handler does (RFC 27);
	// nil lets every peer in that completes the handshake.
	Authenticate func(*AuthRequest) AuthReply
	// Domain is the ZAP domain given to Authenticate.
	Domain string
}

// Session is the outcome of a successful handshake.
type Session struct {
	// Greeting is the peer's greeting: its ZMTP version and mechanism.
	// For a ZMTP 2.0 peer it is version 2.0 with no mechanism.
	Greeting Greeting
	// SocketType is the peer's Socket-Type, or the socket type byte of a
	// ZMTP 2.0 peer (which names XPUB and XSUB as PUB and SUB).
	SocketType SocketType
	// Identity is the peer's Identity property, or the identity frame of
	// a ZMTP 2.0 peer; empty when it sent none.
	Identity []byte
	// Metadata is every property the peer sent; a ZMTP 2.0 peer sends
	// none.
	Metadata Metadata
	// Reader decodes the frames that follow. It may already hold some.
	Reader *Reader
	// Codec encodes the frames we send.
	Codec Codec
	// UserID and Auth are what authentication said of the peer, on a
	// server: ZAP's user id and metadata.
	UserID string
	Auth   Metadata

	v2 bool // the peer speaks ZMTP 2.0
}

// Commands reports whether the connection carries commands beside messages
// (PING, PONG, SUBSCRIBE...), as ZMTP 3 does. A ZMTP 2.0 peer has none: its
// connection carries messages only, has no heartbeats, and takes
// subscriptions as messages, which s.Codec makes of SUBSCRIBE and CANCEL
// commands, leaving every other command out.
func (s *Session) Commands() bool { return !s.v2 }

// LocalMetadata returns the properties a socket described by cfg sends in
// READY: Socket-Type, then Identity for the socket types that carry one,
// then cfg.Properties.
func (cfg *Config) LocalMetadata() Metadata {
	md := Metadata{{Name: PropSocketType, Value: []byte(cfg.SocketType)}}
	switch cfg.SocketType {
	case REQ, DEALER, ROUTER:
		md = append(md, Property{Name: PropIdentity, Value: cfg.Identity})
	}
	return append(md, cfg.Properties...)
}

// Handshake runs the ZMTP 3 handshake on conn: greetings, then the security
// mechanism's exchange, then a check that the peer's socket type may talk to
// ours. A ZMTP 2.0 peer (RFC 15) gets a ZMTP 2.0 handshake instead: socket
// type bytes and identity frames, and no security, so that a socket with a
// mechanism other than NULL or an authenticator refuses it; its Session
// says so (see Session.Commands). A ZMTP 1.0 peer is refused at its first
// bytes.
//
// It sends its greeting in stages, as libzmq does: the signature; the major
// version once the peer's signature has come; then, once the peer's version
// byte has come, and only then is the peer's version known, the rest: the
// minor version at once, the mechanism and the rest once the peer's minor
// version has come (libzmq sends these two together). A libzmq peer that
// has a whole greeting of a mechanism other than its own hangs up before it
// sends more of its own; this way its whole greeting has gone out by then,
// and both sides can tell the mechanisms differ.
//
// Its writes are made by a goroutine of its own while it reads, so it also
// works over an unbuffered connection such as net.Pipe; that goroutine has
// ended when Handshake returns. When the peer's socket type is refused,
// Handshake sends an ERROR command and waits, reading and dropping what the
// peer sends, until the ERROR is written or the peer closes. (Two such
// Handshakes on the ends of a net.Pipe: one returns once the other has read
// its ERROR, the other once the first's caller closes its end.)
//
// On failure the error is one of *ProtocolError, *VersionError,
// *MechanismError, *SocketTypeError, *PeerError, or the network's error; a
// timeout is reported as os.ErrDeadlineExceeded (see IsTimeout). The caller
// closes conn.
func Handshake(conn net.Conn, cfg *Config) (*Session, error) {
	var deadline time.Time
	if cfg.Timeout > 0 {
		deadline = time.Now().Add(cfg.Timeout)
		if err := conn.SetDeadline(deadline); err != nil {
			return nil, err
		}
	}
	s, err := handshake(conn, cfg, deadline)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout > 0 {
		if err := conn.SetDeadline(time.Time{}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func handshake(conn net.Conn, cfg *Config, deadline time.Time) (_ *Session, err error) {
	mech := cfg.Mechanism
	if mech == nil {
		mech = Null{}
	}
	local := cfg.LocalMetadata()
	if err := local.Validate(); err != nil {
		return nil, err
	}
	g := Greeting{Major: VersionMajor, Minor: VersionMinor, Mechanism: mech.Name(), AsServer: mech.AsServer()}
	out := startSender(conn)
	ended := false
	defer func() {
		if !ended {
			out.abort(conn)
		}
	}()
	greeting := g.Append(make([]byte, 0, GreetingSize))
	if err := out.send(greeting[:signatureSize]); err != nil {
		return nil, err
	}

	rd := NewReader(conn, cfg.MaxSize)
	defer func() {
		if err != nil {
			rd.Release() // its pooled buffer back, not to the collector
		}
	}()
	// Read the peer's signature and version in stages, a byte, then the
	// signature, then the revision or major version, so that an old peer
	// is refused at once instead of waiting for bytes it will never send:
	// a ZMTP 1.0 peer sends as little as 2 bytes before it waits. Our
	// major version goes out once the peer's signature is in, as libzmq
	// sends it.
	for _, n := range [...]int{1, signatureSize, signatureSize + 1} {
		b, err := rd.Peek(n)
		if err != nil {
			return nil, err
		}
		if err := checkSignature(b); err != nil {
			return nil, err
		}
		if n == signatureSize {
			if err := out.send(greeting[signatureSize : signatureSize+1]); err != nil {
				return nil, err
			}
		}
	}
	if b, _ := rd.Peek(signatureSize + 1); b[signatureSize] == revisionZMTP20 {
		s, err := handshakeV2(out, rd, cfg, mech)
		if err != nil {
			return nil, err
		}
		ended = true
		if err := out.finish(); err != nil {
			return nil, err
		}
		rd.Release()
		return s, nil
	}
	// Our minor version goes out once the peer's major version is in, and
	// the rest once the peer's minor version is: a libzmq peer sends all
	// of its greeting after its major version in one write on our major
	// version, so the rest of ours reaches it only after that write. A
	// libzmq peer that reads the rest of our greeting with our major
	// version, and finds a mechanism other than its own, hangs up before
	// its own rest has gone out, and the mismatch could not be told here.
	// Each stage waits only for the peer's stage before it, so two zrouter
	// peers never wait for each other.
	if err := out.send(greeting[signatureSize+1 : signatureSize+2]); err != nil {
		return nil, err
	}
	if _, err := rd.Peek(signatureSize + 2); err != nil {
		return nil, err
	}
	// Whether the peer's whole greeting came before the rest of ours went
	// out: then the peer cannot have had ours when it sent its own, and
	// never waits for our first command before sending its own (see
	// HandshakeConn.PeerFirst).
	peerFirst := rd.Buffered() >= GreetingSize
	if err := out.send(greeting[signatureSize+2:]); err != nil {
		return nil, err
	}
	b, err := rd.Peek(GreetingSize)
	if err != nil {
		return nil, err
	}
	peerG, err := ParseGreeting(b)
	if err != nil {
		return nil, err
	}
	rd.Discard(GreetingSize)
	if peerG.Mechanism != mech.Name() {
		// The peer sent a whole ZMTP 3 greeting, so it reads ours: let it
		// have it, so that it too can tell what went wrong.
		ended = true
		out.finishDraining(conn)
		return nil, &MechanismError{Local: mech.Name(), Remote: peerG.Mechanism}
	}

	hc := &HandshakeConn{out: out, rd: rd, cfg: cfg, conn: conn, deadline: deadline, peerFirst: peerFirst}
	res, err := mech.Handshake(hc, local)
	if err == nil {
		err = hc.Check(res.Peer)
	}
	if err != nil {
		// Let the peer have what we sent before the caller closes: an
		// ERROR that tells it why (RFC 37: ERROR, then close), or a
		// command it will find as unexpected as we found its own, as
		// libzmq's peer does, whose writes are done before it reads.
		ended = true
		out.finishDraining(conn)
		return nil, err
	}
	ended = true
	if err := out.finish(); err != nil {
		return nil, err
	}
	md := res.Peer
	st, _ := md.Get(PropSocketType)
	id, _ := md.Get(PropIdentity)
	if !res.Codec.Plain() {
		rd.seal(res.Codec)
	}
	rd.Release()
	return &Session{
		Greeting:   peerG,
		SocketType: SocketType(st),
		Identity:   id,
		Metadata:   md,
		Reader:     rd,
		Codec:      res.Codec,
		UserID:     res.UserID,
		Auth:       res.Metadata,
	}, nil
}

// IsTimeout reports whether err is a handshake or I/O deadline expiry.
func IsTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
