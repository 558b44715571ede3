package zmtp

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"os"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/wire"
)

// The fuzz targets of this file run the PLAIN and CURVE handshakes, and
// CURVE's MESSAGE decryption, on bytes a peer might send. Their seeds are
// recorded from real handshakes between zrouter's two sides, and mutated
// the ways a parser is most likely to get wrong: truncations, lengths that
// do not match, huge size claims, commands out of place.
//
// A box only opens under the right keys, so the CURVE targets use fixed
// long-term keys, and make every random draw of the handshake, through
// crypto/rand.Reader, come from a fixed stream while they record and while
// they replay. The transient keys and the server's cookie key then come out
// the same in every process (the fuzzing engine's workers are processes of
// their own), and the recorded HELLO and INITIATE open on a fresh server,
// the recorded WELCOME and READY on a fresh client. Without that the
// server's cookie key, which it changes every minute, and the random
// transient keys would stop a recorded INITIATE or READY at its box check:
// the fuzzer would still exercise every parser up to that check, and no
// further. Inputs from an older corpus made under other keys are in that
// case, which is fine.

// fixed long-term keys of the CURVE targets.
var (
	secServerSecret = secFixedKey(0x53)
	secServerPublic = CurvePublic(secServerSecret)
	secClientSecret = secFixedKey(0x43)
	secClientPublic = CurvePublic(secClientSecret)
)

// secFixedKey returns a fixed 32-byte key made from tag.
func secFixedKey(tag byte) (key [32]byte) {
	for i := range key {
		key[i] = tag ^ byte(i*7)
	}
	return key
}

// secRandSeed seeds the stream that stands in for crypto/rand.
const secRandSeed = "zrouter zmtp security fuzz seed"

type secLockedRand struct {
	mu sync.Mutex
	r  *mathrand.ChaCha8
}

func (l *secLockedRand) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// secDeterministicRand makes crypto/rand.Reader, which every random draw of
// the CURVE code reads, a fixed ChaCha8 stream until restore is called. It
// changes a variable of the whole process: no test that uses it runs in
// parallel, and fuzz functions never run in parallel with anything (the
// fuzzing engine runs one input at a time in each process, and the seed
// corpus runs as sequential subtests once the package's tests are done).
//
// Within one handshake between two zrouter sides the draws come in an
// order fixed by the protocol: the client's transient key (32 bytes) before
// its HELLO; then, on the server, its transient key, its cookie key (a
// fresh Curve draws one at its first cookie), the cookie's nonce and
// WELCOME's nonce; then the client's vouch nonce, after WELCOME.
func secDeterministicRand() (restore func()) {
	var seed [32]byte
	copy(seed[:], secRandSeed)
	prev := rand.Reader
	rand.Reader = &secLockedRand{r: mathrand.NewChaCha8(seed)}
	return func() { rand.Reader = prev }
}

// secClientDraws is what a CURVE client draws before its HELLO: a server
// replaying a recorded client skips it, to draw what the recorded server
// drew.
const secClientDraws = 32

const secDomain = "fuzz"

// secPeerAddr is the address a secFuzzConn's peer has.
var secPeerAddr = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 5555}

// secAuth is the servers' authenticator: the fixed client key for CURVE;
// for PLAIN, admin/secret, and a few user names that get the other
// statuses.
func secAuth(r *AuthRequest) AuthReply {
	if r.Mechanism == "CURVE" {
		if r.ClientKey == secClientPublic {
			return AuthReply{Status: 200, UserID: "curve-client", Metadata: Metadata{{Name: "X-Role", Value: []byte("worker")}}}
		}
		return AuthReply{Status: 400, Text: "unknown key"}
	}
	if string(r.Password) == "secret" {
		switch string(r.Username) {
		case "admin":
			return AuthReply{Status: 200, UserID: "admin", Metadata: Metadata{{Name: "X-Role", Value: []byte("ops")}}}
		case "later":
			return AuthReply{Status: 300, Text: "try again"}
		case "boom":
			return AuthReply{Status: 503, Text: "counts as 500"}
		}
	}
	return AuthReply{Status: 400, Text: "bad credentials"}
}

// secServerConfig is the side under test of FuzzPlainServer and
// FuzzCurveServer, and the server of the recordings.
func secServerConfig(mech string, auth func(*AuthRequest) AuthReply) *Config {
	cfg := &Config{SocketType: ROUTER, Properties: Metadata{{Name: "X-Side", Value: []byte("server")}},
		Timeout: hsTimeout, MaxSize: fuzzMaxSize, Authenticate: auth, Domain: secDomain}
	if mech == "CURVE" {
		cfg.Mechanism = &Curve{Server: true, Public: secServerPublic, Secret: secServerSecret}
	} else {
		cfg.Mechanism = &Plain{Server: true}
	}
	return cfg
}

// secClientConfig is the side under test of FuzzPlainClient and
// FuzzCurveClient, and the client of the recordings.
func secClientConfig(mech string) *Config {
	cfg := &Config{SocketType: DEALER, Identity: []byte("dealer-1"), Properties: Metadata{{Name: "X-Side", Value: []byte("client")}},
		Timeout: hsTimeout, MaxSize: fuzzMaxSize}
	if mech == "CURVE" {
		cfg.Mechanism = &Curve{Public: secClientPublic, Secret: secClientSecret, ServerKey: secServerPublic}
	} else {
		cfg.Mechanism = &Plain{Username: []byte("admin"), Password: []byte("secret")}
	}
	return cfg
}

// What each side of a recording sends once the handshake is done: a
// message with an empty frame, commands between frames. Seeds are kept
// short: the fuzzing engine minimizes every new interesting input in time
// quadratic in its length, for up to a minute, during which its worker
// does not fuzz.
var (
	secClientFrames = []frame{
		{more: true, body: "request"},
		{more: true, body: ""},
		{body: strings.Repeat("c", 20)},
		{cmd: true, body: string((&Ping{TTL: 30, Context: []byte("hb")}).Append(nil))},
		{body: "after a PING"},
	}
	secServerFrames = []frame{
		{more: true, body: "reply"},
		{body: strings.Repeat("s", 20)},
		{cmd: true, body: string((&Pong{Context: []byte("hb")}).Append(nil))},
	}
)

// secAppendFrames appends frames as codec sends them.
func secAppendFrames(b []byte, codec Codec, frames []frame) []byte {
	for _, f := range frames {
		if f.cmd {
			b = codec.AppendCommand(b, []byte(f.body))
			continue
		}
		var flags byte
		if f.more {
			flags = FlagMore
		}
		b = codec.AppendFrame(b, flags, []byte(f.body))
	}
	return b
}

// secRecConn records what its side of a connection writes.
type secRecConn struct {
	net.Conn
	mu  sync.Mutex
	out []byte
}

func (c *secRecConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.out = append(c.out, p...)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *secRecConn) sent() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.out...)
}

// secRecording is what each side of a real handshake sent, greeting left
// out, followed by the frames each would send next (secClientFrames,
// secServerFrames), sealed by its session's codec.
type secRecording struct {
	toServer, toClient []byte
}

// recordSecHandshake runs a real handshake of mech between
// secClientConfig and secServerConfig over net.Pipe, under
// secDeterministicRand, and records both sides.
func recordSecHandshake(mech string) (*secRecording, error) {
	restore := secDeterministicRand()
	defer restore()
	a, b := net.Pipe()
	defer func() { _ = a.Close(); _ = b.Close() }()
	sc, cc := &secRecConn{Conn: a}, &secRecConn{Conn: b}
	sr := startHandshake(sc, secServerConfig(mech, secAuth))
	cr := startHandshake(cc, secClientConfig(mech))
	s, c := <-sr, <-cr
	if s.err != nil || c.err != nil {
		return nil, fmt.Errorf("recording a %s handshake: server: %v; client: %v", mech, s.err, c.err)
	}
	greeting := Greeting{Major: VersionMajor, Minor: VersionMinor, Mechanism: mech}.Append(nil)
	toServer, toClient := cc.sent(), sc.sent()
	if !bytes.HasPrefix(toServer, greeting) || !bytes.HasPrefix(toClient, greeting) {
		return nil, fmt.Errorf("recording a %s handshake: a side did not start with the greeting", mech)
	}
	return &secRecording{
		toServer: secAppendFrames(toServer[GreetingSize:], c.s.Codec, secClientFrames),
		toClient: secAppendFrames(toClient[GreetingSize:], s.s.Codec, secServerFrames),
	}, nil
}

// secFuzzConn is a net.Conn over a byte slice, for parser tests: Read hands
// out the bytes, at most chunk at a time (0: as many as asked), then
// io.EOF; Write discards. Deadlines work as on a real connection, but
// nothing ever blocks, so a handshake over it ends, with an error or a
// session, unless the code under test loops.
type secFuzzConn struct {
	mu       sync.Mutex
	in       []byte
	chunk    int
	closed   bool
	rdl, wdl time.Time
}

func secPast(deadline time.Time) bool { return !deadline.IsZero() && !time.Now().Before(deadline) }

func (c *secFuzzConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return 0, net.ErrClosed
	case secPast(c.rdl):
		return 0, os.ErrDeadlineExceeded
	case len(c.in) == 0:
		return 0, io.EOF
	}
	if c.chunk > 0 && len(p) > c.chunk {
		p = p[:c.chunk]
	}
	n := copy(p, c.in)
	c.in = c.in[n:]
	return n, nil
}

func (c *secFuzzConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return 0, net.ErrClosed
	case secPast(c.wdl):
		return 0, os.ErrDeadlineExceeded
	}
	return len(p), nil
}

func (c *secFuzzConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func (c *secFuzzConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5556}
}
func (c *secFuzzConn) RemoteAddr() net.Addr { return secPeerAddr }

func (c *secFuzzConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rdl, c.wdl = t, t
	return nil
}

func (c *secFuzzConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rdl = t
	return nil
}

func (c *secFuzzConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wdl = t
	return nil
}

// secHeapAllocs returns the bytes allocated on the heap so far, without
// stopping the world as runtime.ReadMemStats does. Small objects are
// counted a span at a time, large ones (what a size claim would make) at
// once.
func secHeapAllocs() uint64 {
	s := [1]metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s[:])
	return s[0].Value.Uint64()
}

// secAllocBound is the most a handshake and the frames after it may
// allocate for n input bytes: some constant (a pooled 32 KiB read buffer,
// a command or a frame up to the limits, 64 KiB, read ahead of its bytes;
// the counter's granularity) and a few times the input. A size claimed by
// a header, up to 2^63-1, must not show.
func secAllocBound(n int) uint64 { return 4<<20 + 16*uint64(n) }

// secHangLimit is how long a handshake over a secFuzzConn may run before
// it counts as hung: far more than a real one takes, on a loaded machine.
const secHangLimit = 30 * time.Second

// secHandshake runs Handshake on conn, failing t if it does not return.
func secHandshake(t *testing.T, conn net.Conn, cfg *Config) (*Session, error) {
	done := make(chan hsResult, 1)
	go func() {
		s, err := Handshake(conn, cfg)
		done <- hsResult{s, err}
	}()
	timer := time.NewTimer(secHangLimit)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.s, r.err
	case <-timer.C:
		t.Fatalf("Handshake still running after %v over a connection that never blocks", secHangLimit)
		return nil, nil
	}
}

// secHandshakeErr reports whether err is one a handshake may end with on
// bytes that begin with a valid greeting of its mechanism and then end.
func secHandshakeErr(err error) bool {
	var pe *ProtocolError
	var pr *PeerError
	var ae *AuthError
	var se *SocketTypeError
	return errors.As(err, &pe) || errors.As(err, &pr) || errors.As(err, &ae) || errors.As(err, &se) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// secFrameErr reports whether err is one ReadFrame may end with on a
// stream that ends.
func secFrameErr(err error) bool {
	var pe *ProtocolError
	return errors.As(err, &pe) || errors.Is(err, ErrMessageTooLarge) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// readSecFrames reads frames with ReadFrame until it fails, one reused
// wire.Msg per message, and returns them with the error.
func readSecFrames(t *testing.T, rd *Reader) ([]frame, error) {
	m := wire.Get()
	defer m.Release()
	var out []frame
	for {
		f, err := rd.ReadFrame(m)
		if err != nil {
			return out, err
		}
		if f.Command != nil {
			out = append(out, frame{cmd: true, body: string(f.Command)})
			continue
		}
		require.NotZero(t, m.Len(), "a message frame adds a frame")
		last := m.Frames[m.Len()-1]
		require.Equal(t, uint64(len(last)), f.Size, "Frame.Size is the frame's")
		out = append(out, frame{more: f.More, body: string(last)})
		if !f.More {
			m.Reset()
		}
	}
}

// secSubsequence reports whether got appears in of, in order, with gaps:
// what a reader that refuses nonces that do not grow may open of what the
// other side sealed.
func secSubsequence(got, of []frame) bool {
	i := 0
	for _, g := range got {
		for i < len(of) && of[i] != g {
			i++
		}
		if i == len(of) {
			return false
		}
		i++
	}
	return true
}

// secTarget is one side of a handshake under test, and the recorded peer
// it is fed.
type secTarget struct {
	mech   string
	server bool
	// peer is what the recorded peer sent after its greeting, and
	// peerFrames what the frames after its handshake carry.
	peer       []byte
	peerFrames []frame
}

func newSecTarget(tb testing.TB, mech string, server bool) *secTarget {
	rec, err := recordSecHandshake(mech)
	require.NoError(tb, err)
	if server {
		return &secTarget{mech: mech, server: true, peer: rec.toServer, peerFrames: secClientFrames}
	}
	return &secTarget{mech: mech, peer: rec.toClient, peerFrames: secServerFrames}
}

// secOutcome is what a run of a target did.
type secOutcome struct {
	cfg    *Config
	s      *Session
	err    error
	asked  []AuthRequest
	frames []frame // read after a session
	ferr   error
	used   uint64 // bytes allocated
}

// handshake runs the side under test on a valid greeting followed by peer,
// read at most chunk bytes at a time, then reads frames after a session.
func (tg *secTarget) handshake(t *testing.T, chunk uint16, peer []byte) secOutcome {
	if tg.mech == "CURVE" {
		restore := secDeterministicRand()
		defer restore()
		if tg.server {
			_, err := io.ReadFull(rand.Reader, make([]byte, secClientDraws))
			require.NoError(t, err)
		}
	}
	var o secOutcome
	if tg.server {
		o.cfg = secServerConfig(tg.mech, func(r *AuthRequest) AuthReply {
			o.asked = append(o.asked, *r)
			return secAuth(r)
		})
	} else {
		o.cfg = secClientConfig(tg.mech)
	}
	stream := Greeting{Major: VersionMajor, Minor: VersionMinor, Mechanism: tg.mech}.Append(make([]byte, 0, GreetingSize+len(peer)))
	stream = append(stream, peer...)
	before := secHeapAllocs()
	o.s, o.err = secHandshake(t, &secFuzzConn{in: stream, chunk: int(chunk)}, o.cfg)
	if o.err == nil {
		o.frames, o.ferr = readSecFrames(t, o.s.Reader)
	}
	o.used = secHeapAllocs() - before
	return o
}

// run is the fuzz function of a target: the handshake ends, with an error
// of a kind it may end with or with a valid session; memory follows the
// input, whatever sizes it claims; over CURVE, only frames the recorded
// peer sealed open; and the recorded peer's own bytes make a session that
// reads back every frame it sent.
func (tg *secTarget) run(t *testing.T, chunk uint16, peer []byte) {
	o := tg.handshake(t, chunk, peer)
	require.LessOrEqualf(t, o.used, secAllocBound(GreetingSize+len(peer)), "allocated %d bytes for %d input bytes", o.used, len(peer))
	recorded := bytes.Equal(peer, tg.peer)
	if o.err != nil {
		require.Falsef(t, recorded, "the recorded peer's bytes, in reads of %d: %v", chunk, o.err)
		require.Nil(t, o.s)
		require.Truef(t, secHandshakeErr(o.err), "handshake error of an unexpected kind: %T %v", o.err, o.err)
		return
	}
	tg.checkSession(t, o)
	require.Truef(t, secFrameErr(o.ferr), "ReadFrame error of an unexpected kind: %T %v", o.ferr, o.ferr)
	if tg.mech == "CURVE" {
		require.Truef(t, secSubsequence(o.frames, tg.peerFrames), "opened frames the peer did not seal: %v", o.frames)
	}
	if recorded {
		require.ErrorIs(t, o.ferr, io.EOF)
		require.Equal(t, tg.peerFrames, o.frames)
	}
}

// checkSession checks a session a run made.
func (tg *secTarget) checkSession(t *testing.T, o secOutcome) {
	s := o.s
	require.NotNil(t, s)
	assert.Equal(t, Greeting{Major: VersionMajor, Minor: VersionMinor, Mechanism: tg.mech}, s.Greeting)
	assert.Truef(t, Compatible(o.cfg.SocketType, s.SocketType), "session with a %q peer", s.SocketType)
	st, _ := s.Metadata.Get(PropSocketType)
	assert.Equal(t, string(s.SocketType), string(st))
	id, _ := s.Metadata.Get(PropIdentity)
	assert.Equal(t, id, s.Identity)
	assert.NoError(t, s.Metadata.Validate())
	assert.Equal(t, tg.mech != "CURVE", s.Codec.Plain())
	if !tg.server {
		assert.Empty(t, s.UserID)
		assert.Nil(t, s.Auth)
		return
	}
	require.Len(t, o.asked, 1, "one authentication per handshake")
	a := o.asked[0]
	assert.Equal(t, tg.mech, a.Mechanism)
	assert.Equal(t, secDomain, a.Domain)
	assert.Equal(t, secPeerAddr.IP.String(), a.Address)
	rep := secAuth(&a)
	require.Equal(t, 200, rep.Status, "a session for a peer the authenticator refused")
	assert.Equal(t, rep.UserID, s.UserID)
	// A property both name is the authenticator's: the session keeps
	// both, and the socket reads the authenticator's first.
	assert.Equal(t, rep.Metadata, s.Auth)
	if tg.mech == "CURVE" {
		assert.Equal(t, secClientPublic, a.ClientKey)
		assert.Equal(t, s.Identity, a.Identity, "CURVE authenticates with the identity of INITIATE")
	}
}

// secSpan is one frame of a stream.
type secSpan struct {
	off, hdr int // where the frame starts, and its header's length
	flags    byte
	body     []byte // refers into the stream
}

func (s secSpan) end() int { return s.off + s.hdr + len(s.body) }

// secSpans returns the whole frames at the start of stream.
func secSpans(stream []byte) []secSpan {
	var out []secSpan
	for off := 0; off < len(stream); {
		h, n, err := ParseHeader(stream[off:])
		if err != nil || n == 0 || uint64(len(stream)-off-n) < h.Size {
			break
		}
		out = append(out, secSpan{off: off, hdr: n, flags: h.Flags, body: stream[off+n : off+n+int(h.Size)]})
		off += n + int(h.Size)
	}
	return out
}

// secReplace returns a copy of stream with frame sp replaced by repl.
func secReplace(stream []byte, sp secSpan, repl ...[]byte) []byte {
	out := append([]byte(nil), stream[:sp.off]...)
	for _, r := range repl {
		out = append(out, r...)
	}
	return append(out, stream[sp.end():]...)
}

// secRebody returns a copy of stream with the body of frame sp changed by
// edit, under a header that fits it.
func secRebody(stream []byte, sp secSpan, edit func([]byte) []byte) []byte {
	body := edit(append([]byte(nil), sp.body...))
	return secReplace(stream, sp, AppendFrame(nil, sp.flags&^FlagLong, body))
}

// secLongHeader is a header in the long form, whatever the size.
func secLongHeader(flags byte, size uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{flags | FlagLong}, size)
}

// secMutations returns the mutations of a recorded peer's stream that
// every target gets, made on each of its two handshake commands and on the
// first frame after them.
func secMutations(peer []byte) [][]byte {
	out := [][]byte{nil}
	add := func(b []byte) { out = append(out, b) }
	spans := secSpans(peer)
	for i, sp := range spans {
		if i > 2 {
			break
		}
		// Truncations: in the header, after it, in the body, one byte
		// short, just after the frame.
		for _, cut := range []int{sp.off + 1, sp.off + sp.hdr, sp.off + sp.hdr + len(sp.body)/2, sp.end() - 1, sp.end()} {
			add(append([]byte(nil), peer[:cut]...))
		}
		size := uint64(len(sp.body))
		// Wrong lengths: a byte less or more than the body has.
		if size > 0 {
			add(secReplace(peer, sp, AppendHeader(nil, sp.flags, int(size)-1), sp.body))
		}
		add(secReplace(peer, sp, AppendHeader(nil, sp.flags, int(size)+1), sp.body))
		// The long form of the same header, which is valid.
		add(secReplace(peer, sp, secLongHeader(sp.flags, size), sp.body))
		// A message frame for a command, and the other way round.
		add(secReplace(peer, sp, AppendHeader(nil, sp.flags^FlagCommand, int(size)), sp.body))
		// Size claims: beyond 2^63, huge, just past the command limit,
		// and at it with far too few bytes behind.
		for _, claim := range []uint64{1 << 63, 1<<63 - 1, 1 << 62, 1 << 40, DefaultMaxCommandSize + 1, DefaultMaxCommandSize} {
			add(secReplace(peer, sp, secLongHeader(sp.flags&FlagCommand, claim), sp.body))
		}
		// An ERROR in its place; the frame left out; sent twice.
		add(secReplace(peer, sp, AppendCommand(nil, &Error{Reason: "400"})))
		add(secReplace(peer, sp))
		add(secReplace(peer, sp, peer[sp.off:sp.end()], peer[sp.off:sp.end()]))
		// Bit flips: the name's length, the name, the middle, the end.
		for _, k := range []int{0, 1, len(sp.body) / 2, len(sp.body) - 1} {
			if k >= 0 && k < len(sp.body) {
				add(secRebody(peer, sp, func(b []byte) []byte { b[k] ^= 0x01; return b }))
			}
		}
	}
	if len(spans) >= 2 { // the handshake's commands in the wrong order
		a, b := spans[0], spans[1]
		swapped := append(append(append([]byte(nil), peer[b.off:b.end()]...), peer[a.off:a.end()]...), peer[b.end():]...)
		add(swapped)
	}
	return out
}

// addSeeds adds the recorded peer, whole and in small reads, its
// mutations, and extra, the target's own.
func (tg *secTarget) addSeeds(f *testing.F, extra ...[]byte) {
	for _, chunk := range []uint16{0, 1, 7, 300} {
		f.Add(chunk, tg.peer)
	}
	for _, m := range secMutations(tg.peer) {
		f.Add(uint16(0), m)
	}
	for _, m := range extra {
		f.Add(uint16(0), m)
	}
}

// secCommand returns a command frame of name and data.
func secCommand(name string, data ...[]byte) []byte {
	body := appendName(nil, name)
	for _, d := range data {
		body = append(body, d...)
	}
	return AppendFrame(nil, FlagCommand, body)
}

// secCat returns its arguments end to end, in a slice of its own.
func secCat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// secShort returns b as PLAIN's one-byte-length field.
func secShort(b string) []byte { return append([]byte{byte(len(b))}, b...) }

func secPlainHello(user, pass string) []byte {
	return secCommand(cmdHello, secShort(user), secShort(pass))
}

func secMetadata(typ SocketType, extra ...Property) []byte {
	md := append((&Config{SocketType: typ, Identity: []byte("peer-id")}).LocalMetadata(), extra...)
	return md.Append(nil)
}

// secValueClaim is a property whose value claims n bytes and has none.
func secValueClaim(n uint32) []byte {
	return binary.BigEndian.AppendUint32(append([]byte{6}, "X-Huge"...), n)
}

// FuzzPlainServer feeds a PLAIN server (a ROUTER with an authenticator)
// what a client sends after its greeting: HELLO, INITIATE, then frames.
// The handshake must end with an error or a valid session, allocating no
// more than its input calls for; the recorded client must get a session
// that reads back its frames.
func FuzzPlainServer(f *testing.F) {
	tg := newSecTarget(f, "PLAIN", true)
	initiate := func(md []byte) []byte { return secCommand(cmdInitiate, md) }
	dealer := secMetadata(DEALER)
	ok := secPlainHello("admin", "secret")
	tg.addSeeds(f,
		secCat(ok, initiate(dealer)),
		secCat(secPlainHello("guest", "guess"), initiate(dealer)),  // 400
		secCat(secPlainHello("later", "secret"), initiate(dealer)), // 300
		secCat(secPlainHello("boom", "secret"), initiate(dealer)),  // 500
		secPlainHello(strings.Repeat("u", 255), strings.Repeat("p", 255)),
		secCommand(cmdHello, []byte{200, 'a', 'd', 'm'}),                       // user name cut short
		secCommand(cmdHello, secShort("admin"), []byte{6, 's'}),                // password cut short
		secCommand(cmdHello, secShort("admin"), secShort("secret"), []byte{0}), // a byte after the password
		secCommand(cmdHello),
		secCat(ok, initiate(secMetadata(PUB))), // a type ROUTER cannot talk to
		secCat(ok, initiate(secMetadata(DEALER, Property{Name: "X-Role", Value: []byte("x")}))), // claims what the authenticator says
		secCat(ok, initiate(secCat(dealer, secValueClaim(1<<31-1)))),
		secCat(ok, initiate(secCat(dealer, secValueClaim(1<<31)))),
		secCat(ok, initiate(nil)), // no Socket-Type
		secCat(ok, secCommand(CmdReady, dealer)),
		secCat(ok, AppendCommand(nil, &Error{Reason: "bye"})),
	)
	f.Fuzz(tg.run)
}

// FuzzPlainClient feeds a PLAIN client (a DEALER) what a server sends
// after its greeting: WELCOME, READY, then frames.
func FuzzPlainClient(f *testing.F) {
	tg := newSecTarget(f, "PLAIN", false)
	welcome := secCommand(cmdWelcome)
	router := secMetadata(ROUTER)
	tg.addSeeds(f,
		secCat(welcome, secCommand(CmdReady, router)),
		secCat(secCommand(cmdWelcome, []byte("x")), secCommand(CmdReady, router)), // libzmq refuses WELCOME with data
		AppendCommand(nil, &Error{Reason: "400"}),
		secCat(welcome, AppendCommand(nil, &Error{Reason: "500"})),
		secCat(welcome, secCommand(CmdReady, secMetadata(REQ))), // a type DEALER cannot talk to
		secCat(welcome, secCommand(CmdReady, secCat(router, secValueClaim(1<<31-1)))),
		secCat(welcome, secCommand(CmdReady, []byte{0})),
		secCat(welcome, secCommand(cmdInitiate, router)),
		secPlainHello("admin", "secret"), // another client
	)
	f.Fuzz(tg.run)
}

// FuzzCurveServer feeds a CURVE server (a ROUTER that lets in the fixed
// client key) what a client sends after its greeting: HELLO, INITIATE,
// then MESSAGEs. Only the recorded client's boxes open (see the top of
// this file); whatever else opens must be a frame that client sealed.
func FuzzCurveServer(f *testing.F) {
	tg := newSecTarget(f, "CURVE", true)
	spans := secSpans(tg.peer)
	require.GreaterOrEqual(f, len(spans), 2)
	hello, initiate := spans[0], spans[1]
	const h, i = 1 + len(cmdHello), 1 + len(cmdInitiate) // where the data begins
	set := func(sp secSpan, at int, b ...byte) []byte {
		return secRebody(tg.peer, sp, func(body []byte) []byte { copy(body[at:], b); return body })
	}
	resize := func(sp secSpan, n int) []byte {
		return secRebody(tg.peer, sp, func(body []byte) []byte { return append(body, make([]byte, max(n-len(body), 0))...)[:n] })
	}
	tg.addSeeds(f,
		set(hello, h, 2, 0),                                      // version 2.0
		set(hello, h+106+7, 0xFF),                                // another HELLO nonce: the box does not open
		set(hello, h+74, 0xFF),                                   // another transient key
		resize(hello, curveHelloSize-1),                          // 199 bytes
		resize(hello, curveHelloSize+1),                          // 201 bytes
		set(initiate, i+curveCookieSize, 0, 0, 0, 0, 0, 0, 0, 1), // nonce 1, not after HELLO's
		set(initiate, i+curveCookieSize+7, 9),                    // a later nonce: the box does not open
		set(initiate, i+20, 0xFF),                                // a cookie that is not ours
		set(initiate, i+curveCookieSize+8+100, 0xFF),             // inside the vouch
		resize(initiate, curveInitiateMin-1),
		resize(initiate, curveInitiateMin),
		secReplace(tg.peer, initiate, secCommand(cmdMessage, make([]byte, 40))),
	)
	f.Fuzz(tg.run)
}

// FuzzCurveClient feeds a CURVE client (a DEALER with the fixed keys) what
// a server sends after its greeting: WELCOME, READY, then MESSAGEs.
func FuzzCurveClient(f *testing.F) {
	tg := newSecTarget(f, "CURVE", false)
	spans := secSpans(tg.peer)
	require.GreaterOrEqual(f, len(spans), 2)
	welcome, ready := spans[0], spans[1]
	const w, r = 1 + len(cmdWelcome), 1 + len(CmdReady)
	set := func(sp secSpan, at int, b ...byte) []byte {
		return secRebody(tg.peer, sp, func(body []byte) []byte { copy(body[at:], b); return body })
	}
	resize := func(sp secSpan, n int) []byte {
		return secRebody(tg.peer, sp, func(body []byte) []byte { return append(body, make([]byte, max(n-len(body), 0))...)[:n] })
	}
	tg.addSeeds(f,
		resize(welcome, curveWelcomeSize-1),
		resize(welcome, curveWelcomeSize+1),
		set(welcome, w+3, 0xFF),     // another long nonce
		set(welcome, w+16+40, 0xFF), // inside the box
		resize(ready, curveReadyMin-1),
		resize(ready, curveReadyMin), // an empty box: too short to open
		set(ready, r+7, 0xFF),        // another nonce
		secReplace(tg.peer, ready, AppendCommand(nil, &Error{Reason: "400"})),
		secReplace(tg.peer, ready, secCommand(CmdReady, secMetadata(ROUTER))), // READY in clear
	)
	f.Fuzz(tg.run)
}

// secMessageKey is the key of FuzzCurveOpen's codecs.
var secMessageKey = secFixedKey(0x4B)

// secOpenCodecs returns the codecs of the two ends of a CURVE connection as
// the handshake leaves them: the client has sealed HELLO (nonce 1) and
// INITIATE (2), the server READY (1).
func secOpenCodecs() (client, server *curveCodec) {
	return newCurveCodec(&secMessageKey, false, 3, 1), newCurveCodec(&secMessageKey, true, 2, 2)
}

// secOpenWant is what reading a seed of FuzzCurveOpen gives.
type secOpenWant struct {
	frames []frame
	err    error // io.EOF, io.ErrUnexpectedEOF, ErrMessageTooLarge or a *ProtocolError
}

// secSealed is everything FuzzCurveOpen's client sealed, once per process
// and the same in every process: sealing is deterministic.
type secSealed struct {
	byNonce map[uint64][]byte // what each nonce sealed: flags, then the frame
	order   []frame           // the frames, in the order of their nonces
	seeds   [][]byte
	want    map[string]secOpenWant
}

func newSecSealed() *secSealed {
	set := &secSealed{byNonce: map[uint64][]byte{}, want: map[string]secOpenWant{}}
	snd, refl := secOpenCodecs()
	seal := func(fr frame) []byte {
		nonce := snd.sendNonce
		var flags byte
		switch {
		case fr.cmd:
			flags = curveCommand
		case fr.more:
			flags = curveMore
		}
		set.byNonce[nonce] = append([]byte{flags}, fr.body...)
		set.order = append(set.order, fr)
		return secAppendFrames(nil, snd, []frame{fr})
	}
	protoErr := &ProtocolError{}
	add := func(want []frame, err error, parts ...[]byte) {
		s := bytes.Join(parts, nil)
		set.seeds = append(set.seeds, s)
		set.want[string(s)] = secOpenWant{want, err}
	}
	one := func(body string) (frame, []byte) { fr := frame{body: body}; return fr, seal(fr) }

	hello, b := one("hello")
	add([]frame{hello}, io.EOF, b)
	msg := []frame{{more: true, body: "id"}, {more: true, body: ""}, {body: "payload"}}
	add(msg, io.EOF, seal(msg[0]), seal(msg[1]), seal(msg[2]))
	ping := frame{cmd: true, body: string((&Ping{TTL: 10, Context: []byte("c")}).Append(nil))}
	add([]frame{ping}, io.EOF, seal(ping))
	// Frames of 300 bytes take a long header. Larger ones, which take other
	// paths (a large frame, one past the read buffer), would make slow seeds
	// (see secClientFrames): the fuzzer reaches those paths with size claims,
	// and the tests read large sealed frames.
	for _, n := range []int{0, 16, 300} {
		fr, b := one(strings.Repeat("z", n))
		add([]frame{fr}, io.EOF, b)
	}
	mixed := []frame{{more: true, body: "x"}, {cmd: true, body: string((&Pong{}).Append(nil))}, {body: "y"}}
	add(mixed, io.EOF, seal(mixed[0]), seal(mixed[1]), seal(mixed[2]))

	// MESSAGE in a command frame, as RFC 25 has it, and in a long header.
	fr, b := one("rfc 25")
	b[0] |= FlagCommand
	add([]frame{fr}, io.EOF, b)
	fr, b = one("long header")
	add([]frame{fr}, io.EOF, secLongHeader(0, uint64(len(b)-2)), b[2:])
	// A gap in the nonces is fine.
	one("never sent")
	fr, b = one("after a gap")
	add([]frame{fr}, io.EOF, b)

	// A replay, a reordering.
	fr, b = one("replayed")
	add([]frame{fr}, protoErr, b, b)
	_, b1 := one("first")
	second, b2 := one("second")
	add([]frame{second}, protoErr, b2, b1)
	// Changed on the way: the box, the nonce, the name; cut short.
	_, b = one("tampered")
	add(nil, protoErr, b[:len(b)-1], []byte{b[len(b)-1] ^ 1})
	_, b = one("other nonce")
	add(nil, protoErr, b[:2+8+7], []byte{b[2+8+7] ^ 1}, b[2+8+8:])
	_, b = one("other name")
	add(nil, protoErr, b[:2+7], []byte{'F'}, b[2+8:])
	_, b = one("cut short")
	add(nil, io.ErrUnexpectedEOF, b[:len(b)-3])
	add(nil, io.ErrUnexpectedEOF, b[:1])
	// Too short to carry a frame; a clear command; sealed the other way.
	add(nil, protoErr, AppendFrame(nil, 0, append(appendName(nil, cmdMessage), make([]byte, 20)...)))
	add(nil, protoErr, AppendCommand(nil, &Ping{TTL: 1}))
	refl.sendNonce = 1 << 20 // past every nonce of ours, so that only the box refuses it
	add(nil, protoErr, refl.AppendFrame(nil, 0, []byte("reflected")))
	// Size claims: huge, past the limit, at it with nothing behind.
	limit := uint64(fuzzMaxSize + curveMessageMin)
	add(nil, ErrMessageTooLarge, AppendHeader(nil, 0, 1<<62))
	add(nil, ErrMessageTooLarge, AppendHeader(nil, FlagCommand, int(limit)+1))
	add(nil, io.ErrUnexpectedEOF, AppendHeader(nil, 0, int(limit)))
	// A good frame, then bad flags.
	fr, b = one("then bad flags")
	add([]frame{fr}, protoErr, b, []byte{0xF0, 0})
	add(nil, io.EOF)
	return set
}

// checkOpen opens body as a MESSAGE with a fresh server codec, into a
// destination that holds a prefix: it must fail, changing nothing, or give
// exactly what the client sealed under the body's nonce, after the prefix.
func (set *secSealed) checkOpen(t *testing.T, body []byte) {
	_, rcv := secOpenCodecs()
	const prefix = "prefix"
	out, flags, err := rcv.Open([]byte(prefix), body)
	if err != nil {
		var pe *ProtocolError
		require.ErrorAs(t, err, &pe)
		require.Equal(t, uint64(2), rcv.recvNonce, "a MESSAGE that does not open moves no nonce")
		return
	}
	nonce := binary.BigEndian.Uint64(body[8:16])
	sealed, ok := set.byNonce[nonce]
	require.Truef(t, ok, "opened a MESSAGE of nonce %d, which nobody sealed", nonce)
	require.Equal(t, prefix, string(out[:len(prefix)]))
	require.Equal(t, sealed, out[len(prefix):])
	require.Equal(t, rcv.OpenLen(len(body)), len(out)-len(prefix))
	var want byte
	if sealed[0]&curveMore != 0 {
		want |= FlagMore
	}
	if sealed[0]&curveCommand != 0 {
		want |= FlagCommand
	}
	require.Equal(t, want, flags)
	require.Equal(t, nonce, rcv.recvNonce)
}

// readSealed reads data with a Reader sealed with a fresh server codec.
func (set *secSealed) readSealed(t *testing.T, r io.Reader) ([]frame, error) {
	_, rcv := secOpenCodecs()
	rd := NewReader(r, fuzzMaxSize)
	rd.seal(rcv)
	return readSecFrames(t, rd)
}

// FuzzCurveOpen feeds CURVE's steady state bytes: to Open as the body of
// a MESSAGE (the input itself, and the body of its first frame), and to
// ReadFrame through a sealed Reader (in one read, and in small ones). The
// seeds are frames a client codec sealed, and mutations of them. Nothing
// may panic; what opens must be what the client sealed, in the order of
// its nonces; memory must follow the input; the two ways of reading must
// agree; and the unmodified seeds must read back as sealed.
func FuzzCurveOpen(f *testing.F) {
	set := newSecSealed()
	for _, s := range set.seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		set.checkOpen(t, data)
		if h, n, err := ParseHeader(data); err == nil && n > 0 {
			set.checkOpen(t, data[n:n+int(min(h.Size, uint64(len(data)-n)))])
		}

		before := secHeapAllocs()
		frames, err := set.readSealed(t, bytes.NewReader(data))
		used := secHeapAllocs() - before
		require.LessOrEqualf(t, used, secAllocBound(len(data)), "allocated %d bytes for %d input bytes", used, len(data))
		require.Truef(t, secFrameErr(err), "ReadFrame error of an unexpected kind: %T %v", err, err)
		require.Truef(t, secSubsequence(frames, set.order), "opened frames the client did not seal, or out of order: %v", frames)

		chunked, cerr := set.readSealed(t, &chunkReader{data: data, sizes: []int{5, 1000, 7, 1 << 16}})
		require.Equal(t, frames, chunked, "in small reads")
		require.Truef(t, sameErrorKind(cerr, err), "in small reads: %v, in one: %v", cerr, err)

		if want, ok := set.want[string(data)]; ok {
			require.Equal(t, want.frames, frames, "a seed reads back as sealed")
			require.Truef(t, sameErrorKind(err, want.err), "seed ends with %v, want %v", err, want.err)
		}
	})
}

// TestSecurityRecordingsDeterministic records each handshake twice: under
// secDeterministicRand the bytes must come out the same, or the CURVE
// targets' recorded boxes would not open in the fuzzing engine's workers,
// which record their own. Not parallel: it changes crypto/rand.Reader.
func TestSecurityRecordingsDeterministic(t *testing.T) {
	for _, mech := range []string{"PLAIN", "CURVE"} {
		a, err := recordSecHandshake(mech)
		require.NoError(t, err)
		b, err := recordSecHandshake(mech)
		require.NoError(t, err)
		assert.Equal(t, a, b, mech)
	}
}

// TestSecurityHandshakeHugeClaims has a peer of each handshake claim a huge
// size for its first or second command, or a size at the command limit
// that it does not send: the handshake fails, and allocates nothing near
// the claim. Not parallel: it measures the allocations of the whole
// process, and changes crypto/rand.Reader for the CURVE replays.
func TestSecurityHandshakeHugeClaims(t *testing.T) {
	var proto *ProtocolError
	claims := []struct {
		name string
		hdr  []byte
		want any
	}{
		{"2^63", secLongHeader(FlagCommand, 1<<63), &proto},
		{"2^63-1", secLongHeader(FlagCommand, 1<<63-1), &proto},
		{"2^62", secLongHeader(FlagCommand, 1<<62), &proto},
		{"1 GiB", secLongHeader(FlagCommand, 1<<30), &proto},
		{"limit+1", secLongHeader(FlagCommand, DefaultMaxCommandSize+1), &proto},
		{"limit, nothing sent", secLongHeader(FlagCommand, DefaultMaxCommandSize), &io.ErrUnexpectedEOF},
		{"message frame 2^62", secLongHeader(0, 1<<62), &proto},
	}
	for _, tg := range []*secTarget{
		newSecTarget(t, "PLAIN", true), newSecTarget(t, "PLAIN", false),
		newSecTarget(t, "CURVE", true), newSecTarget(t, "CURVE", false),
	} {
		spans := secSpans(tg.peer)
		require.GreaterOrEqual(t, len(spans), 2)
		for at, sp := range spans[:2] {
			for _, c := range claims {
				name := fmt.Sprintf("%s server=%v command %d claims %s", tg.mech, tg.server, at+1, c.name)
				t.Run(name, func(t *testing.T) {
					peer := append(append([]byte(nil), tg.peer[:sp.off]...), c.hdr...)
					o := tg.handshake(t, 0, peer)
					require.Error(t, o.err)
					if target, ok := c.want.(*error); ok {
						require.ErrorIs(t, o.err, *target)
					} else {
						require.ErrorAs(t, o.err, c.want)
					}
					assert.Less(t, o.used, uint64(1<<20), "allocated %d bytes", o.used)
				})
			}
		}
	}
}

// TestCurveSealedHugeClaims has a CURVE peer claim huge MESSAGEs after the
// handshake. Without a message size limit, storage follows the bytes that
// arrive (and one 1 MiB growth step), never the claim; with one, the claim
// is refused before anything is allocated. Not parallel: it measures the
// allocations of the whole process.
func TestCurveSealedHugeClaims(t *testing.T) {
	tests := []struct {
		name     string
		maxSize  int64
		hdr      []byte
		sent     int
		want     error
		maxAlloc uint64
	}{
		{"no limit, 2^40, a little sent", -1, AppendHeader(nil, 0, 1<<40), 1000, io.ErrUnexpectedEOF, 4 << 20},
		{"no limit, 2^63-1 as a command, nothing sent", -1, secLongHeader(FlagCommand, 1<<63-1), 0, io.ErrUnexpectedEOF, 4 << 20},
		{"no limit, 2^40, 5 MiB sent", -1, AppendHeader(nil, 0, 1<<40), 5 << 20, io.ErrUnexpectedEOF, 32 << 20},
		{"1 MiB limit, 2^40", 1 << 20, AppendHeader(nil, 0, 1<<40), 1000, ErrMessageTooLarge, 64 << 10},
		{"1 MiB limit, just past it", 1 << 20, AppendHeader(nil, 0, 1<<20+curveMessageMin+1), 1000, ErrMessageTooLarge, 64 << 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stream := append(append([]byte(nil), tc.hdr...), bytes.Repeat([]byte{'a'}, tc.sent)...)
			_, rcv := secOpenCodecs()
			rd := NewReader(bytes.NewReader(stream), tc.maxSize)
			rd.seal(rcv)
			m := wire.Get()
			defer m.Release()
			before := secHeapAllocs()
			_, err := rd.ReadFrame(m)
			used := secHeapAllocs() - before
			require.ErrorIs(t, err, tc.want)
			assert.Less(t, used, tc.maxAlloc, "allocated %d bytes for %d that arrived", used, tc.sent)
		})
	}
}

// TestCurveInitiateReplayRefused replays what a client sent in a real
// CURVE handshake, HELLO and INITIATE, to the same server on a new
// connection. libzmq 4.3 draws a fresh cookie key for every WELCOME
// (curve_server_t::produce_welcome), so the replayed INITIATE's cookie does
// not open and the handshake fails: someone who recorded a handshake
// cannot pass for its client, even without being able to read or send a
// message. zrouter's server too seals each cookie under a key of its
// connection's own (a shared key, changed each minute, let this replay
// through before).
func TestCurveInitiateReplayRefused(t *testing.T) {
	t.Parallel()
	server, client := curvePair(t)
	asked := 0
	scfg := &Config{SocketType: ROUTER, Mechanism: server, Timeout: hsTimeout, MaxSize: -1,
		Authenticate: func(*AuthRequest) AuthReply { asked++; return AuthReply{Status: 200} }}
	sc, cc := pipeConns(t)
	rec := &secRecConn{Conn: cc}
	hp := handshakeOn(sc, rec, scfg, &Config{SocketType: DEALER, Identity: []byte("victim"), Mechanism: client, Timeout: hsTimeout, MaxSize: -1})
	require.NoError(t, hp.serr)
	require.NoError(t, hp.cerr)
	require.Equal(t, 1, asked)

	ours, theirs := pipeConns(t)
	done := startHandshake(ours, scfg)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		_, _ = io.Copy(io.Discard, theirs)
	}()
	_, _ = theirs.Write(rec.sent())
	res := <-done
	_ = theirs.Close()
	<-drained
	var pe *ProtocolError
	require.ErrorAs(t, res.err, &pe, "a replayed INITIATE must not make a session")
	assert.Equal(t, 1, asked, "nor reach the authenticator")
}
