package interop

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zrouter/zrouter/socket"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// The chaos test: many peers of three kinds stream numbered messages to a
// Router and get numbered replies back, while random peers are killed
// abruptly and come back under the same routing id.
//
// Every connection of a peer is an incarnation with its own epoch number.
// A peer's messages are [epoch, seq, payload] with seq counting from 0 in
// each incarnation. The router side checks, per (id, epoch), that seqs
// arrive in order without a gap, and answers each message of the current
// incarnation with [epoch, rseq], its own count for that incarnation; the
// peer checks those the same way. Messages in flight when an incarnation
// is killed may be lost, but never reordered, duplicated or spliced, and a
// killed incarnation's stream is a gap-free prefix of what it sent. The
// last round kills nothing, and every surviving incarnation must then get
// everything through, both ways.

const (
	chaosLibzmq   = 25 // libzmq DEALERs
	chaosZrouter  = 25 // zrouter dealer.Dealers
	chaosRaw      = 4  // raw TCP peers that die in the middle of a frame
	chaosRounds   = 20
	chaosPerRound = 100 // messages each peer sends per round
	chaosKillRate = 0.3
)

// chaosKind is the kind of socket that plays a peer.
type chaosKind int

const (
	chaosKindLibzmq chaosKind = iota
	chaosKindZrouter
	chaosKindRaw
)

// chaosSlot is the router side's view of one routing id.
type chaosSlot struct {
	cur     uint32        // the incarnation now allowed to connect
	up      bool          // between a connect and a disconnect notification
	changed chan struct{} // closed and replaced when up changes
	got     map[uint32]uint32
	replied map[uint32]uint32
}

// chaosBoard is shared by the checker goroutine and the peers. The
// checker holds mu while it handles a message, including the Send of its
// reply; a peer takes mu to announce a new incarnation. So a reply
// labelled with epoch e is only ever sent while e is the current
// incarnation, and can reach no other.
type chaosBoard struct {
	mu    sync.Mutex
	slots map[string]*chaosSlot
	errs  []string
}

// failLocked records a violation; the test reports them at the end.
func (b *chaosBoard) failLocked(format string, args ...any) {
	if len(b.errs) < 20 {
		b.errs = append(b.errs, fmt.Sprintf(format, args...))
	}
}

// begin makes epoch the current incarnation of id.
func (b *chaosBoard) begin(id string, epoch uint32) {
	b.mu.Lock()
	b.slots[id].cur = epoch
	b.mu.Unlock()
}

// waitUp waits until the router has notified that id is connected (up) or
// gone (!up).
func (b *chaosBoard) waitUp(id string, up bool) error {
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	for {
		b.mu.Lock()
		s := b.slots[id]
		now, ch := s.up, s.changed
		b.mu.Unlock()
		if now == up {
			return nil
		}
		select {
		case <-ch:
		case <-timer.C:
			return fmt.Errorf("%s: router never saw it %s", id, map[bool]string{true: "connect", false: "disconnect"}[up])
		}
	}
}

// check runs the router side until ctx ends or r closes.
func (b *chaosBoard) check(ctx context.Context, r *router.Router) {
	for {
		m, err := r.Recv(ctx)
		if err != nil {
			return
		}
		b.handle(ctx, r, m)
		m.Release()
	}
}

// handle checks one message (or notification) and answers it.
func (b *chaosBoard) handle(ctx context.Context, r *router.Router, m *wire.Msg) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := string(m.Frames[0])
	s := b.slots[id]
	if s == nil {
		b.failLocked("message from unknown id %q", id)
		return
	}
	if len(m.Frames) == 2 && len(m.Frames[1]) == 0 {
		// WithNotify: connect and disconnect alternate for one id.
		s.up = !s.up
		close(s.changed)
		s.changed = make(chan struct{})
		return
	}
	epoch, seq, err := chaosParse(m.Frames[1:])
	if err != nil {
		b.failLocked("%s: %v", id, err)
		return
	}
	if want := s.got[epoch]; seq != want {
		b.failLocked("%s epoch %d: got message %d, want %d", id, epoch, seq, want)
	}
	s.got[epoch] = seq + 1
	if epoch != s.cur {
		return // a late message of a killed incarnation
	}
	rseq := s.replied[epoch]
	s.replied[epoch]++
	reply := wire.Get()
	reply.AppendString(id)
	reply.AppendFrame(binary.BigEndian.AppendUint32(nil, epoch))
	reply.AppendFrame(binary.BigEndian.AppendUint32(nil, rseq))
	if err := r.Send(ctx, reply); err != nil {
		reply.Release()
		if ctx.Err() == nil {
			b.failLocked("%s: reply: %v", id, err)
		}
	}
}

// chaosMsg returns message seq of incarnation epoch: [epoch, seq, payload],
// with a payload of 0 to 699 bytes (so some frames use the long form) that
// depends on seq.
func chaosMsg(epoch, seq uint32) [][]byte {
	payload := make([]byte, (seq*131)%700)
	for i := range payload {
		payload[i] = byte(seq + uint32(i))
	}
	return [][]byte{
		binary.BigEndian.AppendUint32(nil, epoch),
		binary.BigEndian.AppendUint32(nil, seq),
		payload,
	}
}

// chaosParse checks a message made by chaosMsg and returns its numbers.
func chaosParse(frames [][]byte) (epoch, seq uint32, err error) {
	if len(frames) != 3 || len(frames[0]) != 4 || len(frames[1]) != 4 {
		return 0, 0, fmt.Errorf("malformed message: %d frames", len(frames))
	}
	epoch = binary.BigEndian.Uint32(frames[0])
	seq = binary.BigEndian.Uint32(frames[1])
	want := chaosMsg(epoch, seq)[2]
	if string(frames[2]) != string(want) {
		return 0, 0, fmt.Errorf("epoch %d message %d: corrupt payload of %d bytes, want %d", epoch, seq, len(frames[2]), len(want))
	}
	return epoch, seq, nil
}

// chaosReplies checks the replies one incarnation receives.
type chaosReplies struct {
	epoch uint32
	mu    sync.Mutex
	n     uint32
	err   error
	more  chan struct{} // capacity 1: a reply came since the last wait
}

func newChaosReplies(epoch uint32) *chaosReplies {
	return &chaosReplies{epoch: epoch, more: make(chan struct{}, 1)}
}

// wait waits for a reply to come after the last wait, or for a while.
func (c *chaosReplies) wait() {
	t := time.NewTimer(ioTimeout)
	defer t.Stop()
	select {
	case <-c.more:
	case <-t.C:
	}
}

// check takes in one reply, which must be the next of this incarnation.
func (c *chaosReplies) check(frames [][]byte) {
	defer func() {
		select {
		case c.more <- struct{}{}:
		default:
		}
	}()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	if len(frames) != 2 || len(frames[0]) != 4 || len(frames[1]) != 4 {
		c.err = fmt.Errorf("epoch %d: malformed reply of %d frames", c.epoch, len(frames))
		return
	}
	epoch, rseq := binary.BigEndian.Uint32(frames[0]), binary.BigEndian.Uint32(frames[1])
	if epoch != c.epoch || rseq != c.n {
		c.err = fmt.Errorf("epoch %d: got reply %d of epoch %d, want reply %d", c.epoch, rseq, epoch, c.n)
		return
	}
	c.n++
}

// count returns the replies taken in so far, or the first violation.
func (c *chaosReplies) count() (uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n, c.err
}

// chaosLink is one incarnation's connection. Its methods are called by
// the peer's goroutine only.
type chaosLink interface {
	send(frames [][]byte) error
	// drain takes in the replies that have arrived; with wait, it first
	// waits a little for one.
	drain(wait bool) error
	replies() *chaosReplies
	// kill ends the connection abruptly; a raw link first writes the
	// first half of next.
	kill(next [][]byte)
}

// chaosZMQLink is a libzmq DEALER.
type chaosZMQLink struct {
	s   *zmq.Socket
	rep *chaosReplies
}

func newChaosZMQLink(zctx *zmq.Context, id, endpoint string, epoch uint32) (*chaosZMQLink, error) {
	s, err := zctx.NewSocket(zmq.DEALER)
	if err != nil {
		return nil, err
	}
	l := &chaosZMQLink{s: s, rep: newChaosReplies(epoch)}
	for _, err := range []error{
		s.SetLinger(0),
		s.SetRcvtimeo(ioTimeout),
		s.SetSndtimeo(ioTimeout),
		s.SetIdentity(id),
		s.Connect(endpoint),
	} {
		if err != nil {
			_ = s.Close()
			return nil, err
		}
	}
	return l, nil
}

func (l *chaosZMQLink) send(frames [][]byte) error {
	_, err := l.s.SendMessage(frames)
	return err
}

func (l *chaosZMQLink) drain(wait bool) error {
	flags := zmq.DONTWAIT
	if wait {
		flags = 0
	}
	for {
		msg, err := l.s.RecvMessageBytes(flags)
		if err != nil {
			if !wait && flowIsEAGAIN(err) {
				return nil
			}
			return err
		}
		l.rep.check(msg)
		flags, wait = zmq.DONTWAIT, false
	}
}

func (l *chaosZMQLink) replies() *chaosReplies { return l.rep }

// kill closes the socket with linger 0: what libzmq has not written yet
// is gone.
func (l *chaosZMQLink) kill([][]byte) { _ = l.s.Close() }

// chaosDealerLink is a zrouter dealer.Dealer with a goroutine that
// receives.
type chaosDealerLink struct {
	d    *dealer.Dealer
	rep  *chaosReplies
	done chan struct{}
}

func newChaosDealerLink(id, endpoint string, epoch uint32) (*chaosDealerLink, error) {
	d, err := dealer.New(socket.WithRoutingID([]byte(id)))
	if err != nil {
		return nil, err
	}
	if err := d.Connect(endpoint); err != nil {
		_ = d.Close()
		return nil, err
	}
	l := &chaosDealerLink{d: d, rep: newChaosReplies(epoch), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			m, err := d.Recv(context.Background())
			if err != nil {
				return // closed
			}
			l.rep.check(m.Frames)
			m.Release()
		}
	}()
	return l, nil
}

func (l *chaosDealerLink) send(frames [][]byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	return l.d.SendFrames(ctx, frames...)
}

func (l *chaosDealerLink) drain(wait bool) error {
	if wait {
		l.rep.wait()
	}
	return nil
}

func (l *chaosDealerLink) replies() *chaosReplies { return l.rep }

// kill closes the Dealer, dropping what it has queued.
func (l *chaosDealerLink) kill([][]byte) {
	_ = l.d.Close()
	<-l.done
}

// chaosRawLink is a plain TCP connection that did the ZMTP handshake as a
// DEALER, with a goroutine that reads replies.
type chaosRawLink struct {
	c    net.Conn
	rep  *chaosReplies
	done chan struct{}
}

func newChaosRawLink(id, endpoint string, epoch uint32) (*chaosRawLink, error) {
	c, err := net.Dial("tcp", strings.TrimPrefix(endpoint, "tcp://"))
	if err != nil {
		return nil, err
	}
	sess, err := zmtp.Handshake(c, &zmtp.Config{SocketType: zmtp.DEALER, Identity: []byte(id), Timeout: ioTimeout, MaxSize: -1})
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	l := &chaosRawLink{c: c, rep: newChaosReplies(epoch), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		rd := sess.Reader
		m := wire.Get()
		defer func() { m.Release() }()
		for {
			h, err := rd.ReadHeader()
			if err != nil {
				return // closed
			}
			if h.IsCommand() {
				if _, err := rd.ReadCommand(h); err != nil {
					return
				}
				continue
			}
			if err := rd.ReadFrameInto(m, h); err != nil {
				return
			}
			if !h.More() {
				l.rep.check(m.Frames)
				m.Release()
				m = wire.Get()
			}
		}
	}()
	return l, nil
}

func (l *chaosRawLink) send(frames [][]byte) error {
	if err := l.c.SetWriteDeadline(time.Now().Add(ioTimeout)); err != nil {
		return err
	}
	_, err := l.c.Write(zmtp.AppendMessage(nil, frames))
	return err
}

func (l *chaosRawLink) drain(wait bool) error {
	if wait {
		l.rep.wait()
	}
	return nil
}

func (l *chaosRawLink) replies() *chaosReplies { return l.rep }

// kill writes the first half of next, which ends inside a frame, and
// closes the connection.
func (l *chaosRawLink) kill(next [][]byte) {
	b := zmtp.AppendMessage(nil, next)
	_, _ = l.c.Write(b[:len(b)/2])
	_ = l.c.Close()
	<-l.done
}

// chaosLife records one incarnation once it has ended or the rounds are
// over.
type chaosLife struct {
	epoch   uint32
	sent    uint32
	replies uint32
	killed  bool
}

// chaosCmd tells a peer what to do in one round.
type chaosCmd struct {
	kill   bool
	killAt int  // how many messages to send before the kill
	final  bool // wait until every reply has come
}

// chaosPeer is one routing id, played by one goroutine through its
// successive incarnations.
type chaosPeer struct {
	id       string
	kind     chaosKind
	endpoint string
	zctx     *zmq.Context
	board    *chaosBoard

	// Owned by the peer's goroutine while it runs; read by the test after
	// a round's result arrives.
	epoch uint32
	sent  uint32
	link  chaosLink
	lives []chaosLife
	kills int
}

// connect starts the next incarnation and waits until the router has
// admitted it, so that a kill never hits a connection the router has not
// seen and the next incarnation is never refused as a duplicate.
func (p *chaosPeer) connect() error {
	p.epoch++
	p.sent = 0
	p.board.begin(p.id, p.epoch)
	var err error
	switch p.kind {
	case chaosKindLibzmq:
		p.link, err = newChaosZMQLink(p.zctx, p.id, p.endpoint, p.epoch)
	case chaosKindZrouter:
		p.link, err = newChaosDealerLink(p.id, p.endpoint, p.epoch)
	default:
		p.link, err = newChaosRawLink(p.id, p.endpoint, p.epoch)
	}
	if err != nil {
		p.link = nil
		return fmt.Errorf("%s epoch %d: connect: %w", p.id, p.epoch, err)
	}
	return p.board.waitUp(p.id, true)
}

// end kills the current incarnation and records it.
func (p *chaosPeer) end(killed bool) {
	if p.link == nil {
		return
	}
	p.link.kill(chaosMsg(p.epoch, p.sent))
	n, _ := p.link.replies().count()
	p.lives = append(p.lives, chaosLife{epoch: p.epoch, sent: p.sent, replies: n, killed: killed})
	p.link = nil
}

// round sends this round's messages, killing and replacing the
// incarnation on the way if told to; in the final round it then waits for
// every reply.
func (p *chaosPeer) round(cmd chaosCmd) error {
	for i := range chaosPerRound {
		if cmd.kill && i == cmd.killAt {
			p.end(true)
			p.kills++
			if err := p.board.waitUp(p.id, false); err != nil {
				return err
			}
			if err := p.connect(); err != nil {
				return err
			}
		}
		if err := p.link.send(chaosMsg(p.epoch, p.sent)); err != nil {
			return fmt.Errorf("%s epoch %d: send %d: %w", p.id, p.epoch, p.sent, err)
		}
		p.sent++
		if err := p.link.drain(false); err != nil {
			return fmt.Errorf("%s epoch %d: receive: %w", p.id, p.epoch, err)
		}
	}
	if !cmd.final {
		return nil
	}
	deadline := time.Now().Add(waitLimit)
	for {
		n, err := p.link.replies().count()
		if err != nil {
			return fmt.Errorf("%s: %w", p.id, err)
		}
		if n == p.sent {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s epoch %d: %d replies of %d", p.id, p.epoch, n, p.sent)
		}
		if err := p.link.drain(true); err != nil {
			return fmt.Errorf("%s epoch %d: receive: %w", p.id, p.epoch, err)
		}
	}
}

// run plays the peer: it connects, then does one round per command, and
// reports each round's outcome. It ends the last incarnation when cmds
// closes.
func (p *chaosPeer) run(cmds <-chan chaosCmd, results chan<- error) {
	defer p.end(false)
	err := p.connect()
	results <- err
	for cmd := range cmds {
		if err == nil {
			err = p.round(cmd)
		}
		results <- err
	}
}

// TestChaosKillAndReconnect: see the comment at the top of the file. The
// seed of the run is logged; the kills, and where in the stream they
// happen, follow from it.
//
// Not parallel: it churns connections and would slow the others' timing.
func TestChaosKillAndReconnect(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))

	r := newRouter(t, socket.WithSendHWM(0), router.WithNotify(router.NotifyConnect|router.NotifyDisconnect))
	board := &chaosBoard{slots: map[string]*chaosSlot{}}
	ctx, cancel := context.WithCancel(context.Background())
	checkerDone := make(chan struct{})
	go func() {
		defer close(checkerDone)
		board.check(ctx, r)
	}()
	t.Cleanup(func() {
		cancel()
		<-checkerDone
	})
	zctx := newContext(t)

	var peers []*chaosPeer
	add := func(kind chaosKind, n int, prefix string) {
		for i := range n {
			id := fmt.Sprintf("chaos-%s-%02d", prefix, i)
			board.slots[id] = &chaosSlot{changed: make(chan struct{}), got: map[uint32]uint32{}, replied: map[uint32]uint32{}}
			peers = append(peers, &chaosPeer{id: id, kind: kind, endpoint: r.Addr(), zctx: zctx, board: board})
		}
	}
	add(chaosKindLibzmq, chaosLibzmq, "zmq")
	add(chaosKindZrouter, chaosZrouter, "zd")
	add(chaosKindRaw, chaosRaw, "raw")

	cmds := make([]chan chaosCmd, len(peers))
	results := make(chan error, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		cmds[i] = make(chan chaosCmd, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.run(cmds[i], results)
		}()
	}
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			for _, c := range cmds {
				close(c)
			}
			wg.Wait()
		})
	}
	t.Cleanup(stop) // before the libzmq context ends
	collect := func(what string) {
		t.Helper()
		var errs []error
		for range peers {
			select {
			case err := <-results:
				if err != nil {
					errs = append(errs, err)
				}
			case <-time.After(3 * waitLimit):
				require.FailNow(t, what+": a peer is stuck")
			}
		}
		require.NoError(t, errors.Join(errs...), what)
	}
	collect("connect")

	for round := range chaosRounds {
		final := round == chaosRounds-1
		for i := range peers {
			cmd := chaosCmd{final: final}
			if !final && rng.Float64() < chaosKillRate {
				cmd.kill, cmd.killAt = true, rng.IntN(chaosPerRound)
			}
			cmds[i] <- cmd
		}
		collect(fmt.Sprintf("round %d", round))
	}

	// Every peer is connected and done: the table holds exactly them.
	st := r.Stats()
	var want []string
	for _, p := range peers {
		want = append(want, p.id)
	}
	sort.Strings(want)
	assert.Equal(t, len(peers), st.Peers)
	assert.Equal(t, want, flowIDs(r.Peers()))
	assert.Zero(t, st.DroppedHWM)
	assert.Zero(t, st.RefusedDuplicateID, "no incarnation met its predecessor")

	board.mu.Lock()
	errs := append([]string(nil), board.errs...)
	var sent, got, kills, lives int
	for _, p := range peers {
		s := board.slots[p.id]
		kills += p.kills
		all := append(append([]chaosLife(nil), p.lives...), chaosLife{epoch: p.epoch, sent: p.sent})
		for _, l := range all {
			lives++
			sent += int(l.sent)
			got += int(s.got[l.epoch])
			if l.killed {
				assert.LessOrEqual(t, s.got[l.epoch], l.sent, "%s epoch %d: received more than sent", p.id, l.epoch)
				continue
			}
			// The survivor: everything through, both ways.
			n, err := p.link.replies().count()
			assert.NoError(t, err, "%s epoch %d replies", p.id, l.epoch)
			assert.Equal(t, l.sent, s.got[l.epoch], "%s epoch %d: messages received by the router", p.id, l.epoch)
			assert.Equal(t, l.sent, s.replied[l.epoch], "%s epoch %d: replies sent by the router", p.id, l.epoch)
			assert.Equal(t, l.sent, n, "%s epoch %d: replies received by the peer", p.id, l.epoch)
		}
	}
	board.mu.Unlock()
	assert.Empty(t, errs, "stream violations seen by the router")
	t.Logf("chaos: %d peers (%d libzmq, %d zrouter, %d raw), %d rounds, %d kills, %d connections; %d messages sent, %d received by the router",
		len(peers), chaosLibzmq, chaosZrouter, chaosRaw, chaosRounds, kills, lives, sent, got)
	assert.Equal(t, uint64(lives), r.Stats().Connected, "one admitted connection per incarnation")

	stop()
	testutil.CheckFor(t, waitLimit, func() bool { return r.Stats().Peers == 0 }, "every peer gone after the end")
}
