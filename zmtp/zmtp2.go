package zmtp

import "fmt"

// ZMTP 2.0 (RFC 15) is the protocol of libzmq 3.x and of JeroMQ 0.3. Its
// greeting is 12 bytes: the signature, the revision byte 1 and a socket type
// byte. Each side then sends its identity as its first message, a single
// frame, and messages follow in the framing of ZMTP 3 without the command
// flag: there are no commands, no metadata and no security mechanism.

// v2GreetingSize is the size of a ZMTP 2.0 greeting: the signature, the
// revision and the socket type.
const v2GreetingSize = signatureSize + 2

// v2Types numbers the socket types of ZMTP 2.0 (RFC 15); the index is the
// socket type byte.
var v2Types = [...]SocketType{PAIR, PUB, SUB, REQ, REP, DEALER, ROUTER, PULL, PUSH}

// v2Code returns the ZMTP 2.0 socket type byte of t. XPUB and XSUB exist in
// the API only and go as PUB and SUB (RFC 15 "Publish-Subscribe").
func v2Code(t SocketType) (byte, bool) {
	switch t {
	case XPUB:
		t = PUB
	case XSUB:
		t = SUB
	}
	for i, v := range v2Types {
		if v == t {
			return byte(i), true
		}
	}
	return 0, false
}

// v2Refusal returns why a socket under cfg must not talk to a ZMTP 2.0
// peer, or "" when it may. ZMTP 2.0 carries no security, so a socket with a
// mechanism other than NULL, an authenticator or a ZAP domain refuses it:
// libzmq refuses 2.0 peers whenever its ZAP is enabled, which is a
// mechanism other than NULL or a ZAP domain.
func v2Refusal(cfg *Config, mech Mechanism) string {
	switch {
	case mech.Name() != "NULL":
		return "ZMTP 2.0 has no security mechanism, and this socket uses " + mech.Name()
	case cfg.Authenticate != nil || cfg.Domain != "":
		return "ZMTP 2.0 has no security mechanism, and this socket authenticates its peers"
	}
	if _, ok := v2Code(cfg.SocketType); !ok {
		return fmt.Sprintf("ZMTP 2.0 has no %s socket", cfg.SocketType)
	}
	if len(cfg.Identity) > MaxShortSize {
		return "a ZMTP 2.0 identity is at most 255 bytes"
	}
	return ""
}

// handshakeV2 finishes the handshake with a ZMTP 2.0 peer, whose signature
// and revision byte rd holds, as libzmq does it: our socket type byte goes
// out at once, and our identity once the peer's socket type byte is in;
// then the peer's identity frame is read. A peer of a socket type that may
// not talk to ours is dropped without a word (RFC 15 "Socket
// Compatibility": there is no ERROR to send).
func handshakeV2(out *sender, rd *Reader, cfg *Config, mech Mechanism) (*Session, error) {
	if why := v2Refusal(cfg, mech); why != "" {
		return nil, &VersionError{Major: revisionZMTP20, Why: why}
	}
	code, _ := v2Code(cfg.SocketType)
	if err := out.send([]byte{code}); err != nil {
		return nil, err
	}
	b, err := rd.Peek(v2GreetingSize)
	if err != nil {
		return nil, err
	}
	peerCode := b[v2GreetingSize-1]
	if int(peerCode) >= len(v2Types) {
		return nil, protoErr("ZMTP 2.0 socket type %d is none of RFC 15's", peerCode)
	}
	peerType := v2Types[peerCode]
	rd.Discard(v2GreetingSize)
	if !Compatible(cfg.SocketType, peerType) {
		return nil, &SocketTypeError{Local: cfg.SocketType, Remote: peerType}
	}
	if err := out.send(AppendFrame(make([]byte, 0, 2+len(cfg.Identity)), 0, cfg.Identity)); err != nil {
		return nil, err
	}
	rd.v2 = true
	h, err := rd.ReadHeader()
	if err != nil {
		return nil, err
	}
	switch {
	case h.More():
		return nil, protoErr("ZMTP 2.0 identity of more than one frame")
	case h.Size > MaxShortSize:
		return nil, protoErr("ZMTP 2.0 identity of %d bytes, more than 255", h.Size)
	}
	body, err := rd.readBuffered(int(h.Size))
	if err != nil {
		return nil, err
	}
	var id []byte
	if len(body) > 0 {
		id = append([]byte(nil), body...)
	}
	return &Session{
		Greeting:   Greeting{Major: 2, Minor: 0},
		SocketType: peerType,
		Identity:   id,
		Reader:     rd,
		Codec:      v2Codec{},
		v2:         true,
	}, nil
}

// v2Codec frames messages for a ZMTP 2.0 peer, which knows no commands: it
// would read one as a message, or drop the connection. A SUBSCRIBE or
// CANCEL goes as the message ZMTP 2.0 has for it, the topic behind a byte 1
// or 0 (RFC 15 "Publish-Subscribe"); every other command (PING, PONG) is
// left out.
type v2Codec struct{ PlainCodec }

// AppendCommand appends a subscription message for SUBSCRIBE and CANCEL,
// and nothing for other commands.
func (v2Codec) AppendCommand(b []byte, body []byte) []byte {
	name, data, err := SplitCommand(body)
	if err != nil {
		return b
	}
	var op byte
	switch name {
	case CmdSubscribe:
		op = 1
	case CmdCancel:
		op = 0
	default:
		return b
	}
	b = AppendHeader(b, 0, 1+len(data))
	b = append(b, op)
	return append(b, data...)
}
