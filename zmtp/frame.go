package zmtp

import "encoding/binary"

// Frame flag bits (RFC 37, "Framing").
const (
	FlagMore    byte = 0x01 // more frames of this message follow
	FlagLong    byte = 0x02 // the size is 8 bytes, not 1
	FlagCommand byte = 0x04 // the frame is a command
	flagsKnown       = FlagMore | FlagLong | FlagCommand
)

// MaxShortSize is the largest body a short frame carries.
const MaxShortSize = 255

// MaxHeaderLen is the largest frame header: flags and an 8-byte size.
const MaxHeaderLen = 9

// HeaderLen returns the size of the header of a frame with a body of n bytes.
func HeaderLen(n int) int {
	if n > MaxShortSize {
		return 9
	}
	return 2
}

// AppendHeader appends the header of a frame carrying size body bytes. flags
// may hold FlagMore and FlagCommand; FlagLong is set from the size, so that
// bodies of up to 255 bytes use the short form, as libzmq does.
func AppendHeader(b []byte, flags byte, size int) []byte {
	flags &^= FlagLong
	if size > MaxShortSize {
		b = append(b, flags|FlagLong)
		return binary.BigEndian.AppendUint64(b, uint64(size))
	}
	return append(b, flags, byte(size))
}

// AppendFrame appends a whole frame: header, then body.
func AppendFrame(b []byte, flags byte, body []byte) []byte {
	return append(AppendHeader(b, flags, len(body)), body...)
}

// AppendMessage appends frames as one message: every frame but the last
// carries FlagMore.
func AppendMessage(b []byte, frames [][]byte) []byte {
	for i, f := range frames {
		var flags byte
		if i < len(frames)-1 {
			flags = FlagMore
		}
		b = AppendFrame(b, flags, f)
	}
	return b
}

// Header is a decoded frame header.
type Header struct {
	Flags byte
	Size  uint64
}

// More reports whether more frames of the message follow.
func (h Header) More() bool { return h.Flags&FlagMore != 0 }

// IsCommand reports whether the frame is a command.
func (h Header) IsCommand() bool { return h.Flags&FlagCommand != 0 }

// ParseHeader decodes a frame header at the start of b. It returns the header
// and its encoded length, or n == 0 and a nil error when b is too short to
// hold the whole header. It rejects reserved flag bits and commands marked
// MORE. Size limits are the caller's to check.
func ParseHeader(b []byte) (h Header, n int, err error) {
	if len(b) == 0 {
		return Header{}, 0, nil
	}
	f := b[0]
	if f&^flagsKnown != 0 {
		return Header{}, 0, protoErr("reserved frame flag bits set (flags %#02x)", f)
	}
	if f&FlagCommand != 0 && f&FlagMore != 0 {
		return Header{}, 0, protoErr("command frame with the MORE flag")
	}
	if f&FlagLong == 0 {
		if len(b) < 2 {
			return Header{}, 0, nil
		}
		return Header{Flags: f, Size: uint64(b[1])}, 2, nil
	}
	if len(b) < 9 {
		return Header{}, 0, nil
	}
	size := binary.BigEndian.Uint64(b[1:9])
	if size>>63 != 0 {
		return Header{}, 0, protoErr("frame size %d exceeds 2^63-1", size)
	}
	return Header{Flags: f, Size: size}, 9, nil
}
