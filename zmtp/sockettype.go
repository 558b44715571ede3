package zmtp

// SocketType is a ZeroMQ socket type as named in the Socket-Type property.
type SocketType string

// The socket types of RFC 37, and the draft types of libzmq 4.3.
const (
	PAIR    SocketType = "PAIR"
	PUB     SocketType = "PUB"
	SUB     SocketType = "SUB"
	REQ     SocketType = "REQ"
	REP     SocketType = "REP"
	DEALER  SocketType = "DEALER"
	ROUTER  SocketType = "ROUTER"
	PULL    SocketType = "PULL"
	PUSH    SocketType = "PUSH"
	XPUB    SocketType = "XPUB"
	XSUB    SocketType = "XSUB"
	SERVER  SocketType = "SERVER"
	CLIENT  SocketType = "CLIENT"
	RADIO   SocketType = "RADIO"
	DISH    SocketType = "DISH"
	GATHER  SocketType = "GATHER"
	SCATTER SocketType = "SCATTER"
	DGRAM   SocketType = "DGRAM"
	PEER    SocketType = "PEER"
	CHANNEL SocketType = "CHANNEL"
)

// compatible lists, for each socket type, the types it may talk to.
var compatible = map[SocketType][]SocketType{
	PAIR:    {PAIR},
	PUB:     {SUB, XSUB},
	SUB:     {PUB, XPUB},
	REQ:     {REP, ROUTER},
	REP:     {REQ, DEALER},
	DEALER:  {REP, DEALER, ROUTER},
	ROUTER:  {REQ, DEALER, ROUTER},
	PULL:    {PUSH},
	PUSH:    {PULL},
	XPUB:    {SUB, XSUB},
	XSUB:    {PUB, XPUB},
	SERVER:  {CLIENT},
	CLIENT:  {SERVER},
	RADIO:   {DISH},
	DISH:    {RADIO},
	GATHER:  {SCATTER},
	SCATTER: {GATHER},
	DGRAM:   {DGRAM},
	PEER:    {PEER},
	CHANNEL: {CHANNEL},
}

// Valid reports whether t is a known socket type.
func (t SocketType) Valid() bool {
	_, ok := compatible[t]
	return ok
}

// Compatible reports whether a socket of type local may talk to a peer of
// type remote. Socket type names are matched exactly, as libzmq does.
func Compatible(local, remote SocketType) bool {
	for _, t := range compatible[local] {
		if t == remote {
			return true
		}
	}
	return false
}
