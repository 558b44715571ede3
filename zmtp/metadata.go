package zmtp

import (
	"encoding/binary"
	"strings"
)

// Metadata property names defined by RFC 37.
const (
	PropSocketType = "Socket-Type"
	PropIdentity   = "Identity"
	PropResource   = "Resource"
)

// maxValueSize is the largest metadata value the RFC allows (2^31-1).
const maxValueSize = 1<<31 - 1

// Property is one metadata name and value.
type Property struct {
	Name  string
	Value []byte
}

// Metadata is an ordered list of properties, as carried by READY. Names are
// compared without regard to case.
type Metadata []Property

// Get returns the value of the property called name, compared
// case-insensitively.
func (md Metadata) Get(name string) ([]byte, bool) {
	for _, p := range md {
		if strings.EqualFold(p.Name, name) {
			return p.Value, true
		}
	}
	return nil, false
}

// Len returns the encoded size of md.
func (md Metadata) Len() int {
	n := 0
	for _, p := range md {
		n += 1 + len(p.Name) + 4 + len(p.Value)
	}
	return n
}

// Append appends the encoding of md to b: for each property, a 1-byte name
// length, the name, a 4-byte big-endian value length and the value.
func (md Metadata) Append(b []byte) []byte {
	for _, p := range md {
		b = append(b, byte(len(p.Name)))
		b = append(b, p.Name...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(p.Value)))
		b = append(b, p.Value...)
	}
	return b
}

// Validate reports a property that cannot be encoded.
func (md Metadata) Validate() error {
	for _, p := range md {
		if err := checkName(p.Name); err != nil {
			return err
		}
		if len(p.Value) > maxValueSize {
			return protoErr("metadata value of %q is too long", p.Name)
		}
	}
	return nil
}

func checkName(name string) error {
	if len(name) == 0 || len(name) > 255 {
		return protoErr("metadata name of %d bytes, want 1 to 255", len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '+') {
			return protoErr("metadata name %q has an invalid character", name)
		}
	}
	return nil
}

// ParseMetadata decodes a metadata list. Values refer into b.
func ParseMetadata(b []byte) (Metadata, error) {
	var md Metadata
	for len(b) > 0 {
		nl := int(b[0])
		b = b[1:]
		if nl == 0 {
			return nil, protoErr("metadata name of zero length")
		}
		if len(b) < nl+4 {
			return nil, protoErr("metadata property truncated")
		}
		name := string(b[:nl])
		if err := checkName(name); err != nil {
			return nil, err
		}
		b = b[nl:]
		vl := binary.BigEndian.Uint32(b)
		b = b[4:]
		if vl > maxValueSize {
			return nil, protoErr("metadata value of %q claims %d bytes, more than 2^31-1", name, vl)
		}
		if uint64(len(b)) < uint64(vl) {
			return nil, protoErr("metadata value of %q truncated: %d of %d bytes", name, len(b), vl)
		}
		md = append(md, Property{Name: name, Value: b[:vl:vl]})
		b = b[vl:]
	}
	return md, nil
}
