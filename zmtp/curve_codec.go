package zmtp

import (
	"encoding/binary"

	"golang.org/x/crypto/nacl/box"
)

// CURVE's MESSAGE flags: the first byte of what a MESSAGE seals.
const (
	curveMore    = 0x01
	curveCommand = 0x02
)

// curveCodec seals every frame of a CURVE connection into a MESSAGE
// command, and opens those of the peer. Short nonces count up from where
// the handshake left them; a peer's nonce that does not grow is a replay,
// or a reordering, and ends the connection.
//
// The sending half (Append*) is used by one goroutine at a time, the
// receiving half (Open) by the reader: they share only the key.
type curveCodec struct {
	key        [32]byte
	sendPrefix []byte
	recvPrefix []byte

	sendNonce uint64 // the next to use
	plain     []byte // what the next MESSAGE seals: flags, then the frame

	recvNonce uint64 // the peer's last
}

func newCurveCodec(key *[32]byte, server bool, sendNonce, recvNonce uint64) *curveCodec {
	c := &curveCodec{key: *key, sendNonce: sendNonce, recvNonce: recvNonce}
	c.sendPrefix, c.recvPrefix = nonceMessageC, nonceMessageS
	if server {
		c.sendPrefix, c.recvPrefix = nonceMessageS, nonceMessageC
	}
	return c
}

// Plain returns false.
func (*curveCodec) Plain() bool { return false }

// Overhead is a frame header and what a MESSAGE adds to its frame.
func (*curveCodec) Overhead() int { return MaxHeaderLen + curveMessageMin }

// AppendFrame appends a MESSAGE sealing a message frame.
func (c *curveCodec) AppendFrame(b []byte, flags byte, body []byte) []byte {
	var f byte
	if flags&FlagMore != 0 {
		f = curveMore
	}
	return c.seal(b, f, body)
}

// AppendCommand appends a MESSAGE sealing a command.
func (c *curveCodec) AppendCommand(b []byte, body []byte) []byte {
	return c.seal(b, curveCommand, body)
}

// seal appends a MESSAGE. libzmq 4.3 sends MESSAGE in a message frame
// with no flags, not in a command frame as RFC 25 has it; so does zrouter,
// byte for byte.
func (c *curveCodec) seal(b []byte, flags byte, body []byte) []byte {
	b = AppendHeader(b, 0, curveMessageMin+len(body))
	b = appendName(b, cmdMessage)
	b = binary.BigEndian.AppendUint64(b, c.sendNonce)
	n := shortNonce(c.sendPrefix, c.sendNonce)
	c.sendNonce++
	c.plain = append(append(c.plain[:0], flags), body...)
	b = box.SealAfterPrecomputation(b, c.plain, &n, &c.key)
	if cap(c.plain) > 128<<10 {
		c.plain = nil // do not keep a huge frame's worth
	}
	return b
}

// Open opens a MESSAGE, into dst.
func (c *curveCodec) Open(dst, body []byte) ([]byte, byte, error) {
	if len(body) < curveMessageMin || string(body[:8]) != "\x07"+cmdMessage {
		name, _, _ := SplitCommand(body)
		return nil, 0, protoErr("CURVE: a %q command where only MESSAGE may come", name)
	}
	nonce := binary.BigEndian.Uint64(body[8:16])
	if nonce <= c.recvNonce {
		return nil, 0, protoErr("CURVE MESSAGE nonce %d after %d: replayed or reordered", nonce, c.recvNonce)
	}
	n := shortNonce(c.recvPrefix, nonce)
	out, ok := box.OpenAfterPrecomputation(dst, body[16:], &n, &c.key)
	if !ok {
		return nil, 0, protoErr("CURVE MESSAGE does not open: changed on the way, or not sealed for us")
	}
	c.recvNonce = nonce
	var flags byte
	if out[len(dst)]&curveMore != 0 {
		flags |= FlagMore
	}
	if out[len(dst)]&curveCommand != 0 {
		flags |= FlagCommand
	}
	return out, flags, nil
}

// Limit is max and what a MESSAGE adds.
func (*curveCodec) Limit(max int64) int64 {
	if max < 0 {
		return -1
	}
	return max + curveMessageMin
}

// OpenLen is the flags byte and the frame.
func (*curveCodec) OpenLen(n int) int { return n - curveMessageMin + 1 }
