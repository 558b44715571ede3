package zmtp

// Command names defined by RFC 37.
const (
	CmdReady     = "READY"
	CmdError     = "ERROR"
	CmdPing      = "PING"
	CmdPong      = "PONG"
	CmdSubscribe = "SUBSCRIBE"
	CmdCancel    = "CANCEL"
)

// Command is a decoded command frame body.
type Command interface {
	// Name returns the command name, such as "READY".
	Name() string
	// Len returns the size of the command body.
	Len() int
	// Append appends the command body (name length, name, data) to b.
	Append(b []byte) []byte
}

// AppendCommand appends c as a whole command frame: header, then body.
func AppendCommand(b []byte, c Command) []byte {
	b = AppendHeader(b, FlagCommand, c.Len())
	return c.Append(b)
}

// appendName appends the name part of a command body.
func appendName(b []byte, name string) []byte {
	return append(append(b, byte(len(name))), name...)
}

// SplitCommand splits a command body into its name and data. The data refers
// into body.
func SplitCommand(body []byte) (name string, data []byte, err error) {
	if len(body) == 0 {
		return "", nil, protoErr("empty command frame")
	}
	n := int(body[0])
	if n == 0 {
		return "", nil, protoErr("command with an empty name")
	}
	if len(body) < 1+n {
		return "", nil, protoErr("command name truncated")
	}
	return string(body[1 : 1+n]), body[1+n:], nil
}

// ParseCommand decodes a command body. Commands this package does not know
// come back as *Unknown, so the caller can ignore them as the RFC asks.
// Byte slices in the result refer into body.
func ParseCommand(body []byte) (Command, error) {
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
		return &Ready{Metadata: md}, nil
	case CmdError:
		return parseError(data)
	case CmdPing:
		return parsePing(data)
	case CmdPong:
		return &Pong{Context: data}, nil
	case CmdSubscribe:
		return &Subscribe{Topic: data}, nil
	case CmdCancel:
		return &Cancel{Topic: data}, nil
	}
	return &Unknown{CmdName: name, Data: data}, nil
}

// Ready is the READY command of the NULL and PLAIN mechanisms: the sender's
// metadata.
type Ready struct {
	Metadata Metadata
}

// Name returns "READY".
func (*Ready) Name() string { return CmdReady }

// Len returns the size of the command body.
func (c *Ready) Len() int { return 1 + len(CmdReady) + c.Metadata.Len() }

// Append appends the command body to b.
func (c *Ready) Append(b []byte) []byte {
	return c.Metadata.Append(appendName(b, CmdReady))
}

// Error is the ERROR command: a fatal handshake failure with a reason of at
// most 255 bytes.
type Error struct {
	Reason string
}

// Name returns "ERROR".
func (*Error) Name() string { return CmdError }

func (c *Error) reason() string {
	if len(c.Reason) > 255 {
		return c.Reason[:255]
	}
	return c.Reason
}

// Len returns the size of the command body.
func (c *Error) Len() int { return 1 + len(CmdError) + 1 + len(c.reason()) }

// Append appends the command body to b. A reason longer than 255 bytes is
// cut to 255.
func (c *Error) Append(b []byte) []byte {
	r := c.reason()
	return append(append(appendName(b, CmdError), byte(len(r))), r...)
}

func parseError(data []byte) (*Error, error) {
	if len(data) == 0 {
		return nil, protoErr("ERROR command without a reason length")
	}
	n := int(data[0])
	if len(data) < 1+n {
		return nil, protoErr("ERROR reason truncated")
	}
	return &Error{Reason: string(data[1 : 1+n])}, nil
}

// MaxPingContext is the largest PING context this package sends or keeps
// (RFC 37: "up to 16 octets"); libzmq cuts a longer one to this size.
const MaxPingContext = 16

// Ping is the PING heartbeat command.
type Ping struct {
	// TTL is the time to live the sender asks for, in tenths of a second;
	// zero means none.
	TTL uint16
	// Context is echoed back in the PONG, at most 16 bytes.
	Context []byte
}

// Name returns "PING".
func (*Ping) Name() string { return CmdPing }

func (c *Ping) context() []byte {
	if len(c.Context) > MaxPingContext {
		return c.Context[:MaxPingContext]
	}
	return c.Context
}

// Len returns the size of the command body.
func (c *Ping) Len() int { return 1 + len(CmdPing) + 2 + len(c.context()) }

// Append appends the command body to b. A context longer than
// MaxPingContext bytes is cut to that size.
func (c *Ping) Append(b []byte) []byte {
	b = append(appendName(b, CmdPing), byte(c.TTL>>8), byte(c.TTL))
	return append(b, c.context()...)
}

// parsePing decodes a PING. A context longer than MaxPingContext bytes is
// cut to that size, as libzmq cuts it before echoing it in its PONG.
func parsePing(data []byte) (*Ping, error) {
	if len(data) < 2 {
		return nil, protoErr("PING without a TTL")
	}
	ctx := data[2:]
	if len(ctx) > MaxPingContext {
		ctx = ctx[:MaxPingContext]
	}
	return &Ping{TTL: uint16(data[0])<<8 | uint16(data[1]), Context: ctx}, nil
}

// Pong is the PONG heartbeat reply, echoing the PING's context.
type Pong struct {
	Context []byte
}

// Name returns "PONG".
func (*Pong) Name() string { return CmdPong }

// Len returns the size of the command body.
func (c *Pong) Len() int { return 1 + len(CmdPong) + len(c.Context) }

// Append appends the command body to b.
func (c *Pong) Append(b []byte) []byte {
	return append(appendName(b, CmdPong), c.Context...)
}

// Subscribe is the ZMTP 3.1 SUBSCRIBE command.
type Subscribe struct {
	Topic []byte
}

// Name returns "SUBSCRIBE".
func (*Subscribe) Name() string { return CmdSubscribe }

// Len returns the size of the command body.
func (c *Subscribe) Len() int { return 1 + len(CmdSubscribe) + len(c.Topic) }

// Append appends the command body to b.
func (c *Subscribe) Append(b []byte) []byte {
	return append(appendName(b, CmdSubscribe), c.Topic...)
}

// Cancel is the ZMTP 3.1 CANCEL command.
type Cancel struct {
	Topic []byte
}

// Name returns "CANCEL".
func (*Cancel) Name() string { return CmdCancel }

// Len returns the size of the command body.
func (c *Cancel) Len() int { return 1 + len(CmdCancel) + len(c.Topic) }

// Append appends the command body to b.
func (c *Cancel) Append(b []byte) []byte {
	return append(appendName(b, CmdCancel), c.Topic...)
}

// Unknown is a command this package does not interpret.
type Unknown struct {
	CmdName string
	Data    []byte
}

// Name returns the command's name.
func (c *Unknown) Name() string { return c.CmdName }

// Len returns the size of the command body.
func (c *Unknown) Len() int { return 1 + len(c.CmdName) + len(c.Data) }

// Append appends the command body to b.
func (c *Unknown) Append(b []byte) []byte {
	return append(appendName(b, c.CmdName), c.Data...)
}
