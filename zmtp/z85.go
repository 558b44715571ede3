package zmtp

import "errors"

// z85Alphabet is RFC 32's alphabet: a digit of base 85 each.
const z85Alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"

var z85Digits = func() (d [256]byte) {
	for i := range d {
		d[i] = 0xFF
	}
	for i := 0; i < len(z85Alphabet); i++ {
		d[z85Alphabet[i]] = byte(i)
	}
	return d
}()

// ErrZ85 reports text that is not Z85: a length not a multiple of 5, a
// character outside the alphabet, or a group worth more than 32 bits.
var ErrZ85 = errors.New("zmtp: not Z85")

// AppendZ85 appends the Z85 encoding of src (RFC 32) to dst: five
// characters for each four bytes, big-endian. len(src) must be a multiple
// of 4; otherwise AppendZ85 returns dst unchanged and false.
func AppendZ85(dst, src []byte) ([]byte, bool) {
	if len(src)%4 != 0 {
		return dst, false
	}
	for i := 0; i < len(src); i += 4 {
		v := uint32(src[i])<<24 | uint32(src[i+1])<<16 | uint32(src[i+2])<<8 | uint32(src[i+3])
		var g [5]byte
		for j := 4; j >= 0; j-- {
			g[j] = z85Alphabet[v%85]
			v /= 85
		}
		dst = append(dst, g[:]...)
	}
	return dst, true
}

// AppendZ85Decode appends the bytes of the Z85 text s to dst, or returns
// ErrZ85.
func AppendZ85Decode(dst []byte, s string) ([]byte, error) {
	if len(s)%5 != 0 {
		return dst, ErrZ85
	}
	for i := 0; i < len(s); i += 5 {
		var v uint64
		for j := range 5 {
			d := z85Digits[s[i+j]]
			if d == 0xFF {
				return dst, ErrZ85
			}
			v = v*85 + uint64(d)
		}
		if v > 0xFFFFFFFF {
			return dst, ErrZ85
		}
		dst = append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return dst, nil
}
