package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/zrouter/zrouter/zmtp"
)

// Config is a socket's settings.
type Config struct {
	// Type is the socket type; the core sets it before any option runs.
	Type zmtp.SocketType

	RoutingID  []byte // ZMQ_ROUTING_ID, sent in READY
	SendHWM    int    // ZMQ_SNDHWM, per pipe; 0 = no limit
	RecvHWM    int    // ZMQ_RCVHWM, per pipe; 0 = no limit
	MaxMsgSize int64  // ZMQ_MAXMSGSIZE, per frame; negative = no limit
	MaxPeers   int    // connections accepted at once; 0 = no limit

	MaxMsgBytes   int64 // frame bytes in one message; 0 or negative = no limit
	MaxMsgFrames  int   // frames in one message; 0 = no limit
	MaxHandshakes int   // accepted connections in their handshake at once; 0 = no limit

	HeartbeatIvl     time.Duration // ZMQ_HEARTBEAT_IVL; 0 = none
	HeartbeatTTL     time.Duration // ZMQ_HEARTBEAT_TTL asked of the peer
	HeartbeatTimeout time.Duration // ZMQ_HEARTBEAT_TIMEOUT; 0 = HeartbeatIvl
	HandshakeTimeout time.Duration // ZMQ_HANDSHAKE_IVL; 0 = none
	SendTimeout      time.Duration // zrouter's: a write may wait this long; 0 = the heartbeat timeout, or none

	ReconnectIvl    time.Duration // ZMQ_RECONNECT_IVL; negative = never
	ReconnectIvlMax time.Duration // ZMQ_RECONNECT_IVL_MAX; 0 = no growth

	Linger    time.Duration // ZMQ_LINGER; negative = until delivered
	Immediate bool          // ZMQ_IMMEDIATE
	IPv6      bool          // ZMQ_IPV6

	Keepalive Keepalive // ZMQ_TCP_KEEPALIVE and its _IDLE, _INTVL, _CNT

	IPCPerm   os.FileMode // mode of an ipc bind's socket file; 0 = as made
	IPCFilter IPCFilter   // ZMQ_IPC_FILTER_UID, _GID and _PID

	Metadata zmtp.Metadata // ZMQ_METADATA: properties sent in the handshake

	// Security: the mechanism (nil: NULL), the authenticator of a server
	// (nil: everyone who completes the handshake), and its ZAP domain.
	Mechanism    zmtp.Mechanism
	Authenticate func(ctx context.Context, req *zmtp.AuthRequest) zmtp.AuthReply
	ZAPDomain    string

	Probe  bool         // ZMQ_PROBE_ROUTER
	Logger *slog.Logger // connection events; never nil after Defaults

	// ROUTER
	LoadBalance bool   // zrouter's LoadBalancer mode
	Mandatory   bool   // ZMQ_ROUTER_MANDATORY
	Handover    bool   // ZMQ_ROUTER_HANDOVER
	Notify      Notify // ZMQ_ROUTER_NOTIFY

	// REQ
	Correlate bool // ZMQ_REQ_CORRELATE
	Relaxed   bool // ZMQ_REQ_RELAXED

	// PUB, XPUB, SUB, XSUB
	Conflate bool // ZMQ_CONFLATE: keep only the newest message
	Invert   bool // ZMQ_INVERT_MATCHING
	NoDrop   bool // ZMQ_XPUB_NODROP
	Verbose  int  // ZMQ_XPUB_VERBOSE (1) and ZMQ_XPUB_VERBOSER (2)
	Manual   bool // ZMQ_XPUB_MANUAL
	Welcome  []byte
	// LastValue is ZMQ_XPUB_MANUAL_LAST_VALUE (with Manual).
	LastValue bool
	// OnlyFirst is ZMQ_ONLY_FIRST_SUBSCRIBE.
	OnlyFirst bool
	// MaxSubs and MaxSubBytes bound the subscriptions of one subscriber
	// of a PUB or XPUB: how many distinct topics, and their bytes.
	MaxSubs     int
	MaxSubBytes int64

	// Per connection (Connect only).
	ConnectRoutingID []byte // ZMQ_CONNECT_ROUTING_ID
}

// Notify are the ZMQ_ROUTER_NOTIFY flags.
type Notify int

// The ZMQ_ROUTER_NOTIFY flags, with libzmq's values.
const (
	NotifyConnect    Notify = 1 // ZMQ_NOTIFY_CONNECT
	NotifyDisconnect Notify = 2 // ZMQ_NOTIFY_DISCONNECT
)

// Keepalive is ZMQ_TCP_KEEPALIVE with its _IDLE, _INTVL and _CNT options.
type Keepalive struct {
	// Mode is libzmq's ZMQ_TCP_KEEPALIVE: -1 leaves the system's setting
	// (the default), 0 turns probes off, 1 on.
	Mode int
	// Idle, Interval and Count are the probe schedule when Mode is 1;
	// zero leaves the system's value.
	Idle, Interval time.Duration
	Count          int
}

// IPCFilter is ZMQ_IPC_FILTER_UID, _GID and _PID: the credentials of the
// ipc peers let in; all empty lets everyone in.
type IPCFilter struct {
	UIDs, GIDs, PIDs []int
}

// DefaultMaxSubs and DefaultMaxSubBytes are the default bounds on one
// subscriber's subscriptions at a PUB or XPUB: far above what a
// subscriber that means well sends (100,000 topics of 20 bytes are 2 MB),
// and below what would let one peer make the trie, which costs about a
// hundred bytes per byte of a topic that shares no prefix, take more
// than some 2 GB.
const (
	DefaultMaxSubs     = 1 << 20
	DefaultMaxSubBytes = 16 << 20
)

// DefaultMaxMsgFrames is the default bound on the frames of one message:
// above the 1,000,000 empty frames a libzmq peer can send in one message.
const DefaultMaxMsgFrames = 1 << 20

// DefaultMaxHandshakes is the default bound on the accepted connections of
// a socket that are in their handshake at once.
const DefaultMaxHandshakes = 1024

// Defaults returns libzmq's defaults for a socket of type t.
func Defaults(t zmtp.SocketType) Config {
	linger := time.Duration(-1)
	if t == zmtp.SUB || t == zmtp.XSUB {
		// As libzmq's: subscriptions still queued are not worth a wait.
		linger = 0
	}
	return Config{
		Type:             t,
		SendHWM:          1000,
		RecvHWM:          1000,
		MaxMsgSize:       -1,
		MaxMsgBytes:      -1,
		MaxMsgFrames:     DefaultMaxMsgFrames,
		MaxHandshakes:    DefaultMaxHandshakes,
		MaxSubs:          DefaultMaxSubs,
		MaxSubBytes:      DefaultMaxSubBytes,
		HandshakeTimeout: 30 * time.Second,
		ReconnectIvl:     100 * time.Millisecond,
		Linger:           linger,
		Keepalive:        Keepalive{Mode: -1},
		Logger:           slog.New(slog.DiscardHandler),
	}
}

// Opt is one option: what it sets, where it applies, and its name in
// errors.
type Opt struct {
	// Name is the option's libzmq name (or zrouter's, for its own).
	Name string
	// Types lists the socket types the option applies to; nil means all.
	Types []zmtp.SocketType
	// PerConnect lets Connect give the option for one connection; Socket
	// lets New give it. An option has at least one of the two.
	PerConnect, Socket bool
	// Set applies the option, or reports a bad value.
	Set func(*Config) error
}

// Apply runs opts on c for a socket (New), or for one connection when
// perConnect is set (Connect). It fails with an *OptionError wrapping
// errBad for an option that does not apply there, or for a bad value.
func Apply(c *Config, perConnect bool, opts []Opt, errBad error) error {
	for _, o := range opts {
		if o.Set == nil {
			return &OptionError{Name: "(zero Option)", Err: errBad, Cause: errors.New("not made by an option function")}
		}
		if o.Types != nil && !slices.Contains(o.Types, c.Type) {
			return &OptionError{Name: o.Name, Err: errBad, Cause: fmt.Errorf("does not apply to a %s socket", c.Type)}
		}
		if perConnect && !o.PerConnect {
			return &OptionError{Name: o.Name, Err: errBad, Cause: errors.New("applies to the socket, not to one Connect")}
		}
		if !perConnect && !o.Socket {
			return &OptionError{Name: o.Name, Err: errBad, Cause: errors.New("applies to one Connect, not to the socket")}
		}
		if err := o.Set(c); err != nil {
			return &OptionError{Name: o.Name, Err: errBad, Cause: err}
		}
	}
	if p, ok := c.Mechanism.(*zmtp.Plain); ok && p.Server && c.Authenticate == nil {
		// libzmq fails every handshake of a PLAIN server without a ZAP
		// handler; better to say so at once.
		return &OptionError{Name: "ZMQ_PLAIN_SERVER", Err: errBad,
			Cause: errors.New("a PLAIN server needs an authenticator to check the passwords")}
	}
	return nil
}

// OptionError reports an option refused by New or Connect: Err is the
// sentinel it matches (socket.ErrBadOption), Cause says why.
type OptionError struct {
	Name  string
	Err   error
	Cause error
}

func (e *OptionError) Error() string {
	return e.Err.Error() + " " + e.Name + ": " + e.Cause.Error()
}

// Unwrap returns the sentinel and the cause.
func (e *OptionError) Unwrap() []error { return []error{e.Err, e.Cause} }
