package zmtp

import "bytes"

// GreetingSize is the size of a ZMTP 3 greeting.
const GreetingSize = 64

// signatureSize is the part of the greeting that every ZMTP version since
// 2.0 shares: %xFF, 8 bytes of padding, %x7F.
const signatureSize = 10

// mechanismSize is the width of the null-padded mechanism name.
const mechanismSize = 20

// The version this package sends.
const (
	VersionMajor = 3
	VersionMinor = 1
)

// Greeting is the fixed 64-byte prologue of a ZMTP 3 connection.
type Greeting struct {
	Major, Minor byte
	Mechanism    string // at most 20 bytes, e.g. "NULL"
	AsServer     bool
}

// Len returns the encoded size of g, which is always GreetingSize.
func (Greeting) Len() int { return GreetingSize }

// Append appends the 64-byte encoding of g to b. The padding carries the
// value 1, as libzmq's does (a ZMTP 1.0 identity of length zero plus one).
func (g Greeting) Append(b []byte) []byte {
	b = append(b, 0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, g.Major, g.Minor)
	var mech [mechanismSize]byte
	copy(mech[:], g.Mechanism)
	b = append(b, mech[:]...)
	if g.AsServer {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	var filler [31]byte
	return append(b, filler[:]...)
}

// The revision byte, the 11th of a greeting, of the versions before ZMTP 3:
// 3.x sends its major version there instead (RFC 15, RFC 23).
const (
	revisionZMTP10 = 0 // ZMTP 1.0 with a revision byte, as libzmq names it
	revisionZMTP20 = 1
)

// checkSignature validates the first bytes of a greeting, as many of the
// signature and the revision or major version (signatureSize+1 bytes) as b
// holds: a first byte other than 0xFF, or a tenth without its low bit, is a
// ZMTP 1.0 peer (or no ZMTP at all), which says no more until it is answered
// in kind. Padding bytes 1 to 8 are not checked, since libzmq puts a length
// there. The 11th byte may be 1 (ZMTP 2.0) or 3 and up (ZMTP 3.x).
func checkSignature(b []byte) error {
	if len(b) > 0 && b[0] != 0xFF || len(b) > 9 && b[9]&1 != 1 {
		return protoErr("not a ZMTP 2.0 or later signature (ZMTP 1.0 peers are not supported)")
	}
	if len(b) > 10 && b[10] < VersionMajor && b[10] != revisionZMTP20 {
		return &VersionError{Major: b[10]}
	}
	return nil
}

// ParseGreeting decodes a 64-byte ZMTP 3 greeting. A ZMTP 2.0 greeting,
// which is 12 bytes and has no mechanism, is a *VersionError here: only
// Handshake speaks ZMTP 2.0.
func ParseGreeting(b []byte) (Greeting, error) {
	if len(b) > 10 && b[10] == revisionZMTP20 {
		return Greeting{}, &VersionError{Major: revisionZMTP20}
	}
	if len(b) < GreetingSize {
		return Greeting{}, protoErr("greeting is %d bytes, want %d", len(b), GreetingSize)
	}
	if err := checkSignature(b); err != nil {
		return Greeting{}, err
	}
	g := Greeting{Major: b[10], Minor: b[11]}
	mech := b[12 : 12+mechanismSize]
	if i := bytes.IndexByte(mech, 0); i >= 0 {
		for _, c := range mech[i:] {
			if c != 0 {
				return Greeting{}, protoErr("mechanism name is not null-padded")
			}
		}
		mech = mech[:i]
	}
	for _, c := range mech {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '+') {
			return Greeting{}, protoErr("mechanism name %q has a character outside A-Z 0-9 - _ . +", mech)
		}
	}
	g.Mechanism = string(mech)
	// RFC 23 allows 0 and 1; libzmq does not look at the byte at all, so
	// any other value is taken too, and reads as set.
	g.AsServer = b[32] != 0
	return g, nil
}
