package bench

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zrouter/zrouter/interop/internal/servers"
	"github.com/zrouter/zrouter/interop/internal/zmqc"
)

// CurveKey is a CURVE key pair in Z85.
type CurveKey struct {
	Public string `json:"public"`
	Secret string `json:"-"`
}

// CurveKeys are the keys of the CURVE scenarios: the server's, and one pair
// per client (client i uses Clients[i % len(Clients)]).
type CurveKeys struct {
	Server  CurveKey
	Clients []CurveKey
}

// NewCurveKeys makes a server key pair and clients client key pairs, with
// libzmq's zmq_curve_keypair.
func NewCurveKeys(clients int) (*CurveKeys, error) {
	k := &CurveKeys{Clients: make([]CurveKey, max(clients, 1))}
	var err error
	if k.Server.Public, k.Server.Secret, err = zmqc.CurveKeypair(); err != nil {
		return nil, err
	}
	for i := range k.Clients {
		if k.Clients[i].Public, k.Clients[i].Secret, err = zmqc.CurveKeypair(); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// client returns the key pair of client i.
func (k *CurveKeys) client(i int) CurveKey { return k.Clients[i%len(k.Clients)] }

// publics returns the clients' public keys.
func (k *CurveKeys) publics() []string {
	out := make([]string, len(k.Clients))
	for i, c := range k.Clients {
		out[i] = c.Public
	}
	return out
}

// curveFor returns the keys that the clients of a server of the given kind
// use: o.Curve for a CURVE server, nil (NULL clients) for any other.
func (o *Options) curveFor(kind string) *CurveKeys {
	if servers.IsCurve(kind) {
		return o.Curve
	}
	return nil
}

// needCurve returns how many client keys the CURVE scenarios of o need,
// or 0 when there are none.
func (o *Options) needCurve() int {
	n := 0
	for _, sc := range o.Scenarios {
		if sc.Curve {
			n = max(n, sc.Clients)
		}
	}
	return n
}

// curveClient makes s a CURVE client of keys' server with client i's key
// pair; with nil keys it leaves s a NULL client.
func curveClient(s *zmqc.Socket, keys *CurveKeys, i int) error {
	if keys == nil {
		return nil
	}
	c := keys.client(i)
	return s.SetCurveClient(keys.Server.Public, c.Public, c.Secret)
}

// handshakeClients measure connections rather than messages: each of n
// workers makes a fresh libzmq DEALER (a CURVE client when keys is set),
// connects it, sends one message, waits for its echo and closes the
// socket, again and again. A cycle is done when the echo is in, so it
// counts the TCP connection, the whole ZMTP handshake (CURVE's four
// commands and the server's authentication), one message each way and
// the socket's close; a reply that differs from the request fails the run.
type handshakeClients struct {
	ctx      *zmqc.Context
	n        int
	endpoint string
	keys     *CurveKeys
	timeout  time.Duration
	cycles   atomic.Uint64 // cycles made so far, over every run
}

// handshakeMaxSockets bounds the sockets of the clients' context: closed
// sockets are reaped in the background, and under load some wait their
// turn (libzmq's default is 1023).
const handshakeMaxSockets = 4096

func newHandshakeClients(n int, endpoint string, keys *CurveKeys, timeout time.Duration) (*handshakeClients, error) {
	ctx, err := zmqc.NewContext()
	if err != nil {
		return nil, err
	}
	if err := ctx.SetMaxSockets(handshakeMaxSockets); err != nil {
		return nil, errors.Join(err, ctx.Term())
	}
	return &handshakeClients{ctx: ctx, n: max(n, 1), endpoint: endpoint, keys: keys, timeout: timeout}, nil
}

func (h *handshakeClients) close() error { return h.ctx.Term() }

// run makes cycles from every worker until cfg.Duration has passed; each
// worker finishes the cycle it is in. Msgs is the number of cycles, and
// RTTs their times when cfg.Latency is set.
func (h *handshakeClients) run(cfg runConfig) (runResult, error) {
	if cfg.Size < zmqc.HeaderLen {
		return runResult{}, fmt.Errorf("bench: message size %d is below the %d-byte header", cfg.Size, zmqc.HeaderLen)
	}
	tmpl := make([]byte, cfg.Size)
	zmqc.Payload(tmpl)
	results := make([]runResult, h.n)
	errs := make([]error, h.n)
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for w := range h.n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := append([]byte(nil), tmpl...)
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if err := h.cycle(w, msg); err != nil {
					errs[w] = err
					return
				}
				if cfg.Latency {
					results[w].RTTs = append(results[w].RTTs, time.Since(t0))
				}
				results[w].Msgs++
			}
		}()
	}
	wg.Wait()
	total := runResult{Elapsed: time.Since(start)}
	for _, r := range results {
		total.Msgs += r.Msgs
		total.RTTs = append(total.RTTs, r.RTTs...)
	}
	return total, errors.Join(errs...)
}

// cycle makes one connection for worker w: connect, one echo of msg (its
// header stamped with the cycle number and w), close.
func (h *handshakeClients) cycle(w int, msg []byte) (err error) {
	s, err := h.ctx.Socket(zmqc.DEALER)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := s.Close(); err == nil {
			err = cerr
		}
	}()
	if err := s.SetTimeouts(h.timeout); err != nil {
		return err
	}
	if err := curveClient(s, h.keys, w); err != nil {
		return err
	}
	if err := s.Connect(h.endpoint); err != nil {
		return err
	}
	seq := h.cycles.Add(1)
	binary.LittleEndian.PutUint64(msg, seq)
	binary.LittleEndian.PutUint32(msg[8:], uint32(w))
	if err := s.Send(msg); err != nil {
		return fmt.Errorf("bench: handshake worker %d: send: %w", w, err)
	}
	got, err := s.Recv()
	if err != nil {
		return fmt.Errorf("bench: handshake worker %d: no echo within %v: %w", w, h.timeout, err)
	}
	if len(got) != 1 || !bytes.Equal(got[0], msg) {
		return fmt.Errorf("%w: handshake worker %d: cycle %d: sent %d bytes, got %d frame(s)", ErrBadReply, w, seq, len(msg), len(got))
	}
	return nil
}
