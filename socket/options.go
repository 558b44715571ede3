package socket

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/zrouter/zrouter/internal/bridge"
	"github.com/zrouter/zrouter/internal/config"
	"github.com/zrouter/zrouter/zmtp"
)

// Option configures a socket, as a libzmq socket option does. The options
// of this package apply to every socket type unless their comment names
// the types; packages router, dealer and the others add those of their
// own type. New refuses an option that does not apply to its socket type
// with ErrBadOption, as zmq_setsockopt returns EINVAL.
//
// The options marked "per connection" may also be given to Connect, for
// that connection alone: libzmq takes a snapshot of the socket's options at
// each zmq_connect, and this is the same thing said directly.
type Option struct {
	o config.Opt
}

func init() {
	bridge.WrapOption = func(o config.Opt) any { return Option{o: o} }
	bridge.UnwrapOption = func(o any) config.Opt { return o.(Option).o }
	bridge.Attach = func(s, e any) {
		pub := s.(*Socket)
		pub.e = e.(engine)
		pub.in = pub.e.Receiver()
		pub.tx = pub.e.Sender()
	}
}

// option makes an Option that New and Connect both take.
func option(name string, set func(*config.Config) error) Option {
	return Option{o: config.Opt{Name: name, Socket: true, PerConnect: true, Set: set}}
}

// socketOption makes an Option that only New takes.
func socketOption(name string, set func(*config.Config) error) Option {
	return Option{o: config.Opt{Name: name, Socket: true, Set: set}}
}

// WithMetadata adds a property that the socket sends its peers in its
// handshake, beside Socket-Type and Identity (ZMQ_METADATA): a peer reads it
// from each message with Property. As in libzmq, the name starts with "X-"
// and has at most 255 bytes, and the value is not empty; a name given again
// replaces its value.
func WithMetadata(name, value string) Option {
	return socketOption("ZMQ_METADATA", func(c *config.Config) error {
		if !strings.HasPrefix(name, "X-") || len(name) > 255 || value == "" {
			return errors.New("the name must start with X- and have at most 255 bytes, and the value must not be empty")
		}
		p := zmtp.Property{Name: name, Value: []byte(value)}
		if err := (zmtp.Metadata{p}).Validate(); err != nil {
			return err
		}
		c.Metadata = slices.DeleteFunc(slices.Clone(c.Metadata), func(q zmtp.Property) bool { return q.Name == name })
		c.Metadata = append(c.Metadata, p)
		return nil
	})
}

// WithRoutingID sets the routing id this socket announces to its peers in
// READY (ZMQ_ROUTING_ID); a ROUTER peer then addresses it by that id. It
// must be 1 to 255 bytes and not start with 0x00.
func WithRoutingID(id []byte) Option {
	id = append([]byte(nil), id...)
	return socketOption("ZMQ_ROUTING_ID", func(c *config.Config) error {
		if !ValidRoutingID(id) {
			return ErrBadRoutingID
		}
		c.RoutingID = id
		return nil
	})
}

// ValidRoutingID reports whether id may be chosen as a routing id: 1 to 255
// bytes, not starting with 0x00, which libzmq keeps for the ids it makes.
func ValidRoutingID(id []byte) bool {
	return len(id) >= 1 && len(id) <= 255 && id[0] != 0
}

// WithSendHWM bounds each pipe's outbound queue to n messages (ZMQ_SNDHWM,
// default 1000); 0 means no limit. What happens at the bound is the socket
// type's rule: ROUTER drops (or, mandatory, reports), DEALER waits. Per
// connection; Socket.SetSendHWM changes it on a live socket.
func WithSendHWM(n int) Option {
	return option("ZMQ_SNDHWM", func(c *config.Config) error {
		if n < 0 {
			return errNegative
		}
		c.SendHWM = n
		return nil
	})
}

// WithRecvHWM bounds the messages waiting for Recv from each pipe
// (ZMQ_RCVHWM, default 1000); 0 means no limit. A connection at its bound
// is not read from until Recv makes room, so TCP pushes back on the peer.
// Per connection; Socket.SetRecvHWM changes it on a live socket.
func WithRecvHWM(n int) Option {
	return option("ZMQ_RCVHWM", func(c *config.Config) error {
		if n < 0 {
			return errNegative
		}
		c.RecvHWM = n
		return nil
	})
}

var errNegative = errors.New("must not be negative")

// WithMaxMsgSize closes the connection of a peer that sends a frame bigger
// than n bytes, before anything is allocated for it (ZMQ_MAXMSGSIZE);
// negative (the default) means no limit. Per connection.
func WithMaxMsgSize(n int64) Option {
	return option("ZMQ_MAXMSGSIZE", func(c *config.Config) error {
		c.MaxMsgSize = n
		return nil
	})
}

// WithMaxMessage bounds a whole message a peer sends: its frames at most
// frames, and its frame bytes at most bytes; a peer that goes over closes
// with the reason TooLarge, before anything is allocated for the frame
// that goes over. libzmq has neither (its ZMQ_MAXMSGSIZE, WithMaxMsgSize
// here, bounds one frame), and its peers send messages of any number of
// frames, a million empty ones included. The defaults are
// DefaultMaxMsgFrames frames (a message of that many empty frames holds
// about 25 MiB of heap, and up to 73 MiB while its frame list grows), and
// no bound on the bytes; 0 (or negative bytes) means no
// bound. Per connection.
func WithMaxMessage(frames int, bytes int64) Option {
	return option("max message", func(c *config.Config) error {
		if frames < 0 {
			return errNegative
		}
		c.MaxMsgFrames, c.MaxMsgBytes = frames, bytes
		return nil
	})
}

// DefaultMaxMsgFrames is the default bound of WithMaxMessage on the frames
// of one message.
const DefaultMaxMsgFrames = config.DefaultMaxMsgFrames

// WithMaxHandshakes bounds the connections a socket has accepted that are
// still in their handshake: beyond n, a new one is closed at once, counted
// in Stats.HandshakeFailed, so that a crowd of silent peers pins no more
// than n handshakes' memory, about 9 KiB each, for up to the handshake
// timeout. 0 means no bound; the default is DefaultMaxHandshakes (about
// 9 MiB). Connections the
// socket makes itself (Connect) are not counted. zrouter's own option:
// libzmq has none.
func WithMaxHandshakes(n int) Option {
	return socketOption("max handshakes", func(c *config.Config) error {
		if n < 0 {
			return errNegative
		}
		c.MaxHandshakes = n
		return nil
	})
}

// DefaultMaxHandshakes is the default of WithMaxHandshakes.
const DefaultMaxHandshakes = config.DefaultMaxHandshakes

// WithMaxPeers refuses connections accepted beyond n live ones; 0 (the
// default) means no limit. zrouter's own option: libzmq has none.
func WithMaxPeers(n int) Option {
	return socketOption("max peers", func(c *config.Config) error {
		if n < 0 {
			return errNegative
		}
		c.MaxPeers = n
		return nil
	})
}

// Heartbeat is the ZMTP 3.1 heartbeat of a connection (ZMQ_HEARTBEAT_IVL,
// ZMQ_HEARTBEAT_TTL and ZMQ_HEARTBEAT_TIMEOUT). The zero value sends no
// PING, though a connection still answers the peer's and honours the TTL
// the peer asks for.
type Heartbeat struct {
	// Interval is the time between PINGs; zero sends none.
	Interval time.Duration
	// TTL is what each PING asks the peer to allow between our messages
	// before it drops us. It goes on the wire in tenths of a second, so
	// at most MaxHeartbeatTTL; zero asks for none.
	TTL time.Duration
	// Timeout is how long an unanswered PING may go without any reply
	// before the connection is dropped; zero means Interval, as in libzmq.
	Timeout time.Duration
}

// MaxHeartbeatTTL is the largest Heartbeat.TTL, as libzmq allows it: the
// wire carries the TTL as 16 bits of deciseconds.
const MaxHeartbeatTTL = 6553599 * time.Millisecond

// WithHeartbeat sets the connection heartbeat. A negative duration, or a
// TTL above MaxHeartbeatTTL, is refused with ErrBadOption, as libzmq
// refuses it with EINVAL. Per connection.
func WithHeartbeat(h Heartbeat) Option {
	return option("ZMQ_HEARTBEAT", func(c *config.Config) error {
		switch {
		case h.Interval < 0 || h.TTL < 0 || h.Timeout < 0:
			return errNegative
		case h.TTL > MaxHeartbeatTTL:
			return fmt.Errorf("TTL %v is above the %v the wire can carry", h.TTL, MaxHeartbeatTTL)
		}
		c.HeartbeatIvl, c.HeartbeatTTL, c.HeartbeatTimeout = h.Interval, h.TTL, h.Timeout
		return nil
	})
}

// WithSendTimeout closes a connection, with the reason SlowConsumer, when
// one write to it waits longer than d: the peer stopped reading and its
// receive window is full, so what is queued for it, and its connection,
// would otherwise stay pinned. libzmq has no such option (it is nats-server's
// write deadline); 0, the default, leaves it to the heartbeat: with
// WithHeartbeat on, a write waits at most the heartbeat timeout, as a peer
// that takes no bytes for that long cannot be answering PINGs either.
// With both, the shorter bound applies. A write is at most 256 KiB, so d
// also sets the slowest peer kept: 256 KiB per d. Per connection.
func WithSendTimeout(d time.Duration) Option {
	return option("send timeout", func(c *config.Config) error {
		if d < 0 {
			return errNegative
		}
		c.SendTimeout = d
		return nil
	})
}

// WithHandshakeTimeout bounds the ZMTP handshake of each connection
// (ZMQ_HANDSHAKE_IVL, default 30s); 0 means no bound. Per connection.
func WithHandshakeTimeout(d time.Duration) Option {
	return option("ZMQ_HANDSHAKE_IVL", func(c *config.Config) error {
		if d < 0 {
			return errNegative
		}
		c.HandshakeTimeout = d
		return nil
	})
}

// WithReconnectInterval sets how long a connection made by Connect waits
// before it tries again after a failure or a disconnect
// (ZMQ_RECONNECT_IVL, default 100ms), with random jitter of up to one
// interval as libzmq adds it. Zero or a negative interval never
// reconnects, as libzmq's 0 and -1: the first attempt is the only one.
// When its connection ends, the pipe and the endpoint go with it; when
// the attempt fails, both stay, holding what is sent, until Disconnect.
// Per connection.
func WithReconnectInterval(d time.Duration) Option {
	return option("ZMQ_RECONNECT_IVL", func(c *config.Config) error {
		c.ReconnectIvl = d
		return nil
	})
}

// WithReconnectMax lets the reconnect interval double after each failure in
// a row, up to d (ZMQ_RECONNECT_IVL_MAX); 0, the default, keeps it fixed.
// Per connection.
func WithReconnectMax(d time.Duration) Option {
	return option("ZMQ_RECONNECT_IVL_MAX", func(c *config.Config) error {
		if d < 0 {
			return errNegative
		}
		c.ReconnectIvlMax = d
		return nil
	})
}

// WithLinger sets how long Close waits for queued messages to be written
// (ZMQ_LINGER). The default, as in libzmq, is to wait until all of them
// are: Close then returns once every pipe is empty, reconnecting where it
// has to. A positive duration bounds that wait; 0 drops what is queued at
// once. Socket.Shutdown waits under a context instead.
func WithLinger(d time.Duration) Option {
	return socketOption("ZMQ_LINGER", func(c *config.Config) error {
		if d < 0 {
			d = -1
		}
		c.Linger = d
		return nil
	})
}

// WithImmediate queues messages only on connections that have completed
// their handshake (ZMQ_IMMEDIATE). Without it (the default) Connect makes
// its pipe at once and messages wait there for the connection; with it,
// the pipe comes and goes with each connection, so a DEALER connected to
// two brokers sends only to the one that is up. Per connection.
func WithImmediate(on bool) Option {
	return option("ZMQ_IMMEDIATE", func(c *config.Config) error {
		c.Immediate = on
		return nil
	})
}

// WithIPv6 lets tcp endpoints use IPv6 (ZMQ_IPV6). Off, the default as in
// libzmq, "*" binds the IPv4 wildcard and reports tcp://0.0.0.0:PORT, and
// host names resolve to IPv4 addresses only. On, "*" binds every IPv4 and
// IPv6 address (tcp://[::]:PORT). Per connection.
func WithIPv6(on bool) Option {
	return option("ZMQ_IPV6", func(c *config.Config) error {
		c.IPv6 = on
		return nil
	})
}

// WithIPCPerm sets the permissions of the socket file of every ipc bind,
// once bound: a peer needs write permission on it to connect. The default
// leaves the mode the umask gives (libzmq has no such option: there one
// changes the mode after zmq_bind). Only the permission bits may be set,
// and not none of them; it has no effect on the abstract namespace.
func WithIPCPerm(mode os.FileMode) Option {
	return socketOption("ipc perm", func(c *config.Config) error {
		if mode == 0 || mode&^os.ModePerm != 0 {
			return fmt.Errorf("mode %v: want permission bits only, and at least one", mode)
		}
		c.IPCPerm = mode
		return nil
	})
}

// IPCFilter lists the ipc peers a socket lets in, by the credentials of
// their process as the kernel reports them (SO_PEERCRED), as libzmq's
// ZMQ_IPC_FILTER_UID, ZMQ_IPC_FILTER_GID and ZMQ_IPC_FILTER_PID do.
type IPCFilter struct {
	// UIDs lets in the processes of these user ids.
	UIDs []int
	// GIDs lets in the processes of these group ids, and those whose
	// user is a member of one of these groups.
	GIDs []int
	// PIDs lets in these processes.
	PIDs []int
}

// WithIPCFilter lets in, on every ipc bind, only the peers that match f:
// one of its user ids, group ids (of the process, or groups its user
// belongs to) or process ids. Another peer is closed as it is accepted,
// before any handshake, with an EventAcceptFailed whose Err wraps
// ErrPeerFiltered, and counted in Stats.RefusedFiltered, as libzmq closes
// it and reports ZMQ_EVENT_ACCEPT_FAILED. Each WithIPCFilter adds to the
// ids given before, as each libzmq setsockopt does; without any, every
// peer is let in. Linux only: elsewhere an ipc Bind with a filter fails.
// It does not apply to tcp.
func WithIPCFilter(f IPCFilter) Option {
	return socketOption("ZMQ_IPC_FILTER", func(c *config.Config) error {
		for _, ids := range [][]int{f.UIDs, f.GIDs, f.PIDs} {
			for _, id := range ids {
				if id < 0 {
					return fmt.Errorf("id %d: %w", id, errNegative)
				}
			}
		}
		c.IPCFilter = config.IPCFilter{
			UIDs: append(slices.Clone(c.IPCFilter.UIDs), f.UIDs...),
			GIDs: append(slices.Clone(c.IPCFilter.GIDs), f.GIDs...),
			PIDs: append(slices.Clone(c.IPCFilter.PIDs), f.PIDs...),
		}
		return nil
	})
}

// TCPKeepalive is the TCP keepalive of a socket's connections
// (ZMQ_TCP_KEEPALIVE, ZMQ_TCP_KEEPALIVE_IDLE, _INTVL and _CNT). Without
// WithTCPKeepalive, the system's defaults stand, as with libzmq's -1 (on
// Linux: no probes).
type TCPKeepalive struct {
	// Enable turns probes on (libzmq's 1); false turns them off (0).
	Enable bool
	// Idle is how long a connection is idle before the first probe;
	// zero leaves the system's value. The system counts whole seconds.
	Idle time.Duration
	// Interval is the time between probes; zero leaves the system's value.
	Interval time.Duration
	// Count is how many unanswered probes drop the connection; zero
	// leaves the system's value.
	Count int
}

// WithTCPKeepalive sets the TCP keepalive of every tcp connection, bound or
// connected. Per connection.
func WithTCPKeepalive(k TCPKeepalive) Option {
	return option("ZMQ_TCP_KEEPALIVE", func(c *config.Config) error {
		if k.Idle < 0 || k.Interval < 0 || k.Count < 0 {
			return errNegative
		}
		mode := 0
		if k.Enable {
			mode = 1
		}
		c.Keepalive = config.Keepalive{Mode: mode, Idle: k.Idle, Interval: k.Interval, Count: k.Count}
		return nil
	})
}

// WithProbe sends an empty message to every new peer (ZMQ_PROBE_ROUTER),
// so that a ROUTER peer learns the routing id at once. Like libzmq it is
// written when the pipe is made: on a Connect's pipe that is before the
// first connection, and only once however often it reconnects. For ROUTER,
// DEALER, REQ and REP sockets.
func WithProbe(on bool) Option {
	o := socketOption("ZMQ_PROBE_ROUTER", func(c *config.Config) error {
		c.Probe = on
		return nil
	})
	o.o.Types = []zmtp.SocketType{zmtp.ROUTER, zmtp.DEALER, zmtp.REQ, zmtp.REP}
	return o
}

// WithLogger sets the logger for connection events: failures to connect at
// WARN (once per endpoint until it connects again), refused peers at WARN,
// handshake failures at INFO, and peers coming and going at DEBUG. The
// default discards. A remote peer can cause refusals and failed handshakes
// at will, so those lines come at most once per 10 seconds for each remote
// host and cause, with the number held back since the previous one as
// "suppressed"; Stats counts every one.
func WithLogger(l *slog.Logger) Option {
	return socketOption("logger", func(c *config.Config) error {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		c.Logger = l
		return nil
	})
}

// WithConflate keeps only the newest message (ZMQ_CONFLATE): on a PUB or
// XPUB each subscriber's queue holds one message, the newest not yet being
// written, and on a SUB or XSUB each connection's share of the receive
// queue holds one, the newest received. What it replaces is dropped
// uncounted. As in libzmq, it is for messages of one frame, whose latest
// value is all that matters. Unlike libzmq's, a SUB's subscriptions going
// the other way are not conflated.
func WithConflate(on bool) Option {
	o := socketOption("ZMQ_CONFLATE", func(c *config.Config) error { c.Conflate = on; return nil })
	o.o.Types = []zmtp.SocketType{zmtp.PUB, zmtp.SUB, zmtp.XPUB, zmtp.XSUB}
	return o
}

// WithInvertMatching inverts the subscriptions (ZMQ_INVERT_MATCHING): a
// PUB or XPUB sends each message to the subscribers it does not match,
// and a SUB keeps the messages that match none of its subscriptions. As
// in libzmq, the subscribers of a publisher that inverts invert too.
func WithInvertMatching(on bool) Option {
	o := socketOption("ZMQ_INVERT_MATCHING", func(c *config.Config) error { c.Invert = on; return nil })
	o.o.Types = []zmtp.SocketType{zmtp.PUB, zmtp.SUB, zmtp.XPUB}
	return o
}
