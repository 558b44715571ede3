package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
)

// cliKeygen runs `zrouter keygen` into dir/name and returns the file and
// the public key it printed, in Z85.
func cliKeygen(t *testing.T, bin, dir, name string) (file, public string) {
	t.Helper()
	out, err := exec.Command(bin, "keygen").Output()
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, 2, "%s", out)
	public, ok := strings.CutPrefix(lines[0], "public: ")
	require.True(t, ok, "%s", out)
	require.True(t, strings.HasPrefix(lines[1], "secret: "), "%s", out)
	file = filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(file, out, 0o600))
	return file, public
}

// cliZAP runs a ZAP handler (RFC 27) in zctx, for the libzmq servers of
// the test: it lets in a CURVE client whose public key (Z85) is in keys,
// and a PLAIN client whose user:password is in users, with the key or the
// user name as its user id, and refuses every other with 400. It stops
// when the test ends.
func cliZAP(t *testing.T, zctx *zmq.Context, keys map[string]bool, users map[string]string) {
	t.Helper()
	s, err := zctx.NewSocket(zmq.REP)
	require.NoError(t, err)
	require.NoError(t, s.SetLinger(0))
	require.NoError(t, s.Bind("inproc://zeromq.zap.01"))
	cliAnswer(t, s, func(req [][]byte) [][]byte {
		if len(req) < 6 {
			return bs("")
		}
		status, user := "400", ""
		switch mech := string(req[5]); {
		case mech == "CURVE" && len(req) == 7 && keys[zmq.Z85encode(string(req[6]))]:
			status, user = "200", zmq.Z85encode(string(req[6]))
		case mech == "PLAIN" && len(req) == 8 && users[string(req[6])] == string(req[7]) && users[string(req[6])] != "":
			status, user = "200", string(req[6])
		}
		return bs("1.0", string(req[1]), status, "", user, "")
	})
}

// cliAnswer answers each request that the REP socket s receives with what
// answer makes of it, until the test ends, and then closes s.
func cliAnswer(t *testing.T, s *zmq.Socket, answer func(req [][]byte) [][]byte) {
	t.Helper()
	require.NoError(t, s.SetRcvtimeo(20*time.Millisecond))
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer s.Close()
		for {
			select {
			case <-quit:
				return
			default:
			}
			req, err := s.RecvMessageBytes(0)
			if err != nil {
				continue // the receive timeout: look at quit again
			}
			_, _ = s.SendMessage(answer(req))
		}
	})
	t.Cleanup(func() { close(quit); wg.Wait() })
}

// cliWaitEvent waits for mon's first event ev and returns it.
func cliWaitEvent(t *testing.T, mon *eventsZmqMon, ev zmq.Event) eventsZmqEvent {
	t.Helper()
	var got eventsZmqEvent
	testutil.CheckFor(t, waitLimit, func() bool {
		for _, e := range mon.events() {
			if e.ev == ev {
				got = e
				return true
			}
		}
		return false
	}, ev.String())
	return got
}

// cliCurveServer makes s a libzmq CURVE server with a fresh key pair and
// returns its public key.
func cliCurveServer(t *testing.T, s *zmq.Socket) string {
	t.Helper()
	pub, sec, err := zmq.NewCurveKeypair()
	require.NoError(t, err)
	require.NoError(t, s.SetCurveServer(1))
	require.NoError(t, s.SetCurveSecretkey(sec))
	return pub
}

// cliCurveClient makes s a libzmq CURVE client of server with a fresh key
// pair and returns its public key.
func cliCurveClient(t *testing.T, s *zmq.Socket, server string) string {
	t.Helper()
	pub, sec, err := zmq.NewCurveKeypair()
	require.NoError(t, err)
	require.NoError(t, s.SetCurveServerkey(server))
	require.NoError(t, s.SetCurvePublickey(pub))
	require.NoError(t, s.SetCurveSecretkey(sec))
	return pub
}

// testCLIEchoSecure: `zrouter echo --curve-secret-file --curve-allow` is a
// CURVE server for the libzmq DEALER and REQ clients whose keys the allow
// file lists; a libzmq client with another key is refused, and libzmq's
// monitor says HANDSHAKE_FAILED_AUTH with status 400, as against a libzmq
// server whose ZAP handler refuses it. `--plain-users` does the same for
// PLAIN, whose ERROR libzmq reads only in its own misspelt form.
func testCLIEchoSecure(t *testing.T, bin string) {
	dir := t.TempDir()
	keyFile, srvPub := cliKeygen(t, bin, dir, "server.key")
	zctx := newContext(t)
	dealer := newSocket(t, zctx, zmq.DEALER)
	dealerPub := cliCurveClient(t, dealer, srvPub)
	req := newSocket(t, zctx, zmq.REQ)
	reqPub := cliCurveClient(t, req, srvPub)
	allow := filepath.Join(dir, "clients.keys")
	require.NoError(t, os.WriteFile(allow, []byte("# libzmq clients\npublic: "+dealerPub+"\n"+reqPub+"\n"), 0o600))

	ep := freeEndpoint(t)
	p := startCLI(t, bin, "echo", "--bind", ep, "--curve-secret-file", keyFile, "--curve-allow", allow)
	p.waitStderr(t, "echo: listening")
	assert.Contains(t, p.stderr.String(), srvPub, "the server logs its public key")

	require.NoError(t, dealer.Connect(ep))
	zmqSend(t, dealer, bs("", "a", "b")...)
	assert.Equal(t, []string{"", "a", "b"}, strs(zmqRecv(t, dealer)))
	zmqSend(t, dealer, make([]byte, 1<<20))
	assert.Len(t, zmqRecv(t, dealer)[0], 1<<20)
	require.NoError(t, req.Connect(ep))
	for i := range 5 {
		zmqSend(t, req, []byte{byte('0' + i)})
		assert.Equal(t, []string{string(rune('0' + i))}, strs(zmqRecv(t, req)))
	}

	refusedBy := func(t *testing.T, ep string, setup func(*zmq.Socket)) eventsZmqEvent {
		t.Helper()
		s, err := zctx.NewSocket(zmq.DEALER)
		require.NoError(t, err)
		require.NoError(t, s.SetLinger(0))
		setup(s)
		mon := eventsWatchZmq(t, zctx, s)
		require.NoError(t, s.Connect(ep))
		return cliWaitEvent(t, mon, zmq.EVENT_HANDSHAKE_FAILED_AUTH)
	}
	t.Run("refused CURVE key", func(t *testing.T) {
		// libzmq first: a libzmq CURVE server whose ZAP handler refuses.
		lz := newSocket(t, zctx, zmq.ROUTER)
		lzPub := cliCurveServer(t, lz)
		cliZAP(t, zctx, nil, nil)
		require.NoError(t, lz.Bind("tcp://127.0.0.1:*"))
		lzEp, err := lz.GetLastEndpoint()
		require.NoError(t, err)
		ev := refusedBy(t, lzEp, func(s *zmq.Socket) { cliCurveClient(t, s, lzPub) })
		assert.Equal(t, 400, ev.value, "libzmq against libzmq")

		ev = refusedBy(t, ep, func(s *zmq.Socket) { cliCurveClient(t, s, srvPub) })
		assert.Equal(t, 400, ev.value, "libzmq against zrouter echo")
		p.waitStderr(t, "client refused")
	})

	assert.Equal(t, 0, p.stop(t, syscall.SIGTERM))

	t.Run("PLAIN", func(t *testing.T) {
		users := filepath.Join(dir, "users")
		require.NoError(t, os.WriteFile(users, []byte("admin:secret\n"), 0o600))
		ep := freeEndpoint(t)
		p := startCLI(t, bin, "echo", "--bind", ep, "--plain-users", users)
		p.waitStderr(t, "echo: listening")
		c := newSocket(t, zctx, zmq.DEALER)
		require.NoError(t, c.SetPlainUsername("admin"))
		require.NoError(t, c.SetPlainPassword("secret"))
		require.NoError(t, c.Connect(ep))
		zmqSend(t, c, []byte("plain"))
		assert.Equal(t, []string{"plain"}, strs(zmqRecv(t, c)))
		ev := refusedBy(t, ep, func(s *zmq.Socket) {
			require.NoError(t, s.SetPlainUsername("admin"))
			require.NoError(t, s.SetPlainPassword("guess"))
		})
		assert.Equal(t, 400, ev.value, "libzmq reads zrouter's PLAIN ERROR as a refusal")
		assert.Equal(t, 0, p.stop(t, syscall.SIGTERM))
	})
}

// testCLIReqSecure: `zrouter req` with a libzmq REP server: over NULL;
// over CURVE, its key pair from --curve-secret-file and a ZAP handler that
// knows it; over PLAIN, where a wrong password gets libzmq's ERROR and
// exits 1 at once, saying the server refused it.
func testCLIReqSecure(t *testing.T, bin string) {
	dir := t.TempDir()
	zctx := newContext(t)
	keyFile, cliPub := cliKeygen(t, bin, dir, "client.key")
	cliZAP(t, zctx, map[string]bool{cliPub: true}, map[string]string{"admin": "secret"})
	serve := func(t *testing.T, setup func(*zmq.Socket)) string {
		t.Helper()
		rep := newSocket(t, zctx, zmq.REP)
		setup(rep)
		require.NoError(t, rep.Bind("tcp://127.0.0.1:*"))
		ep, err := rep.GetLastEndpoint()
		require.NoError(t, err)
		cliAnswer(t, rep, func(req [][]byte) [][]byte { return append(bs("re:"), req...) })
		return ep
	}
	req := func(args ...string) (int, string, string) {
		cmd := exec.Command(bin, append([]string{"req"}, args...)...)
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return code, out.String(), errOut.String()
	}

	t.Run("NULL", func(t *testing.T) {
		ep := serve(t, func(*zmq.Socket) {})
		code, out, errOut := req("--connect", ep, "--count", "3", "hello", "world")
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, "re: hello world\nre: hello world\nre: hello world\n", out)
	})
	t.Run("CURVE", func(t *testing.T) {
		var srvPub string
		ep := serve(t, func(s *zmq.Socket) {
			srvPub = cliCurveServer(t, s)
			require.NoError(t, s.SetZapDomain("global"))
		})
		code, out, errOut := req("--connect", ep, "--curve-server-key", srvPub, "--curve-secret-file", keyFile, "secret-hello")
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, "re: secret-hello\n", out)
		code, _, errOut = req("--connect", ep, "--curve-server-key", srvPub, "not-allowed")
		assert.Equal(t, 1, code, "a fresh key pair, which the ZAP handler does not know")
		assert.Contains(t, errOut, "refused our credentials (status 400)")
	})
	t.Run("PLAIN", func(t *testing.T) {
		ep := serve(t, func(s *zmq.Socket) {
			require.NoError(t, s.SetPlainServer(1))
			require.NoError(t, s.SetZapDomain("global"))
		})
		code, out, errOut := req("--connect", ep, "--plain-user", "admin", "--plain-password", "secret", "p")
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, "re: p\n", out)
		code, _, errOut = req("--connect", ep, "--plain-user", "admin", "--plain-password", "guess", "p")
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "refused our credentials (status 400)", "libzmq's misspelt PLAIN ERROR, read")
	})
}

// testCLIBrokerSecure: a broker whose frontend alone is a CURVE server
// (--frontend-curve-secret-file): libzmq REQ clients with CURVE, libzmq REP
// workers without.
func testCLIBrokerSecure(t *testing.T, bin string) {
	dir := t.TempDir()
	keyFile, srvPub := cliKeygen(t, bin, dir, "server.key")
	fe, be := freeEndpoint(t), freeEndpoint(t)
	p := startCLI(t, bin, "broker", "--frontend", fe, "--backend", be, "--frontend-curve-secret-file", keyFile)
	p.waitStderr(t, "broker: running")
	zctx := newContext(t)
	startWorker(t, zctx, zmq.REP, be, "w1")
	for i := range 3 {
		c := newSocket(t, zctx, zmq.REQ)
		cliCurveClient(t, c, srvPub)
		require.NoError(t, c.Connect(fe))
		zmqSend(t, c, []byte{byte('a' + i)})
		got := strs(zmqRecv(t, c))
		require.Len(t, got, 1)
		assert.Contains(t, got[0], string(rune('a'+i)))
	}
	nullClient := newSocket(t, zctx, zmq.REQ)
	mon := eventsWatchZmq(t, zctx, nullClient)
	require.NoError(t, nullClient.Connect(fe))
	ev := cliWaitEvent(t, mon, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
	assert.Equal(t, 0x11000002, ev.value, "a NULL client at the CURVE frontend")
	assert.Equal(t, 0, p.stop(t, syscall.SIGTERM))
}
