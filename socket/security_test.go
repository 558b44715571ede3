package socket_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
)

const secWait = 10 * time.Second

func curveKeys(t *testing.T) (pub, sec socket.CurveKey) {
	t.Helper()
	pub, sec, err := socket.NewCurveKeys()
	require.NoError(t, err)
	require.Equal(t, pub, sec.Public())
	return pub, sec
}

// secServer returns a bound ROUTER closed with the test.
func secServer(t *testing.T, opts ...socket.Option) *router.Router {
	t.Helper()
	r, err := router.New(append([]socket.Option{socket.WithLinger(0)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, r.Close()) })
	require.NoError(t, r.Bind("tcp://127.0.0.1:0"))
	return r
}

// secClient returns a DEALER connected to ep, closed with the test.
func secClient(t *testing.T, ep string, id string, opts ...socket.Option) *dealer.Dealer {
	t.Helper()
	d, err := dealer.New(socket.WithLinger(0), socket.WithRoutingID([]byte(id)))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, d.Close()) })
	require.NoError(t, d.Connect(ep, opts...))
	return d
}

func recvWithin(t *testing.T, s interface {
	Recv(context.Context) (*wire.Msg, error)
}) *wire.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), secWait)
	defer cancel()
	m, err := s.Recv(ctx)
	require.NoError(t, err)
	return m
}

// waitEvent returns the first event of kind k from mon.
func waitEvent(t *testing.T, mon *socket.Monitor, k socket.EventKind) socket.Event {
	t.Helper()
	timeout := time.After(secWait)
	for {
		select {
		case ev := <-mon.C:
			if ev.Kind == k {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %v event", k)
		}
	}
}

// TestCurveRoundTrip: a CURVE client the server's authenticator knows gets
// in; each message it sends names it by the "User-Id" the authenticator gave
// it, and its handshake's properties come with it, as zmq_msg_gets reports
// them.
func TestCurveRoundTrip(t *testing.T) {
	spub, ssec := curveKeys(t)
	cpub, csec := curveKeys(t)
	srv := secServer(t, socket.WithCurveServer(ssec), socket.WithAuthenticator(socket.AllowCurveKeys(cpub)))
	cli := secClient(t, srv.Addr(), "alice", socket.WithCurveClient(spub, csec))

	ctx, cancel := context.WithTimeout(context.Background(), secWait)
	defer cancel()
	require.NoError(t, cli.SendFrames(ctx, []byte("hello"), nil, make([]byte, 100<<10)))
	m := recvWithin(t, srv)
	require.Len(t, m.Frames, 4)
	assert.Equal(t, "alice", string(m.Frames[0]))
	assert.Equal(t, "hello", string(m.Frames[1]))
	assert.Empty(t, m.Frames[2])
	assert.Len(t, m.Frames[3], 100<<10)
	for name, want := range map[string]string{
		"User-Id":      cpub.String(),
		"user-id":      cpub.String(),
		"Socket-Type":  "DEALER",
		"Identity":     "alice",
		"Routing-Id":   "alice",
		"Peer-Address": "127.0.0.1",
	} {
		got, ok := srv.Property(m, name)
		assert.True(t, ok, name)
		assert.Equal(t, want, got, name)
	}
	_, ok := srv.Property(m, "X-None")
	assert.False(t, ok)
	_, ok = cli.Property(m, "User-Id")
	assert.False(t, ok, "a message another socket received")
	require.NoError(t, srv.SendFrames(ctx, m.Frames[0], []byte("back")))
	m.Release()

	m = recvWithin(t, cli)
	assert.Equal(t, "back", string(m.Frames[0]))
	_, ok = cli.Property(m, "User-Id")
	assert.False(t, ok, "a client does not authenticate its server")
	st, _ := cli.Property(m, "Socket-Type")
	assert.Equal(t, "ROUTER", st)
	m.Release()

	peers := srv.Peers()
	require.Len(t, peers, 1)
	assert.Equal(t, cpub.String(), peers[0].UserID)
}

// TestCurveRefused: a client the authenticator refuses gets ERROR 400 and
// its handshake fails as an authentication failure with the status, on both
// sides; the server goes on serving the clients it lets in.
func TestCurveRefused(t *testing.T) {
	spub, ssec := curveKeys(t)
	good, goodSec := curveKeys(t)
	_, badSec := curveKeys(t)
	srv := secServer(t, socket.WithCurveServer(ssec), socket.WithAuthenticator(socket.AllowCurveKeys(good)))
	smon := srv.Monitor(64)

	bad, err := dealer.New(socket.WithLinger(0))
	require.NoError(t, err)
	defer bad.Close()
	bmon := bad.Monitor(64)
	require.NoError(t, bad.Connect(srv.Addr(), socket.WithCurveClient(spub, badSec)))

	ev := waitEvent(t, smon, socket.EventHandshakeFailed)
	assert.Equal(t, socket.HandshakeAuth, ev.Failure)
	assert.Equal(t, socket.AuthRefused, ev.Status)
	ev = waitEvent(t, bmon, socket.EventHandshakeFailed)
	assert.Equal(t, socket.HandshakeAuth, ev.Failure, "%v", ev.Err)
	assert.Equal(t, socket.AuthRefused, ev.Status)
	ev = waitEvent(t, bmon, socket.EventConnectRetried)
	assert.GreaterOrEqual(t, ev.Interval, 100*time.Millisecond)

	cli := secClient(t, srv.Addr(), "good", socket.WithCurveClient(spub, goodSec))
	ctx, cancel := context.WithTimeout(context.Background(), secWait)
	defer cancel()
	require.NoError(t, cli.SendFrames(ctx, []byte("in")))
	m := recvWithin(t, srv)
	assert.Equal(t, "in", string(m.Frames[1]))
	m.Release()
	assert.GreaterOrEqual(t, srv.Stats().HandshakeFailed, uint64(1))
}

// TestCurveWrongServerKey: a client with the wrong server key is hung up
// on, as libzmq hangs up: the server cannot open its HELLO.
func TestCurveWrongServerKey(t *testing.T) {
	_, ssec := curveKeys(t)
	other, _ := curveKeys(t)
	_, csec := curveKeys(t)
	srv := secServer(t, socket.WithCurveServer(ssec))
	smon := srv.Monitor(64)
	cli, err := dealer.New(socket.WithLinger(0))
	require.NoError(t, err)
	defer cli.Close()
	cmon := cli.Monitor(64)
	require.NoError(t, cli.Connect(srv.Addr(), socket.WithCurveClient(other, csec)))
	ev := waitEvent(t, smon, socket.EventHandshakeFailed)
	assert.Equal(t, socket.HandshakeProtocol, ev.Failure, "%v", ev.Err)
	ev = waitEvent(t, cmon, socket.EventHandshakeFailed)
	assert.Equal(t, socket.HandshakeNoDetail, ev.Failure, "%v", ev.Err)
}

// TestPlain: a PLAIN server checks user names and passwords with its
// authenticator; one without an authenticator is refused at New, as
// libzmq would fail its every handshake.
func TestPlain(t *testing.T) {
	_, err := router.New(socket.WithPlainServer())
	require.ErrorIs(t, err, socket.ErrBadOption)

	srv := secServer(t, socket.WithPlainServer(), socket.WithAuthenticator(socket.PlainPasswords(map[string]string{"admin": "secret"})))
	smon := srv.Monitor(64)
	cli := secClient(t, srv.Addr(), "c1", socket.WithPlainClient("admin", "secret"))
	ctx, cancel := context.WithTimeout(context.Background(), secWait)
	defer cancel()
	require.NoError(t, cli.SendFrames(ctx, []byte("x")))
	m := recvWithin(t, srv)
	uid, _ := srv.Property(m, "User-Id")
	assert.Equal(t, "admin", uid)
	m.Release()

	wrong := secClient(t, srv.Addr(), "c2", socket.WithPlainClient("admin", "guess"))
	ev := waitEvent(t, smon, socket.EventHandshakeFailed)
	assert.Equal(t, socket.HandshakeAuth, ev.Failure)
	assert.Equal(t, socket.AuthRefused, ev.Status)
	_ = wrong

	_, err = dealer.New(socket.WithPlainClient(string(make([]byte, 256)), ""))
	assert.ErrorIs(t, err, socket.ErrBadOption)
}

// TestAuthenticatorStatuses: 300 closes without a word, 500 sends ERROR
// 500; the authenticator's metadata reaches the messages, and it is asked
// with the peer's address, domain, mechanism and routing id.
func TestAuthenticatorStatuses(t *testing.T) {
	spub, ssec := curveKeys(t)
	cpub, csec := curveKeys(t)
	asked := make(chan socket.AuthRequest, 16)
	status := map[string]int{"temp": socket.AuthTemporary, "oops": socket.AuthInternal, "ok": socket.AuthOK}
	srv := secServer(t, socket.WithCurveServer(ssec), socket.WithZAPDomain("dom"),
		socket.WithAuthenticator(socket.AuthFunc(func(_ context.Context, r socket.AuthRequest) socket.AuthReply {
			asked <- r
			return socket.AuthReply{Status: status[string(r.RoutingID)], UserID: "u-" + string(r.RoutingID),
				Metadata: map[string]string{"X-Role": "reader"}}
		})))
	smon := srv.Monitor(64)

	for _, id := range []string{"temp", "oops"} {
		c, err := dealer.New(socket.WithLinger(0), socket.WithRoutingID([]byte(id)))
		require.NoError(t, err)
		cmon := c.Monitor(64)
		require.NoError(t, c.Connect(srv.Addr(), socket.WithCurveClient(spub, csec)))
		ev := waitEvent(t, smon, socket.EventHandshakeFailed)
		assert.Equal(t, socket.HandshakeAuth, ev.Failure, id)
		assert.Equal(t, status[id], ev.Status, id)
		ev = waitEvent(t, cmon, socket.EventHandshakeFailed)
		if id == "temp" {
			assert.Equal(t, socket.HandshakeNoDetail, ev.Failure, "300 closes silently")
		} else {
			assert.Equal(t, socket.HandshakeAuth, ev.Failure)
			assert.Equal(t, socket.AuthInternal, ev.Status)
		}
		require.NoError(t, c.Close())
	}
	cli, err := dealer.New(socket.WithLinger(0), socket.WithRoutingID([]byte("ok")),
		socket.WithMetadata("X-Role", "admin"), socket.WithMetadata("X-Client", "1"), socket.WithMetadata("X-Client", "2"))
	require.NoError(t, err)
	defer cli.Close()
	require.NoError(t, cli.Connect(srv.Addr(), socket.WithCurveClient(spub, csec)))
	ctx, cancel := context.WithTimeout(context.Background(), secWait)
	defer cancel()
	require.NoError(t, cli.SendFrames(ctx, []byte("x")))
	m := recvWithin(t, srv)
	role, _ := srv.Property(m, "X-Role")
	assert.Equal(t, "reader", role, "the authenticator's word over the peer's")
	xc, _ := srv.Property(m, "x-client")
	assert.Equal(t, "2", xc, "the last value given")
	uid, _ := srv.Property(m, "User-Id")
	assert.Equal(t, "u-ok", uid)
	m.Release()

	var r socket.AuthRequest
	for len(asked) > 0 {
		r = <-asked
	}
	assert.Equal(t, "dom", r.Domain)
	assert.Equal(t, "127.0.0.1", r.Address)
	assert.Equal(t, "CURVE", r.Mechanism)
	assert.Equal(t, cpub, r.ClientKey)
}

// TestKeyFiles: the loaders read what the keygen command writes.
func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	pub, sec := curveKeys(t)
	pair := filepath.Join(dir, "server.key")
	require.NoError(t, os.WriteFile(pair, []byte("public: "+pub.String()+"\nsecret: "+sec.String()+"\n"), 0o600))
	got, err := socket.ReadCurveSecret(pair)
	require.NoError(t, err)
	assert.Equal(t, sec, got)

	k, err := socket.ParseCurveKey(pub.String())
	require.NoError(t, err)
	assert.Equal(t, pub, k)
	_, err = socket.ParseCurveKey("short")
	assert.ErrorIs(t, err, socket.ErrBadKey)
	_, err = dealer.New(socket.WithCurveClient(socket.CurveKey{}, sec))
	assert.ErrorIs(t, err, socket.ErrBadOption, "a server key of all zeros, as libsodium refuses it")
	assert.ErrorIs(t, err, socket.ErrBadKey)

	allow := filepath.Join(dir, "clients")
	require.NoError(t, os.Mkdir(allow, 0o700))
	other, _ := curveKeys(t)
	require.NoError(t, os.WriteFile(filepath.Join(allow, "a.key"), []byte("# alice\n"+pub.String()+"\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(allow, "b.key"), []byte("public: "+other.String()+"\nsecret: "+sec.String()+"\n"), 0o600))
	a, err := socket.LoadCurveKeys(allow)
	require.NoError(t, err)
	ctx := context.Background()
	assert.Equal(t, socket.AuthOK, a.Authenticate(ctx, socket.AuthRequest{Mechanism: "CURVE", ClientKey: pub}).Status)
	assert.Equal(t, socket.AuthOK, a.Authenticate(ctx, socket.AuthRequest{Mechanism: "CURVE", ClientKey: other}).Status)
	assert.Equal(t, socket.AuthRefused, a.Authenticate(ctx, socket.AuthRequest{Mechanism: "CURVE", ClientKey: sec}).Status,
		"a key pair file's secret key is not an allowed client")
	require.NoError(t, os.WriteFile(filepath.Join(allow, "c.key"), []byte("not a key\n"), 0o600))
	_, err = socket.LoadCurveKeys(allow)
	assert.ErrorIs(t, err, socket.ErrBadKey)

	users := filepath.Join(dir, "users")
	require.NoError(t, os.WriteFile(users, []byte("# users\nadmin:s3:cret\n\nbob:\n"), 0o600))
	p, err := socket.LoadPlainPasswords(users)
	require.NoError(t, err)
	assert.Equal(t, socket.AuthOK, p.Authenticate(ctx, socket.AuthRequest{Mechanism: "PLAIN", Username: "admin", Password: "s3:cret"}).Status)
	assert.Equal(t, socket.AuthOK, p.Authenticate(ctx, socket.AuthRequest{Mechanism: "PLAIN", Username: "bob"}).Status)
	assert.Equal(t, socket.AuthRefused, p.Authenticate(ctx, socket.AuthRequest{Mechanism: "PLAIN", Username: "admin", Password: "s3"}).Status)
	assert.Equal(t, socket.AuthRefused, p.Authenticate(ctx, socket.AuthRequest{Mechanism: "CURVE", Username: "admin", Password: "s3:cret"}).Status)
}

// TestCheckAddresses: deny wins over allow, an empty allow list allows
// all, and the next authenticator decides the rest.
func TestCheckAddresses(t *testing.T) {
	ctx := context.Background()
	allow := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	deny := []netip.Prefix{netip.MustParsePrefix("10.0.0.66/32")}
	a := socket.CheckAddresses(allow, deny, socket.PlainPasswords(map[string]string{"u": "p"}))
	ok := socket.AuthRequest{Mechanism: "PLAIN", Username: "u", Password: "p"}
	for addr, want := range map[string]int{
		"10.1.2.3":         socket.AuthOK,
		"::ffff:10.1.2.3":  socket.AuthOK,
		"::1":              socket.AuthOK,
		"10.0.0.66":        socket.AuthRefused,
		"192.168.0.1":      socket.AuthRefused,
		"not-an-ip":        socket.AuthRefused,
		"fe80::1%loopback": socket.AuthRefused,
	} {
		r := ok
		r.Address = addr
		assert.Equal(t, want, a.Authenticate(ctx, r).Status, addr)
	}
	r := ok
	r.Address, r.Password = "10.1.2.3", "wrong"
	assert.Equal(t, socket.AuthRefused, a.Authenticate(ctx, r).Status)
	all := socket.CheckAddresses(nil, deny, nil)
	assert.Equal(t, socket.AuthOK, all.Authenticate(ctx, socket.AuthRequest{Address: "1.2.3.4"}).Status)
}

// TestNullAuthenticator: on a NULL socket the authenticator is asked about
// every peer, as libzmq asks its ZAP handler when the socket has a ZAP
// domain; CheckAddresses is its natural use.
func TestNullAuthenticator(t *testing.T) {
	deny := secServer(t, socket.WithAuthenticator(socket.CheckAddresses(nil, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, nil)))
	dmon := deny.Monitor(64)
	c, err := dealer.New(socket.WithLinger(0))
	require.NoError(t, err)
	defer c.Close()
	cmon := c.Monitor(64)
	require.NoError(t, c.Connect(deny.Addr()))
	ev := waitEvent(t, dmon, socket.EventHandshakeFailed)
	assert.Equal(t, socket.HandshakeAuth, ev.Failure)
	assert.Equal(t, socket.AuthRefused, ev.Status)
	ev = waitEvent(t, cmon, socket.EventHandshakeFailed)
	assert.Equal(t, socket.HandshakeAuth, ev.Failure)

	allow := secServer(t, socket.WithAuthenticator(socket.AuthFunc(func(_ context.Context, r socket.AuthRequest) socket.AuthReply {
		return socket.AuthReply{Status: socket.AuthOK, UserID: r.Mechanism + "@" + r.Address}
	})))
	cli := secClient(t, allow.Addr(), "n")
	ctx, cancel := context.WithTimeout(context.Background(), secWait)
	defer cancel()
	require.NoError(t, cli.SendFrames(ctx, []byte("x")))
	m := recvWithin(t, allow)
	uid, _ := allow.Property(m, "User-Id")
	assert.Equal(t, "NULL@127.0.0.1", uid)
	m.Release()
}

// TestAuthenticatorTimeout: an authenticator that takes longer than the
// handshake may is a handshake timeout, as a ZAP handler that does not
// answer is in libzmq; its context ends with the handshake.
func TestAuthenticatorTimeout(t *testing.T) {
	_, ssec := curveKeys(t)
	spub := ssec.Public()
	_, csec := curveKeys(t)
	ended := make(chan error, 1)
	srv := secServer(t, socket.WithCurveServer(ssec), socket.WithHandshakeTimeout(200*time.Millisecond),
		socket.WithAuthenticator(socket.AuthFunc(func(ctx context.Context, _ socket.AuthRequest) socket.AuthReply {
			<-ctx.Done()
			select {
			case ended <- ctx.Err():
			default:
			}
			return socket.AuthReply{Status: socket.AuthOK}
		})))
	mon := srv.Monitor(64)
	secClient(t, srv.Addr(), "slow", socket.WithCurveClient(spub, csec))
	ev := waitEvent(t, mon, socket.EventHandshakeFailed)
	assert.Equal(t, socket.HandshakeNoDetail, ev.Failure, "%v", ev.Err)
	ev = waitEvent(t, mon, socket.EventDisconnected)
	assert.Equal(t, socket.HandshakeTimeout, ev.Reason)
	assert.ErrorIs(t, <-ended, context.DeadlineExceeded)
	assert.Zero(t, srv.Stats().Peers)
}
