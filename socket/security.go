package socket

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/zrouter/zrouter/internal/config"
	"github.com/zrouter/zrouter/zmtp"
	"golang.org/x/crypto/curve25519"
)

// CurveKey is a CURVE key, public or secret: 32 bytes, written in Z85 as 40
// characters (ZMQ_CURVE_PUBLICKEY and the others take either form).
type CurveKey [32]byte

// ErrBadKey reports text that is not a Z85 CURVE key, or a key that
// cannot be a public key.
var ErrBadKey = errors.New("socket: bad CURVE key")

// NewCurveKeys makes a CURVE key pair from crypto/rand, as
// zmq_curve_keypair does.
func NewCurveKeys() (public, secret CurveKey, err error) {
	pub, sec, err := zmtp.CurveKeyPair()
	return CurveKey(pub), CurveKey(sec), err
}

// ParseCurveKey reads a key written in Z85.
func ParseCurveKey(s string) (CurveKey, error) {
	var k CurveKey
	if len(s) != 40 {
		return k, fmt.Errorf("%w: %d characters, want 40 of Z85", ErrBadKey, len(s))
	}
	b, err := zmtp.AppendZ85Decode(k[:0], s)
	if err != nil || len(b) != 32 {
		return k, fmt.Errorf("%w: not Z85", ErrBadKey)
	}
	return k, nil
}

// String returns the key in Z85. Mind where a secret key's goes.
func (k CurveKey) String() string {
	b, _ := zmtp.AppendZ85(make([]byte, 0, 40), k[:])
	return string(b)
}

// Public returns the public key of a secret key, as zmq_curve_public does.
func (k CurveKey) Public() CurveKey { return CurveKey(zmtp.CurvePublic(k)) }

// securityOption makes an option that sets the socket's mechanism.
func securityOption(name string, mech zmtp.Mechanism) Option {
	return option(name, func(c *config.Config) error {
		c.Mechanism = mech
		return nil
	})
}

// WithCurveServer makes the socket a CURVE server with the given secret
// key (ZMQ_CURVE_SERVER and ZMQ_CURVE_SECRETKEY): every peer must be a CURVE
// client that knows the matching public key, and every frame is encrypted.
// Which clients are let in is the authenticator's to say (WithAuthenticator);
// without one, every client that completes the handshake is. Per
// connection.
func WithCurveServer(secret CurveKey) Option {
	return securityOption("ZMQ_CURVE_SERVER", &zmtp.Curve{Server: true, Public: zmtp.CurvePublic(secret), Secret: secret})
}

// WithCurveClient makes the socket a CURVE client of the server whose
// public key is server (ZMQ_CURVE_SERVERKEY), proving itself with the key
// pair of secret (ZMQ_CURVE_SECRETKEY and the public key derived from it).
// Per connection, so that one socket may connect to servers of different
// keys.
func WithCurveClient(server, secret CurveKey) Option {
	o := securityOption("ZMQ_CURVE_SERVERKEY", &zmtp.Curve{Public: zmtp.CurvePublic(secret), Secret: secret, ServerKey: server})
	set := o.o.Set
	o.o.Set = func(c *config.Config) error {
		if !server.valid() {
			return fmt.Errorf("%w: the server's key is of small order (all zeros?), which no key pair has", ErrBadKey)
		}
		return set(c)
	}
	return o
}

// valid reports whether k can be a public key: not one of small order,
// such as all zeros, which libsodium refuses and every shared key of which
// anybody can compute.
func (k CurveKey) valid() bool {
	_, err := curve25519.X25519(make([]byte, 32), k[:])
	return err == nil
}

// WithPlainServer makes the socket a PLAIN server (ZMQ_PLAIN_SERVER): every
// peer must be a PLAIN client, whose user name and password the
// authenticator checks. PLAIN sends them, and everything else, in clear
// text. Per connection.
func WithPlainServer() Option {
	return securityOption("ZMQ_PLAIN_SERVER", &zmtp.Plain{Server: true})
}

// WithPlainClient makes the socket a PLAIN client with the given
// credentials, at most 255 bytes each (ZMQ_PLAIN_USERNAME and
// ZMQ_PLAIN_PASSWORD). Per connection.
func WithPlainClient(username, password string) Option {
	o := securityOption("ZMQ_PLAIN_USERNAME", &zmtp.Plain{Username: []byte(username), Password: []byte(password)})
	set := o.o.Set
	o.o.Set = func(c *config.Config) error {
		if len(username) > 255 || len(password) > 255 {
			return errors.New("user name and password are at most 255 bytes")
		}
		return set(c)
	}
	return o
}

// WithAuthenticator sets who the socket lets in, as a ZAP handler does
// (RFC 27): the clients of a PLAIN or CURVE server, or, on a socket of the
// NULL mechanism, every peer, as libzmq asks its ZAP handler about NULL
// peers when the socket has a ZAP domain (CheckAddresses is made for
// that). An authenticator that answers after the handshake timeout counts
// as a timeout.
func WithAuthenticator(a Authenticator) Option {
	return socketOption("ZAP authenticator", func(c *config.Config) error {
		if a == nil {
			c.Authenticate = nil
			return nil
		}
		c.Authenticate = func(ctx context.Context, r *zmtp.AuthRequest) zmtp.AuthReply {
			rep := a.Authenticate(ctx, AuthRequest{
				Domain:    r.Domain,
				Address:   r.Address,
				RoutingID: r.Identity,
				Mechanism: r.Mechanism,
				Username:  string(r.Username),
				Password:  string(r.Password),
				ClientKey: CurveKey(r.ClientKey),
			})
			out := zmtp.AuthReply{Status: rep.Status, Text: rep.Text, UserID: rep.UserID}
			for name, v := range rep.Metadata {
				out.Metadata = append(out.Metadata, zmtp.Property{Name: name, Value: []byte(v)})
			}
			return out
		}
		return nil
	})
}

// WithZAPDomain sets the domain an authenticator is told (ZMQ_ZAP_DOMAIN).
func WithZAPDomain(domain string) Option {
	return socketOption("ZMQ_ZAP_DOMAIN", func(c *config.Config) error {
		c.ZAPDomain = domain
		return nil
	})
}

// Authenticator decides whether a peer is let in, as a ZAP handler does:
// a client that proved its PLAIN or CURVE credentials to a server, or any
// peer of a NULL socket. It is called from the connection's handshake,
// once per connection and concurrently for different ones; ctx ends with
// the handshake, and the authenticator should return when it does.
type Authenticator interface {
	Authenticate(ctx context.Context, req AuthRequest) AuthReply
}

// AuthFunc is an Authenticator that is a function.
type AuthFunc func(ctx context.Context, req AuthRequest) AuthReply

// Authenticate calls f.
func (f AuthFunc) Authenticate(ctx context.Context, req AuthRequest) AuthReply { return f(ctx, req) }

// AuthRequest is what an authenticator is asked: a ZAP request.
type AuthRequest struct {
	// Domain is the socket's ZAP domain.
	Domain string
	// Address is the peer's IP address.
	Address string
	// RoutingID is the routing id a CURVE client announced, if any; a
	// PLAIN or NULL peer has not sent it yet when it is asked about.
	RoutingID []byte
	// Mechanism is "NULL", "PLAIN" or "CURVE".
	Mechanism string
	// Username and Password are a PLAIN client's.
	Username, Password string
	// ClientKey is a CURVE client's long-term public key.
	ClientKey CurveKey
}

// AuthReply is an authenticator's answer: a ZAP reply.
type AuthReply struct {
	// Status is AuthOK, or a refusal: AuthTemporary closes the connection
	// without a word, AuthRefused and AuthInternal send the client an
	// ERROR with the status, as libzmq does.
	Status int
	// Text says why, for the logs and the handshake-failed event.
	Text string
	// UserID names the peer to the application: the "User-Id" property
	// of its messages.
	UserID string
	// Metadata are more properties of its messages.
	Metadata map[string]string
}

// ZAP's status codes (RFC 27).
const (
	AuthOK        = 200
	AuthTemporary = 300
	AuthRefused   = 400
	AuthInternal  = 500
)

// AllowCurveKeys lets in the CURVE clients with the given public keys,
// naming each by its key in Z85, and refuses every other peer.
func AllowCurveKeys(keys ...CurveKey) Authenticator {
	set := make(map[CurveKey]bool, len(keys))
	for _, k := range keys {
		set[k] = true
	}
	return AuthFunc(func(_ context.Context, r AuthRequest) AuthReply {
		if r.Mechanism == "CURVE" && set[r.ClientKey] {
			return AuthReply{Status: AuthOK, UserID: r.ClientKey.String()}
		}
		return AuthReply{Status: AuthRefused, Text: "public key not allowed"}
	})
}

// LoadCurveKeys reads the public keys a file lists, or the files of a
// directory list, and lets in those clients (AllowCurveKeys). A line is a
// key, bare or as "public: KEY" (what the keygen command prints); blank
// lines and lines starting with # are left out.
func LoadCurveKeys(path string) (Authenticator, error) {
	files := []string{path}
	if fi, err := os.Stat(path); err != nil {
		return nil, err
	} else if fi.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		files = files[:0]
		for _, e := range entries {
			if !e.IsDir() {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
	}
	var keys []CurveKey
	for _, f := range files {
		err := eachLine(f, func(line string) error {
			if strings.HasPrefix(line, "secret:") {
				return nil // a key pair file: its secret is not an allowed client
			}
			line = strings.TrimSpace(strings.TrimPrefix(line, "public:"))
			k, err := ParseCurveKey(line)
			if err != nil {
				return err
			}
			keys = append(keys, k)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return AllowCurveKeys(keys...), nil
}

// ReadCurveSecret reads a secret key from a file: the key, bare or on a
// "secret: KEY" line, so that what the keygen command prints will do.
func ReadCurveSecret(path string) (CurveKey, error) {
	var key CurveKey
	found := false
	err := eachLine(path, func(line string) error {
		if k, ok := strings.CutPrefix(line, "secret:"); ok {
			line = strings.TrimSpace(k)
		} else if strings.HasPrefix(line, "public:") {
			return nil
		}
		k, err := ParseCurveKey(line)
		if err != nil {
			return err
		}
		key, found = k, true
		return nil
	})
	if err == nil && !found {
		err = fmt.Errorf("%s: no secret key", path)
	}
	return key, err
}

// PlainPasswords lets in the PLAIN clients whose user name and password are
// in users, naming each by its user name.
func PlainPasswords(users map[string]string) Authenticator {
	users = maps.Clone(users)
	return AuthFunc(func(_ context.Context, r AuthRequest) AuthReply {
		want, ok := users[r.Username]
		if r.Mechanism == "PLAIN" && ok && subtle.ConstantTimeCompare([]byte(want), []byte(r.Password)) == 1 {
			return AuthReply{Status: AuthOK, UserID: r.Username}
		}
		return AuthReply{Status: AuthRefused, Text: "wrong user name or password"}
	})
}

// LoadPlainPasswords reads "user:password" lines from a file and lets those
// PLAIN clients in (PlainPasswords). Blank lines and lines starting with #
// are left out.
func LoadPlainPasswords(path string) (Authenticator, error) {
	users := map[string]string{}
	err := eachLine(path, func(line string) error {
		user, pass, ok := strings.Cut(line, ":")
		if !ok || user == "" {
			return fmt.Errorf("%q is not user:password", line)
		}
		users[user] = pass
		return nil
	})
	if err != nil {
		return nil, err
	}
	return PlainPasswords(users), nil
}

// CheckAddresses refuses a peer whose address deny holds, or that allow,
// when it is not empty, does not hold, and asks next about the others, as
// ZAP handlers check addresses before credentials. next nil lets them in.
func CheckAddresses(allow, deny []netip.Prefix, next Authenticator) Authenticator {
	return AuthFunc(func(ctx context.Context, r AuthRequest) AuthReply {
		ip, err := netip.ParseAddr(r.Address)
		if err != nil {
			return AuthReply{Status: AuthRefused, Text: "no IP address"}
		}
		ip = ip.Unmap()
		for _, p := range deny {
			if p.Contains(ip) {
				return AuthReply{Status: AuthRefused, Text: "address denied"}
			}
		}
		if len(allow) > 0 {
			in := false
			for _, p := range allow {
				in = in || p.Contains(ip)
			}
			if !in {
				return AuthReply{Status: AuthRefused, Text: "address not allowed"}
			}
		}
		if next == nil {
			return AuthReply{Status: AuthOK}
		}
		return next.Authenticate(ctx, r)
	})
}

// eachLine calls fn with each line of a file that is neither blank nor a
// # comment, trimmed, and adds the file and line to its error.
func eachLine(path string, fn func(string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := fn(line); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return sc.Err()
}
