package interop

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/pull"
	"github.com/zrouter/zrouter/push"
	"github.com/zrouter/zrouter/socket"
)

// The PUSH/PULL chaos test: a pipeline whose peers are killed (closed with
// linger 0, as a crashing process loses what it had queued) and come back
// as new incarnations, with libzmq and zrouter sockets side by side.
//
//   - fan-in: PUSH peers stream [id, epoch, seq] to a bound zrouter PULL.
//     Per incarnation the sink sees a gap-free prefix of what was sent, in
//     order; a killed one loses only its tail (what its own queue and the
//     connection held when it died), which is what a libzmq PUSH loses too;
//     a survivor loses nothing.
//   - fan-out: a bound zrouter PUSH streams numbered messages to PULL peers.
//     Each incarnation receives increasing numbers (order per pair). A kill
//     loses what the PUSH had queued for that peer (counted in
//     DroppedClosed, as libzmq destroys the queue of a peer that goes) and
//     what was on the killed connection, written and not yet read; nothing
//     else. In the last round nobody is killed, and every message of it
//     reaches a live PULL.

const (
	ppChaosPeers    = 8 // of each kind (libzmq, zrouter), each way
	ppChaosRounds   = 10
	ppChaosPerRound = 200
	ppChaosKillRate = 0.3
)

func ppChaosMsg(id string, epoch, seq uint32) [][]byte {
	var b [8]byte
	binary.BigEndian.PutUint32(b[:4], epoch)
	binary.BigEndian.PutUint32(b[4:], seq)
	return [][]byte{[]byte(id), b[:]}
}

// ppChaosSender is one incarnation of a PUSH peer.
type ppChaosSender interface {
	send(frames [][]byte) error
	kill()
}

type ppZmqPush struct{ s *zmq.Socket }

func (p ppZmqPush) send(frames [][]byte) error { _, err := p.s.SendMessage(frames); return err }
func (p ppZmqPush) kill()                      { _ = p.s.Close() }

type ppZrPush struct{ p *push.Push }

func (p ppZrPush) send(frames [][]byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	return p.p.SendFrames(ctx, frames...)
}
func (p ppZrPush) kill() { _ = p.p.Close() }

func TestChaosPushPullFanIn(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	zctx := newContext(t)
	sink := pullNew(t)
	require.NoError(t, sink.Bind("tcp://127.0.0.1:0"))

	type life struct {
		sent   uint32
		killed bool
	}
	var (
		mu   sync.Mutex
		got  = map[string]map[uint32]uint32{} // id, epoch: next seq
		errs []string
	)
	var total atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := sink.Recv(ctx)
			if err != nil {
				return
			}
			id := string(m.Frames[0])
			epoch := binary.BigEndian.Uint32(m.Frames[1][:4])
			seq := binary.BigEndian.Uint32(m.Frames[1][4:])
			m.Release()
			mu.Lock()
			if got[id] == nil {
				got[id] = map[uint32]uint32{}
			}
			if want := got[id][epoch]; seq != want && len(errs) < 20 {
				errs = append(errs, fmt.Sprintf("%s epoch %d: seq %d, want %d", id, epoch, seq, want))
			}
			got[id][epoch] = seq + 1
			mu.Unlock()
			total.Add(1)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })

	ids := make([]string, 2*ppChaosPeers)
	lives := make([][]life, len(ids))
	cur := make([]ppChaosSender, len(ids))
	connect := func(i int) {
		if i < ppChaosPeers {
			s, err := zctx.NewSocket(zmq.PUSH)
			require.NoError(t, err)
			require.NoError(t, s.SetLinger(0))
			require.NoError(t, s.SetSndtimeo(ioTimeout))
			require.NoError(t, s.Connect(sink.Addr()))
			cur[i] = ppZmqPush{s}
		} else {
			p, err := push.New(socket.WithLinger(0))
			require.NoError(t, err)
			require.NoError(t, p.Connect(sink.Addr()))
			cur[i] = ppZrPush{p}
		}
		lives[i] = append(lives[i], life{})
	}
	for i := range ids {
		ids[i] = fmt.Sprintf("zmq-%02d", i)
		if i >= ppChaosPeers {
			ids[i] = fmt.Sprintf("zr-%02d", i-ppChaosPeers)
		}
		connect(i)
	}
	t.Cleanup(func() {
		for _, s := range cur {
			if s != nil {
				s.kill()
			}
		}
	})

	kills := 0
	for round := range ppChaosRounds {
		final := round == ppChaosRounds-1
		var wg sync.WaitGroup
		errc := make(chan error, len(ids))
		for i := range ids {
			killAt := -1
			if !final && rng.Float64() < ppChaosKillRate {
				killAt = rng.IntN(ppChaosPerRound)
				kills++
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				l := &lives[i][len(lives[i])-1]
				for k := range ppChaosPerRound {
					if k == killAt {
						cur[i].kill()
						cur[i] = nil
						l.killed = true
						return
					}
					if err := cur[i].send(ppChaosMsg(ids[i], uint32(len(lives[i])-1), l.sent)); err != nil {
						errc <- fmt.Errorf("%s: %w", ids[i], err)
						return
					}
					l.sent++
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			require.NoError(t, err)
		}
		for i := range ids {
			if cur[i] == nil {
				connect(i)
			}
		}
	}

	// Every survivor's whole stream arrives.
	var sent, lost int
	survivors := 0
	for i := range ids {
		l := lives[i][len(lives[i])-1]
		survivors += int(l.sent)
	}
	testutil.CheckFor(t, 3*waitLimit, func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for i, id := range ids {
			n += int(got[id][uint32(len(lives[i])-1)])
		}
		return n == survivors
	}, "every survivor's messages")
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, errs, "stream violations")
	for i, id := range ids {
		for e, l := range lives[i] {
			sent += int(l.sent)
			g := got[id][uint32(e)]
			assert.LessOrEqual(t, g, l.sent, "%s epoch %d: more than sent", id, e)
			if !l.killed {
				assert.Equal(t, l.sent, g, "%s epoch %d: a live incarnation lost messages", id, e)
			}
			lost += int(l.sent - g)
		}
	}
	t.Logf("fan-in: %d PUSH peers, %d rounds, %d kills; %d sent, %d received, %d lost with killed incarnations",
		len(ids), ppChaosRounds, kills, sent, total.Load(), lost)
}

// ppChaosReceiver is one incarnation of a PULL peer, with a goroutine that
// receives and checks the order.
type ppChaosReceiver struct {
	kill  func()
	got   atomic.Int64 // messages received
	final atomic.Int64 // of them, of the last round
	done  chan struct{}
}

func TestChaosPushPullFanOut(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	zctx := newContext(t)
	vent := pushNew(t)
	require.NoError(t, vent.Bind("tcp://127.0.0.1:0"))
	n := 2 * ppChaosPeers

	var finalStart atomic.Uint32
	finalStart.Store(^uint32(0))
	var verrs struct {
		sync.Mutex
		list []string
	}
	violation := func(format string, args ...any) {
		verrs.Lock()
		if len(verrs.list) < 20 {
			verrs.list = append(verrs.list, fmt.Sprintf(format, args...))
		}
		verrs.Unlock()
	}
	// check records one received message of incarnation r.
	check := func(r *ppChaosReceiver, name string, prev *int64, frames [][]byte) {
		seq := int64(binary.BigEndian.Uint32(frames[0]))
		if seq <= *prev {
			violation("%s: %d after %d", name, seq, *prev)
		}
		*prev = seq
		r.got.Add(1)
		if uint32(seq) >= finalStart.Load() {
			r.final.Add(1)
		}
	}
	connect := func(i int) *ppChaosReceiver {
		r := &ppChaosReceiver{done: make(chan struct{})}
		name := fmt.Sprintf("pull %d", i)
		if i < ppChaosPeers {
			s, err := zctx.NewSocket(zmq.PULL)
			require.NoError(t, err)
			require.NoError(t, s.SetLinger(0))
			require.NoError(t, s.SetRcvtimeo(20*time.Millisecond))
			require.NoError(t, s.Connect(vent.Addr()))
			var quit atomic.Bool
			r.kill = func() { quit.Store(true); <-r.done }
			go func() {
				defer close(r.done)
				defer func() { _ = s.Close() }()
				prev := int64(-1)
				for !quit.Load() {
					msg, err := s.RecvMessageBytes(0)
					if err != nil {
						if !isErrno(err, zmq.Errno(syscall.EAGAIN)) {
							violation("%s: %v", name, err)
							return
						}
						continue
					}
					check(r, name, &prev, msg)
				}
			}()
		} else {
			q, err := pull.New(socket.WithLinger(0))
			require.NoError(t, err)
			require.NoError(t, q.Connect(vent.Addr()))
			r.kill = func() { _ = q.Close(); <-r.done }
			go func() {
				defer close(r.done)
				prev := int64(-1)
				for {
					m, err := q.Recv(context.Background())
					if err != nil {
						if !errors.Is(err, net.ErrClosed) {
							violation("%s: %v", name, err)
						}
						return
					}
					check(r, name, &prev, m.Frames)
					m.Release()
				}
			}()
		}
		return r
	}
	cur := make([]*ppChaosReceiver, n)
	var dead []*ppChaosReceiver
	for i := range cur {
		cur[i] = connect(i)
	}
	t.Cleanup(func() {
		for _, r := range cur {
			r.kill()
		}
	})

	ctx := testutil.Context(t, 5*waitLimit)
	var seq uint32
	kills := 0
	var beforeFinal int64
	for round := range ppChaosRounds {
		final := round == ppChaosRounds-1
		if final {
			// The final round starts with every peer up and no pipe of a
			// killed one left, so that nothing of it can be lost.
			// Every live incarnation is up once it has received a message
			// sent from now on; then Peers counts no killed one.
			marks := make([]int64, n)
			for i, r := range cur {
				marks[i] = r.got.Load()
			}
			testutil.CheckFor(t, waitLimit, func() bool {
				require.NoError(t, vent.SendFrames(ctx, binary.BigEndian.AppendUint32(nil, seq)))
				seq++
				for i, r := range cur {
					if r.got.Load() == marks[i] {
						return false
					}
				}
				return true
			}, "every live PULL up")
			testutil.CheckFor(t, waitLimit, func() bool {
				s := vent.Stats()
				return s.Peers == n && s.Pipes == n
			}, "the killed PULLs' pipes gone")
			finalStart.Store(seq)
			st := vent.Stats()
			beforeFinal = int64(st.MsgsOut)
		}
		for i := range cur {
			if !final && rng.Float64() < ppChaosKillRate {
				old := cur[i]
				old.kill()
				dead = append(dead, old)
				cur[i] = connect(i)
				kills++
			}
		}
		for range ppChaosPerRound * n / 4 {
			require.NoError(t, vent.SendFrames(ctx, binary.BigEndian.AppendUint32(nil, seq)))
			seq++
		}
		if !final {
			// Kill some in the middle of the stream too.
			for i := range cur {
				if rng.Float64() < ppChaosKillRate/2 {
					cur[i].kill()
					dead = append(dead, cur[i])
					cur[i] = connect(i)
					kills++
				}
			}
		}
		for range ppChaosPerRound * n * 3 / 4 {
			require.NoError(t, vent.SendFrames(ctx, binary.BigEndian.AppendUint32(nil, seq)))
			seq++
		}
	}
	finalCount := int64(seq - finalStart.Load())
	testutil.CheckFor(t, 3*waitLimit, func() bool {
		var got int64
		for _, r := range cur {
			got += r.final.Load()
		}
		return got == finalCount
	}, "every message of the last round reaches a live PULL")

	verrs.Lock()
	assert.Empty(t, verrs.list, "violations")
	verrs.Unlock()
	var received int64
	for _, r := range append(append([]*ppChaosReceiver(nil), dead...), cur...) {
		received += r.got.Load()
	}
	// The writers' counters follow their writes, which may end after the
	// PULLs have read.
	testutil.CheckFor(t, waitLimit, func() bool { return vent.Stats().Queued == 0 }, "writes counted")
	st := vent.Stats()
	assert.Equal(t, st.DroppedClosed, st.Dropped(), "only queues of gone peers are dropped: %+v", st)
	// Every message went out, or was dropped with its pipe.
	assert.Equal(t, uint64(seq), st.MsgsOut+st.DroppedClosed, "%+v", st)
	inflight := int64(st.MsgsOut) - received
	assert.GreaterOrEqual(t, inflight, int64(0))
	t.Logf("fan-out: %d PULL peers, %d rounds, %d kills; %d sent, %d received, %d dropped with their pipe, %d lost in flight on killed connections (written before the final round: %d)",
		n, ppChaosRounds, kills, seq, received, st.DroppedClosed, inflight, beforeFinal)
}
