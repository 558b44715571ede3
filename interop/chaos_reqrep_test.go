package interop

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/internal/testutil"
	"github.com/zrouter/zrouter/rep"
	"github.com/zrouter/zrouter/req"
	"github.com/zrouter/zrouter/socket"
)

// The REQ/REP chaos test: lazy-pirate clients (REQ_RELAXED and
// REQ_CORRELATE, a deadline per attempt, then the same request again) ask
// a pool of REP servers, zrouter's and libzmq's, while servers are killed
// and brought back on their endpoints. Each client numbers its requests;
// the servers answer [number, server]. The invariant: every request gets
// exactly one accepted reply, the reply to that request, and in order: a
// late reply to an abandoned attempt, or to an earlier request, is never
// taken. Kills are paced by progress, not by the clock.

const (
	chaosRRZrouterReps = 3
	chaosRRLibzmqReps  = 2
	chaosRRZrouterReqs = 4
	chaosRRLibzmqReqs  = 2
	chaosRRRequests    = 200 // per client
	chaosRRKillEvery   = 100 // accepted replies, in all, between kills
	chaosRRAttempt     = 250 * time.Millisecond
)

// chaosRRServer is one REP endpoint and whoever serves it now.
type chaosRRServer struct {
	name     string
	endpoint string
	libzmq   bool
	zctx     *zmq.Context

	stop func() // ends the current incarnation and waits for it
}

func (s *chaosRRServer) start(t *testing.T) {
	t.Helper()
	name := s.name
	done := make(chan struct{})
	if s.libzmq {
		sock, err := s.zctx.NewSocket(zmq.REP)
		require.NoError(t, err)
		require.NoError(t, sock.SetLinger(0))
		require.NoError(t, sock.SetRcvtimeo(20*time.Millisecond))
		// libzmq lets go of the port of the socket it closed a moment ago
		// in its own time.
		testutil.CheckFor(t, waitLimit, func() bool { return sock.Bind(s.endpoint) == nil }, "bind %s", s.endpoint)
		var quit atomic.Bool
		go func() {
			defer close(done)
			defer sock.Close()
			for !quit.Load() {
				msg, err := sock.RecvMessageBytes(0)
				if err != nil {
					continue // the poll for quit
				}
				if _, err := sock.SendMessage(msg[0], name); err != nil {
					return
				}
			}
		}()
		s.stop = sync.OnceFunc(func() { quit.Store(true); <-done })
		return
	}
	r, err := rep.New(socket.WithLinger(0))
	require.NoError(t, err)
	testutil.CheckFor(t, waitLimit, func() bool { return r.Bind(s.endpoint) == nil }, "bind %s", s.endpoint)
	go func() {
		defer close(done)
		for {
			m, err := r.Recv(context.Background())
			if err != nil {
				return
			}
			n := string(m.Frames[0])
			m.Release()
			if r.SendFrames(context.Background(), []byte(n), []byte(name)) != nil {
				return
			}
		}
	}()
	s.stop = sync.OnceFunc(func() { _ = r.Close(); <-done })
}

// chaosRRClient is one lazy-pirate client's account.
type chaosRRClient struct {
	name     string
	accepted int
	retries  int
	by       map[string]int // accepted replies by server
}

func TestChaosReqRep(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	zctx := newContext(t)

	var servers []*chaosRRServer
	for i := range chaosRRZrouterReps + chaosRRLibzmqReps {
		s := &chaosRRServer{name: "rep-" + strconv.Itoa(i), endpoint: freeEndpoint(t), libzmq: i >= chaosRRZrouterReps, zctx: zctx}
		s.start(t)
		servers = append(servers, s)
	}
	// Before the libzmq context ends: the clients, then the servers.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		for _, s := range servers {
			s.stop()
		}
	})
	var endpoints []string
	for _, s := range servers {
		endpoints = append(endpoints, s.endpoint)
	}

	var progress atomic.Int64
	tick := make(chan struct{}, 1)
	accepted := func() {
		if progress.Add(1)%chaosRRKillEvery == 0 {
			select {
			case tick <- struct{}{}:
			default:
			}
		}
	}

	clients := make([]*chaosRRClient, chaosRRZrouterReqs+chaosRRLibzmqReqs)
	errs := make(chan error, len(clients))
	for i := range clients {
		c := &chaosRRClient{name: "req-" + strconv.Itoa(i), by: map[string]int{}}
		clients[i] = c
		libzmq := i >= chaosRRZrouterReqs
		wg.Go(func() {
			if libzmq {
				errs <- chaosRRLibzmqClient(ctx, zctx, c, endpoints, accepted)
			} else {
				errs <- chaosRRZrouterClient(ctx, c, endpoints, accepted)
			}
		})
	}
	clientsDone := make(chan struct{})
	go func() { wg.Wait(); close(clientsDone) }()

	// The killer: after every chaosRRKillEvery accepted replies, a random
	// server dies and comes back on its endpoint.
	kills := 0
	func() {
		for {
			select {
			case <-clientsDone:
				return
			case <-ctx.Done():
				return
			case <-tick:
				s := servers[rng.IntN(len(servers))]
				s.stop()
				s.start(t)
				kills++
			}
		}
	}()
	<-clientsDone
	for _, s := range servers {
		s.stop()
	}
	close(errs)
	var all []error
	for err := range errs {
		if err != nil {
			all = append(all, err)
		}
	}
	require.NoError(t, errors.Join(all...))
	retries := 0
	for _, c := range clients {
		assert.Equal(t, chaosRRRequests, c.accepted, "%s: one accepted reply per request", c.name)
		retries += c.retries
	}
	t.Logf("%d kills, %d retries, %d accepted replies", kills, retries, progress.Load())
	assert.Positive(t, kills, "servers were killed")
}

// chaosRRZrouterClient runs a zrouter REQ lazy pirate to the end of its
// requests, and returns the first broken invariant.
func chaosRRZrouterClient(ctx context.Context, c *chaosRRClient, endpoints []string, accepted func()) error {
	r, err := req.New(req.WithRelaxed(true), req.WithCorrelate(true), socket.WithLinger(0),
		socket.WithReconnectInterval(10*time.Millisecond), socket.WithReconnectMax(50*time.Millisecond))
	if err != nil {
		return err
	}
	defer r.Close()
	for _, ep := range endpoints {
		if err := r.Connect(ep); err != nil {
			return err
		}
	}
	for n := range chaosRRRequests {
		want := strconv.Itoa(n)
		for attempt := 0; ; attempt++ {
			if ctx.Err() != nil {
				return fmt.Errorf("%s: request %d: %w", c.name, n, ctx.Err())
			}
			if err := r.SendFrames(ctx, []byte(want)); err != nil {
				return fmt.Errorf("%s: send %d: %w", c.name, n, err)
			}
			actx, cancel := context.WithTimeout(ctx, chaosRRAttempt)
			m, err := r.Recv(actx)
			cancel()
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				c.retries++
				continue
			}
			if err != nil {
				return fmt.Errorf("%s: recv %d: %w", c.name, n, err)
			}
			got := strs(m.Frames)
			m.Release()
			if len(got) != 2 || got[0] != want {
				return fmt.Errorf("%s: request %d took reply %q", c.name, n, got)
			}
			c.accepted++
			c.by[got[1]]++
			accepted()
			break
		}
	}
	return nil
}

// chaosRRLibzmqClient is chaosRRZrouterClient with a libzmq REQ, the same
// options, and ZMQ_RCVTIMEO as the deadline of an attempt.
func chaosRRLibzmqClient(ctx context.Context, zctx *zmq.Context, c *chaosRRClient, endpoints []string, accepted func()) error {
	s, err := zctx.NewSocket(zmq.REQ)
	if err != nil {
		return err
	}
	defer s.Close()
	for _, set := range []func() error{
		func() error { return s.SetLinger(0) },
		func() error { return s.SetReqRelaxed(1) },
		func() error { return s.SetReqCorrelate(1) },
		func() error { return s.SetReconnectIvl(10 * time.Millisecond) },
		func() error { return s.SetRcvtimeo(chaosRRAttempt) },
		func() error { return s.SetSndtimeo(waitLimit) },
	} {
		if err := set(); err != nil {
			return err
		}
	}
	for _, ep := range endpoints {
		if err := s.Connect(ep); err != nil {
			return err
		}
	}
	for n := range chaosRRRequests {
		want := strconv.Itoa(n)
		for {
			if ctx.Err() != nil {
				return fmt.Errorf("%s: request %d: %w", c.name, n, ctx.Err())
			}
			if _, err := s.SendMessage(want); err != nil {
				return fmt.Errorf("%s: send %d: %w", c.name, n, err)
			}
			msg, err := s.RecvMessageBytes(0)
			if isErrno(err, zmq.Errno(11)) { // EAGAIN: the attempt's time ran out
				c.retries++
				continue
			}
			if err != nil {
				return fmt.Errorf("%s: recv %d: %w", c.name, n, err)
			}
			got := strs(msg)
			if len(got) != 2 || got[0] != want {
				return fmt.Errorf("%s: request %d took reply %q", c.name, n, got)
			}
			c.accepted++
			c.by[got[1]]++
			accepted()
			break
		}
	}
	return nil
}
