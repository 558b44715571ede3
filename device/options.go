package device

import (
	"fmt"
	"log/slog"
)

// Option configures a device. Each option's comment says which devices
// take it; giving one to another device is an error wrapping
// ErrBadOption.
type Option struct {
	name  string
	proxy bool // a Proxy takes it
	lb    bool // a LoadBalancer takes it
	set   func(*options) error
}

type options struct {
	log     *slog.Logger
	capture Socket
	control Socket
	queue   int
}

func defaults() options {
	return options{log: slog.New(slog.DiscardHandler), queue: DefaultQueue}
}

// apply sets opts on o for a device of the given kind.
func apply(o *options, kind string, opts []Option) error {
	for _, opt := range opts {
		if (kind == "Proxy" && !opt.proxy) || (kind == "LoadBalancer" && !opt.lb) {
			return fmt.Errorf("%w: %s does not apply to a %s", ErrBadOption, opt.name, kind)
		}
		if err := opt.set(o); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrBadOption, opt.name, err)
		}
	}
	return nil
}

// WithLogger sets the logger of what the device drops or ignores, at
// DEBUG, and of control commands it does not know, at WARN. The default
// discards everything. Both devices take it.
func WithLogger(l *slog.Logger) Option {
	return Option{name: "WithLogger", proxy: true, lb: true, set: func(o *options) error {
		if l == nil {
			return fmt.Errorf("nil logger")
		}
		o.log = l
		return nil
	}}
}

// WithCapture gives a Proxy a capture socket, which gets a copy of every
// message the proxy receives, from either side and from the control
// socket, before the message is passed on, as zmq_proxy's capture does.
// The copy is sent with the capture socket's own Send: a socket that waits
// when full (DEALER, PUSH, PAIR) holds up the direction that message
// travels until it has room, as it holds up the whole of libzmq's proxy;
// a PUB drops the copy instead. A capture socket that closes ends the
// proxy.
func WithCapture(s Socket) Option {
	return Option{name: "WithCapture", proxy: true, set: func(o *options) error {
		if s == nil {
			return fmt.Errorf("nil socket")
		}
		o.capture = s
		return nil
	}}
}

// WithControl gives a Proxy a control socket that takes libzmq's
// zmq_proxy_steerable commands, each a message of one frame: "PAUSE",
// "RESUME", "TERMINATE" and "STATISTICS". The last is answered on the
// control socket with 8 frames of 8 bytes, little-endian unsigned
// counters in libzmq's order: the frontend's messages in, bytes in,
// messages out and bytes out, then the backend's. The others get no
// answer, as in libzmq. A message that is no command, or has more than one
// frame, is logged and ignored (libzmq aborts the process or ends the
// proxy). A control socket that closes ends the proxy.
func WithControl(s Socket) Option {
	return Option{name: "WithControl", proxy: true, set: func(o *options) error {
		if s == nil {
			return fmt.Errorf("nil socket")
		}
		o.control = s
		return nil
	}}
}

// DefaultQueue is how many requests a LoadBalancer holds while no worker
// is ready, unless WithQueue says otherwise.
const DefaultQueue = 1000

// WithQueue sets how many requests a LoadBalancer holds while no worker
// is ready (default DefaultQueue); beyond that they are dropped and
// counted. 0 drops every request that finds no worker ready.
func WithQueue(n int) Option {
	return Option{name: "WithQueue", lb: true, set: func(o *options) error {
		if n < 0 {
			return fmt.Errorf("queue %d: want 0 or more", n)
		}
		o.queue = n
		return nil
	}}
}
