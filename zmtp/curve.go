package zmtp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"io"
	"time"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"
	"golang.org/x/crypto/nacl/secretbox"
)

// Curve is the CURVE security mechanism (RFC 25, ZMTP-CURVE, over RFC 26,
// CurveZMQ): both sides prove their long-term keys, agree on transient
// ones, and every frame after the handshake travels sealed in a MESSAGE
// command, which only the other side can open and nobody can change or
// replay.
//
// The client knows the server's public key beforehand. The server learns
// the client's from INITIATE and asks its authenticator whether to let it
// in. Between WELCOME and INITIATE a server keeps only the key of the
// cookie it sent, which holds its transient secret: a key of that
// connection's own, discarded once INITIATE brings the cookie back, or
// after a minute (RFC 26), so that a recorded INITIATE cannot be replayed
// on another connection.
//
// A Curve is safe for concurrent use: one serves every handshake of a
// socket.
type Curve struct {
	// Server makes this side the server.
	Server bool
	// Public and Secret are this side's long-term key pair.
	Public, Secret [32]byte
	// ServerKey is the server's public key, on a client.
	ServerKey [32]byte
}

// CURVE's commands, beside HELLO, WELCOME, INITIATE and READY.
const cmdMessage = "MESSAGE"

// Sizes of CURVE's commands (RFC 26), bodies with their names.
const (
	curveHelloSize   = 200
	curveWelcomeSize = 168
	curveCookieSize  = 96
	// curveInitiateMin is an INITIATE without metadata.
	curveInitiateMin = 9 + curveCookieSize + 8 + box.Overhead + 32 + 16 + 80
	// curveReadyMin is a READY without metadata.
	curveReadyMin = 6 + 8 + box.Overhead
	// curveMessageMin is a MESSAGE with an empty frame: name, nonce, box
	// of the flags byte.
	curveMessageMin = 8 + 8 + box.Overhead + 1
)

// The nonce prefixes of RFC 26: 16 bytes before a short (8-byte) nonce, 8
// before a long (16-byte) one.
var (
	nonceHello    = []byte("CurveZMQHELLO---")
	nonceWelcome  = []byte("WELCOME-")
	nonceCookie   = []byte("COOKIE--")
	nonceInitiate = []byte("CurveZMQINITIATE")
	nonceVouch    = []byte("VOUCH---")
	nonceReady    = []byte("CurveZMQREADY---")
	nonceMessageC = []byte("CurveZMQMESSAGEC") // from the client
	nonceMessageS = []byte("CurveZMQMESSAGES") // from the server
)

// CurveKeyPair makes a long-term key pair from crypto/rand.
func CurveKeyPair() (public, secret [32]byte, err error) {
	pub, sec, err := box.GenerateKey(rand.Reader)
	if err != nil {
		return public, secret, err
	}
	return *pub, *sec, nil
}

// CurvePublic returns the public key of a secret key.
func CurvePublic(secret [32]byte) (public [32]byte) {
	p, err := curve25519.X25519(secret[:], curve25519.Basepoint)
	if err != nil {
		// Only a low-order point fails, which the base point is not.
		panic("zmtp: X25519 with the base point: " + err.Error())
	}
	copy(public[:], p)
	return public
}

// Name returns "CURVE".
func (*Curve) Name() string { return "CURVE" }

// AsServer returns false, as libzmq 4.3 sends it whatever the role (see
// Plain.AsServer).
func (*Curve) AsServer() bool { return false }

// Handshake runs CURVE's command exchange in this side's role.
func (c *Curve) Handshake(hc *HandshakeConn, local Metadata) (*Outcome, error) {
	if c.Server {
		return c.serve(hc, local)
	}
	return c.client(hc, local)
}

// sharedKey returns box.Precompute's key for a peer's public key and our
// secret one, and refuses, as libsodium's crypto_box_beforenm does, a
// public key of small order: its shared secret is zero whatever our secret
// key is, so anybody could compute the key, and x/crypto's box would use it
// without a word. Such a key comes out as zeroSharedKey.
func sharedKey(peer, secret *[32]byte) (key [32]byte, err error) {
	box.Precompute(&key, peer, secret)
	if subtle.ConstantTimeCompare(key[:], zeroSharedKey[:]) == 1 {
		return key, protoErr("CURVE: a public key of small order, which no key pair has")
	}
	return key, nil
}

// zeroSharedKey is box.Precompute's key for a shared secret of zero.
var zeroSharedKey = func() (key [32]byte) {
	box.Precompute(&key, new([32]byte), &[32]byte{1})
	return key
}()

// shortNonce returns prefix and n as a 24-byte nonce.
func shortNonce(prefix []byte, n uint64) (nonce [24]byte) {
	copy(nonce[:], prefix)
	binary.BigEndian.PutUint64(nonce[16:], n)
	return nonce
}

// longNonce returns prefix and the 16 bytes of long as a 24-byte nonce.
func longNonce(prefix, long []byte) (nonce [24]byte) {
	copy(nonce[:], prefix)
	copy(nonce[8:], long)
	return nonce
}

func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := io.ReadFull(rand.Reader, b)
	return b, err
}

func (c *Curve) client(hc *HandshakeConn, local Metadata) (*Outcome, error) {
	cpub, csec, err := box.GenerateKey(rand.Reader) // C', c'
	if err != nil {
		return nil, err
	}
	defer clear(csec[:])
	hkey, err := sharedKey(&c.ServerKey, csec) // C'·S
	if err != nil {
		return nil, err
	}
	var nonce uint64 = 1

	// HELLO: our transient key, and a box of zeros only the server can
	// open, proving we know its key; padded to WELCOME's size, so that a
	// forged HELLO cannot make the server amplify an attack.
	hello := append(appendName(make([]byte, 0, curveHelloSize), cmdHello), 1, 0)
	hello = append(hello, make([]byte, 72)...)
	hello = append(hello, cpub[:]...)
	hello = binary.BigEndian.AppendUint64(hello, nonce)
	n := shortNonce(nonceHello, nonce)
	hello = box.SealAfterPrecomputation(hello, make([]byte, 64), &n, &hkey)
	nonce++
	if err := hc.writeBody(hello); err != nil {
		return nil, err
	}

	// WELCOME: the server's transient key and a cookie.
	data, err := hc.expect("CURVE", cmdWelcome)
	if err != nil {
		return nil, err
	}
	if len(data)+8 != curveWelcomeSize {
		return nil, protoErr("CURVE WELCOME of %d bytes, want %d", len(data)+8, curveWelcomeSize)
	}
	n = longNonce(nonceWelcome, data[:16])
	welcome, ok := box.OpenAfterPrecomputation(nil, data[16:], &n, &hkey)
	if !ok {
		return nil, protoErr("CURVE WELCOME does not open: the server does not have the key we were given")
	}
	var spub [32]byte // S'
	copy(spub[:], welcome[:32])
	cookie := welcome[32:]
	key, err := sharedKey(&spub, csec) // C'·S'
	if err != nil {
		return nil, err
	}
	vkey, err := sharedKey(&spub, &c.Secret) // C·S'
	if err != nil {
		return nil, err
	}

	// INITIATE: the cookie back, our long-term key, and a vouch, sealed
	// with it, for our transient key and the server.
	vouchNonce, err := randomBytes(16)
	if err != nil {
		return nil, err
	}
	n = longNonce(nonceVouch, vouchNonce)
	vouch := box.SealAfterPrecomputation(vouchNonce, append(append(make([]byte, 0, 64), cpub[:]...), c.ServerKey[:]...), &n, &vkey)
	plain := append(append(append(make([]byte, 0, 32+len(vouch)+local.Len()), c.Public[:]...), vouch...), local.Append(nil)...)
	initiate := append(appendName(nil, cmdInitiate), cookie...)
	initiate = binary.BigEndian.AppendUint64(initiate, nonce)
	n = shortNonce(nonceInitiate, nonce)
	initiate = box.SealAfterPrecomputation(initiate, plain, &n, &key)
	nonce++
	if err := hc.writeBody(initiate); err != nil {
		return nil, err
	}

	// READY: the server's metadata, or an ERROR.
	data, err = hc.expect("CURVE", CmdReady)
	if err != nil {
		return nil, err
	}
	if len(data)+6 < curveReadyMin {
		return nil, protoErr("CURVE READY of %d bytes, want %d at least", len(data)+6, curveReadyMin)
	}
	peerNonce := binary.BigEndian.Uint64(data[:8])
	n = shortNonce(nonceReady, peerNonce)
	mdb, ok := box.OpenAfterPrecomputation(nil, data[8:], &n, &key)
	if !ok {
		return nil, protoErr("CURVE READY does not open")
	}
	md, err := ParseMetadata(mdb)
	if err != nil {
		return nil, err
	}
	return &Outcome{Peer: md, Codec: newCurveCodec(&key, false, nonce, peerNonce)}, nil
}

func (c *Curve) serve(hc *HandshakeConn, local Metadata) (*Outcome, error) {
	// HELLO: the client's transient key, and proof that it has ours.
	data, err := hc.expect("CURVE", cmdHello)
	if err != nil {
		return nil, err
	}
	if len(data)+6 != curveHelloSize {
		return nil, protoErr("CURVE HELLO of %d bytes, want %d", len(data)+6, curveHelloSize)
	}
	if data[0] != 1 || data[1] != 0 {
		return nil, protoErr("CURVE HELLO of version %d.%d, want 1.0", data[0], data[1])
	}
	var cpub [32]byte // C'
	copy(cpub[:], data[74:106])
	helloNonce := binary.BigEndian.Uint64(data[106:114])
	n := shortNonce(nonceHello, helloNonce)
	hkey, err := sharedKey(&cpub, &c.Secret) // S·C'
	if err != nil {
		return nil, err
	}
	zeros, ok := box.OpenAfterPrecomputation(nil, data[114:], &n, &hkey)
	if !ok || subtle.ConstantTimeCompare(zeros, make([]byte, 64)) != 1 {
		return nil, protoErr("CURVE HELLO does not open: the client does not have our key")
	}

	// WELCOME: a transient key for this connection, and a cookie that
	// holds it and the client's, sealed under the cookie key; then the
	// server forgets both until INITIATE brings the cookie back.
	spub, ssec, err := box.GenerateKey(rand.Reader) // S', s'
	if err != nil {
		return nil, err
	}
	var ck cookieKey
	defer clear(ck.key[:])
	cookie, err := ck.seal(cpub[:], ssec[:])
	clear(ssec[:])
	if err != nil {
		return nil, err
	}
	long, err := randomBytes(16)
	if err != nil {
		return nil, err
	}
	n = longNonce(nonceWelcome, long)
	welcome := append(appendName(make([]byte, 0, curveWelcomeSize), cmdWelcome), long...)
	welcome = box.SealAfterPrecomputation(welcome, append(spub[:], cookie...), &n, &hkey)
	if err := hc.writeBody(welcome); err != nil {
		return nil, err
	}

	// INITIATE: the cookie, the client's long-term key and its vouch.
	data, err = hc.expect("CURVE", cmdInitiate)
	if err != nil {
		return nil, err
	}
	if len(data)+9 < curveInitiateMin {
		return nil, protoErr("CURVE INITIATE of %d bytes, want %d at least", len(data)+9, curveInitiateMin)
	}
	opened, ok := ck.open(data[:curveCookieSize])
	if !ok || subtle.ConstantTimeCompare(opened[:32], cpub[:]) != 1 {
		return nil, protoErr("CURVE INITIATE: the cookie is not the one we sent, or has expired")
	}
	copy(ssec[:], opened[32:])
	defer clear(ssec[:])
	clear(opened)
	key, err := sharedKey(&cpub, ssec) // S'·C'
	if err != nil {
		return nil, err
	}
	peerNonce := binary.BigEndian.Uint64(data[curveCookieSize : curveCookieSize+8])
	if peerNonce <= helloNonce {
		return nil, protoErr("CURVE INITIATE nonce %d after HELLO's %d", peerNonce, helloNonce)
	}
	n = shortNonce(nonceInitiate, peerNonce)
	plain, ok := box.OpenAfterPrecomputation(nil, data[curveCookieSize+8:], &n, &key)
	if !ok {
		return nil, protoErr("CURVE INITIATE does not open")
	}
	var client [32]byte // C
	copy(client[:], plain[:32])
	n = longNonce(nonceVouch, plain[32:48])
	vkey, err := sharedKey(&client, ssec) // S'·C
	if err != nil {
		return nil, err
	}
	vouch, ok := box.OpenAfterPrecomputation(nil, plain[48:128], &n, &vkey)
	if !ok || subtle.ConstantTimeCompare(vouch[:32], cpub[:]) != 1 || subtle.ConstantTimeCompare(vouch[32:], c.Public[:]) != 1 {
		return nil, protoErr("CURVE INITIATE: the vouch does not hold this connection's keys")
	}
	md, err := ParseMetadata(plain[128:])
	if err != nil {
		return nil, err
	}
	md = md.clone()
	id, _ := md.Get(PropIdentity)
	rep, err := hc.authorize(&AuthRequest{Mechanism: "CURVE", ClientKey: client, Identity: id}, hc.Refuse)
	if err != nil {
		return nil, err
	}
	if err := hc.Check(md); err != nil {
		return nil, err
	}

	// READY: our metadata.
	var nonce uint64 = 1
	ready := appendName(nil, CmdReady)
	ready = binary.BigEndian.AppendUint64(ready, nonce)
	n = shortNonce(nonceReady, nonce)
	ready = box.SealAfterPrecomputation(ready, local.Append(nil), &n, &key)
	nonce++
	if err := hc.writeBody(ready); err != nil {
		return nil, err
	}
	return &Outcome{Peer: md, Codec: newCurveCodec(&key, true, nonce, peerNonce), UserID: rep.UserID, Metadata: rep.Metadata}, nil
}

// cookieKey is the key of the cookie a server sends in one connection's
// WELCOME: random, and good for that cookie alone, for at most cookieLife.
type cookieKey struct {
	key   [32]byte
	since time.Time
}

// cookieLife is how long a cookie opens (RFC 26's "short interval").
const cookieLife = time.Minute

// seal makes the key and, with it, a cookie of the client's and the
// server's transient keys.
func (k *cookieKey) seal(cpub, ssec []byte) ([]byte, error) {
	if _, err := io.ReadFull(rand.Reader, k.key[:]); err != nil {
		return nil, err
	}
	k.since = time.Now()
	long, err := randomBytes(16)
	if err != nil {
		return nil, err
	}
	n := longNonce(nonceCookie, long)
	return secretbox.Seal(long, append(append(make([]byte, 0, 64), cpub...), ssec...), &n, &k.key), nil
}

// open returns what the cookie holds, if it is the one seal made and has
// not expired, and discards the key: it opens one cookie, once.
func (k *cookieKey) open(cookie []byte) ([]byte, bool) {
	since := k.since
	defer func() { clear(k.key[:]); k.since = time.Time{} }()
	if since.IsZero() || time.Since(since) > cookieLife {
		return nil, false
	}
	n := longNonce(nonceCookie, cookie[:16])
	return secretbox.Open(nil, cookie[16:], &n, &k.key)
}
