package core_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
)

// The inproc chaos test, with the invariants of interop's chaos test:
// dealers stream numbered messages to a router over inproc and get
// numbered replies back, while random dealers are closed abruptly, or
// disconnect and connect again, and come back under the same routing id
// as a new incarnation (epoch). Per (id, epoch) the router sees a
// gap-free, in-order prefix of what was sent, and each incarnation sees a
// gap-free, in-order run of the replies to it. Messages in flight at a
// kill may be lost, never reordered, duplicated or spliced. The last round
// kills nothing, and everything then gets through both ways. goleak, in
// TestMain, checks that no goroutine is left.

const (
	inprocChaosPeers    = 24
	inprocChaosRounds   = 15
	inprocChaosPerRound = 200
	inprocChaosKillRate = 0.3
)

// inprocBoard is the router side's view: per id, the current epoch and
// what it got and replied per epoch. The checker holds mu while it handles
// a message, the Send of its reply included, and a peer takes mu to begin
// an incarnation, so a reply for epoch e goes out only while e is current.
type inprocBoard struct {
	mu      sync.Mutex
	cur     map[string]uint32
	got     map[string]map[uint32]uint32
	replied map[string]map[uint32]uint32
	errs    []string
}

func (b *inprocBoard) begin(id string, epoch uint32) {
	b.mu.Lock()
	b.cur[id] = epoch
	b.mu.Unlock()
}

func (b *inprocBoard) failLocked(format string, args ...any) {
	if len(b.errs) < 20 {
		b.errs = append(b.errs, fmt.Sprintf(format, args...))
	}
}

func (b *inprocBoard) handle(ctx context.Context, r *router.Router, m *wire.Msg) {
	defer m.Release()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(m.Frames) != 3 || len(m.Frames[1]) != 4 || len(m.Frames[2]) != 4 {
		b.failLocked("malformed message %q", m.Frames)
		return
	}
	id := string(m.Frames[0])
	epoch, seq := binary.BigEndian.Uint32(m.Frames[1]), binary.BigEndian.Uint32(m.Frames[2])
	if b.got[id] == nil {
		b.got[id], b.replied[id] = map[uint32]uint32{}, map[uint32]uint32{}
	}
	if want := b.got[id][epoch]; seq != want {
		b.failLocked("%s epoch %d: got seq %d, want %d", id, epoch, seq, want)
		return
	}
	b.got[id][epoch]++
	if epoch != b.cur[id] {
		return // a past incarnation's: checked, not answered
	}
	rseq := b.replied[id][epoch]
	b.replied[id][epoch]++
	reply := wire.Get()
	reply.AppendFrame(m.Frames[0])
	binary.BigEndian.PutUint32(reply.NewFrame(4), epoch)
	binary.BigEndian.PutUint32(reply.NewFrame(4), rseq)
	if err := r.Send(ctx, reply); err != nil && !errors.Is(err, context.Canceled) {
		b.failLocked("reply to %s: %v", id, err)
	}
}

// inprocChaosPeer is one routing id and its incarnations.
type inprocChaosPeer struct {
	id, ep string
	board  *inprocBoard
	epoch  uint32
	sent   uint32 // messages of this incarnation
	acked  uint32 // replies to this incarnation
	d      *dealer.Dealer
	rnd    *rand.Rand
}

func (p *inprocChaosPeer) connect(fresh bool) error {
	p.epoch++
	p.sent, p.acked = 0, 0
	p.board.begin(p.id, p.epoch)
	if fresh {
		d, err := dealer.New(socket.WithLinger(0), socket.WithRoutingID([]byte(p.id)),
			socket.WithReconnectInterval(time.Millisecond))
		if err != nil {
			return err
		}
		p.d = d
	}
	return p.d.Connect(p.ep)
}

// kill ends the current incarnation abruptly: a Close, or a Disconnect
// that the next incarnation follows on the same socket.
func (p *inprocChaosPeer) kill() error {
	if p.rnd.IntN(2) == 0 {
		_ = p.d.Close()
		return p.connect(true)
	}
	if err := p.d.Disconnect(p.ep); err != nil {
		return err
	}
	return p.connect(false)
}

// round sends the round's messages, killing the incarnation part way
// when kill is set, and otherwise waits for every reply.
func (p *inprocChaosPeer) round(ctx context.Context, kill bool) error {
	n := inprocChaosPerRound
	if kill {
		n = p.rnd.IntN(inprocChaosPerRound)
	}
	epoch := p.epoch
	for range n {
		m := wire.Get()
		binary.BigEndian.PutUint32(m.NewFrame(4), epoch)
		binary.BigEndian.PutUint32(m.NewFrame(4), p.sent)
		if err := p.d.Send(ctx, m); err != nil {
			m.Release()
			return fmt.Errorf("%s: send: %w", p.id, err)
		}
		p.sent++
	}
	if kill {
		return p.kill()
	}
	// This incarnation's replies: in order, from 0, none of another's.
	for p.acked < p.sent {
		m, err := p.d.Recv(ctx)
		if err != nil {
			return fmt.Errorf("%s epoch %d: %d of %d replies: %w", p.id, epoch, p.acked, p.sent, err)
		}
		e, seq := binary.BigEndian.Uint32(m.Frames[0]), binary.BigEndian.Uint32(m.Frames[1])
		m.Release()
		switch {
		case e < epoch:
			// An earlier incarnation's, on a socket that disconnected
			// and connected again: it arrived before the disconnect.
		case e > epoch:
			return fmt.Errorf("%s epoch %d: a reply for epoch %d", p.id, epoch, e)
		case seq != p.acked:
			return fmt.Errorf("%s epoch %d: reply %d, want %d", p.id, epoch, seq, p.acked)
		default:
			p.acked++
		}
	}
	return nil
}

func TestInprocChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos test takes seconds")
	}
	ep := inprocName(t, "r")
	r, err := router.New(socket.WithLinger(0), router.WithHandover(true))
	require.NoError(t, err)
	require.NoError(t, r.Bind(ep))
	board := &inprocBoard{cur: map[string]uint32{}, got: map[string]map[uint32]uint32{},
		replied: map[string]map[uint32]uint32{}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	checked := make(chan struct{})
	rctx, stop := context.WithCancel(ctx)
	go func() {
		defer close(checked)
		for {
			m, err := r.Recv(rctx)
			if err != nil {
				return
			}
			board.handle(rctx, r, m)
		}
	}()

	peers := make([]*inprocChaosPeer, inprocChaosPeers)
	for i := range peers {
		peers[i] = &inprocChaosPeer{id: fmt.Sprintf("peer-%02d", i), ep: ep, board: board,
			rnd: rand.New(rand.NewPCG(uint64(i), 14))}
		require.NoError(t, peers[i].connect(true))
	}
	var kills int
	for round := range inprocChaosRounds {
		last := round == inprocChaosRounds-1
		errs := make(chan error, len(peers))
		for _, p := range peers {
			kill := !last && p.rnd.Float64() < inprocChaosKillRate
			if kill {
				kills++
			}
			go func() { errs <- p.round(ctx, kill) }()
		}
		for range peers {
			if err := <-errs; err != nil {
				board.mu.Lock()
				t.Fatalf("round %d: %v; router side: %q", round, err, board.errs)
			}
		}
	}
	stop()
	<-checked
	for _, p := range peers {
		require.NoError(t, p.d.Close())
	}
	require.NoError(t, r.Close())
	require.Empty(t, board.errs)
	require.Positive(t, kills)
	// The last round of every incarnation that lived to the end got
	// through whole.
	for _, p := range peers {
		require.GreaterOrEqual(t, board.got[p.id][p.epoch], uint32(inprocChaosPerRound), p.id)
	}
	t.Logf("%d kills over %d rounds of %d peers", kills, inprocChaosRounds, inprocChaosPeers)
}
