package bench

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/zrouter/zrouter/interop/internal/servers"
	"github.com/zrouter/zrouter/interop/internal/zmqc"
)

// ErrBadReply reports a reply that differs from the request it answers.
var ErrBadReply = zmqc.ErrBadReply

// runConfig is one run of a client set.
type runConfig = zmqc.DriveConfig

// runResult is what one run measured.
type runResult = zmqc.DriveResult

// clients is a set of connected clients that can be run repeatedly;
// sequence numbers carry on from run to run.
type clients interface {
	run(cfg runConfig) (runResult, error)
	close() error
}

// zmqClients are libzmq sockets driven by zmqc's C loop.
type zmqClients struct {
	ctx   *zmqc.Context
	socks []*zmqc.Socket
	drv   *zmqc.Driver
}

// newZMQClients connects n sockets of type typ to endpoint, CURVE clients
// when keys is not nil.
func newZMQClients(typ zmqc.Type, n int, endpoint string, hwm int, timeout time.Duration, keys *CurveKeys) (*zmqClients, error) {
	ctx, err := zmqc.NewContext()
	if err != nil {
		return nil, err
	}
	zc := &zmqClients{ctx: ctx}
	for i := range n {
		s, err := ctx.Socket(typ)
		if err != nil {
			_ = zc.close()
			return nil, err
		}
		zc.socks = append(zc.socks, s)
		if err := setup(s, hwm, timeout); err != nil {
			_ = zc.close()
			return nil, err
		}
		if err := curveClient(s, keys, i); err != nil {
			_ = zc.close()
			return nil, err
		}
		if err := s.Connect(endpoint); err != nil {
			_ = zc.close()
			return nil, err
		}
	}
	zc.drv = zmqc.NewDriver(zc.socks, 0)
	return zc, nil
}

func setup(s *zmqc.Socket, hwm int, timeout time.Duration) error {
	if err := s.SetTimeouts(timeout); err != nil {
		return err
	}
	if err := s.SetInt(zmqc.SndHWM, hwm); err != nil {
		return err
	}
	return s.SetInt(zmqc.RcvHWM, hwm)
}

func (zc *zmqClients) run(cfg runConfig) (runResult, error) { return zc.drv.Run(cfg) }

func (zc *zmqClients) close() error {
	if zc.drv != nil {
		zc.drv.Free()
		zc.drv = nil
	}
	var errs []error
	for _, s := range zc.socks {
		errs = append(errs, s.Close())
	}
	zc.socks = nil
	errs = append(errs, zc.ctx.Term())
	return errors.Join(errs...)
}

// rawClients are TCP connections that send and check the same messages as
// the C driver, for the raw TCP echo server.
type rawClients struct {
	conns []*rawConn
}

type rawConn struct {
	c     net.Conn
	id    uint32
	br    *bufio.Reader
	bw    *bufio.Writer
	sent  uint64
	recvd uint64
}

func newRawClients(n int, endpoint string, timeout time.Duration) (*rawClients, error) {
	rc := &rawClients{}
	for i := range n {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(endpoint, "tcp://"), timeout)
		if err != nil {
			_ = rc.close()
			return nil, err
		}
		rc.conns = append(rc.conns, &rawConn{
			c:  c,
			id: uint32(i),
			br: bufio.NewReaderSize(c, 64<<10),
			bw: bufio.NewWriterSize(c, 64<<10),
		})
	}
	return rc, nil
}

func (rc *rawClients) close() error {
	var errs []error
	for _, c := range rc.conns {
		errs = append(errs, c.c.Close())
	}
	rc.conns = nil
	return errors.Join(errs...)
}

// run runs every connection in a goroutine of its own and waits for all.
func (rc *rawClients) run(cfg runConfig) (runResult, error) {
	if cfg.Size < zmqc.HeaderLen {
		return runResult{}, fmt.Errorf("bench: message size %d is below the %d-byte header", cfg.Size, zmqc.HeaderLen)
	}
	tmpl := make([]byte, cfg.Size)
	zmqc.Payload(tmpl)
	results := make([]runResult, len(rc.conns))
	errs := make([]error, len(rc.conns))
	var wg sync.WaitGroup
	for i, c := range rc.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = c.run(cfg, tmpl)
		}()
	}
	wg.Wait()
	var total runResult
	for _, r := range results {
		total.Msgs += r.Msgs
		total.Elapsed = max(total.Elapsed, r.Elapsed)
		total.RTTs = append(total.RTTs, r.RTTs...)
	}
	return total, errors.Join(errs...)
}

// run is the C driver's loop in Go: fill the window and flush, then read
// at least one reply and every other one already buffered; after Duration,
// stop sending and read what is in flight.
func (c *rawConn) run(cfg runConfig, tmpl []byte) (runResult, error) {
	size := cfg.Size
	out := append([]byte(nil), tmpl...)
	in := make([]byte, size)
	var res runResult
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var sentAt time.Time
	for {
		stopping := !time.Now().Before(deadline)
		if !stopping {
			for c.sent-c.recvd < uint64(cfg.Window) {
				binary.LittleEndian.PutUint64(out, c.sent)
				binary.LittleEndian.PutUint32(out[8:], c.id)
				if _, err := c.bw.Write(out); err != nil {
					return res, err
				}
				c.sent++
			}
			if cfg.Latency {
				sentAt = time.Now()
			}
			if err := c.bw.Flush(); err != nil {
				return res, err
			}
		}
		if c.recvd == c.sent {
			if stopping {
				break
			}
			continue
		}
		if err := c.c.SetReadDeadline(time.Now().Add(cfg.Timeout)); err != nil {
			return res, err
		}
		for first := true; c.recvd < c.sent && (first || c.br.Buffered() >= size); first = false {
			if _, err := io.ReadFull(c.br, in); err != nil {
				return res, fmt.Errorf("bench: raw client %d: %w", c.id, err)
			}
			if cfg.Latency {
				res.RTTs = append(res.RTTs, time.Since(sentAt))
			}
			if err := c.check(in, tmpl, cfg.Sample); err != nil {
				return res, err
			}
			c.recvd++
			res.Msgs++
		}
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

func (c *rawConn) check(in, tmpl []byte, sample int) error {
	seq := binary.LittleEndian.Uint64(in)
	id := binary.LittleEndian.Uint32(in[8:])
	switch {
	case id != c.id:
		return fmt.Errorf("%w: client %d: got a reply meant for client %d", ErrBadReply, c.id, id)
	case seq != c.recvd:
		return fmt.Errorf("%w: client %d: got reply %d, want %d (lost, duplicated or reordered)", ErrBadReply, c.id, seq, c.recvd)
	case sample > 0 && seq%uint64(sample) == 0 && !bytes.Equal(in[zmqc.HeaderLen:], tmpl[zmqc.HeaderLen:]):
		return fmt.Errorf("%w: client %d: reply %d: payload corrupted", ErrBadReply, c.id, seq)
	}
	return nil
}

// newClients connects the active clients of sc to an echo server or broker
// of the given kind.
func newClients(kind string, sc Scenario, endpoint string, o *Options) (clients, error) {
	switch {
	case kind == servers.RawTCP:
		return newRawClients(sc.Clients, endpoint, o.Timeout)
	case sc.Handshake:
		return newHandshakeClients(sc.Clients, endpoint, o.curveFor(kind), o.Timeout)
	case sc.Broker:
		return newZMQClients(zmqc.REQ, sc.Clients, endpoint, o.HWM, o.Timeout, nil)
	case sc.ReqRep && sc.ZReq:
		return newZReqClients(endpoint, o)
	case sc.ReqRep:
		return newZMQClients(zmqc.REQ, sc.Clients, endpoint, o.HWM, o.Timeout, nil)
	}
	return newZMQClients(zmqc.DEALER, sc.Clients, endpoint, o.HWM, o.Timeout, o.curveFor(kind))
}

// idlePeers are connections that exchanged one message with the server and
// then stay quiet.
type idlePeers interface {
	close() error
}

// idleInFlight bounds the connections in progress at once over all idle
// child processes, so that no server's accept backlog overflows (libzmq's
// ZMQ_BACKLOG is 100).
const idleInFlight = 64

// Child kinds that hold idle peers instead of serving.
const (
	idleZMQKind = "idle-zmq"
	idleRawKind = "idle-raw"
)

// connectIdle connects n idle peers to an echo server of the given kind,
// spread over child processes of at most o.IdlePerProcess peers each, which
// connect at the same time. Each peer sends one message and waits for its
// echo before the next batch of its process connects.
func connectIdle(kind string, n int, endpoint string, o *Options) (idlePeers, error) {
	per := max(o.IdlePerProcess, 1)
	nproc := (n + per - 1) / per
	var children []Child
	for first := 0; first < n; first += per {
		c := Child{
			Kind:    idleZMQKind,
			Addrs:   []string{endpoint},
			Timeout: o.Timeout,
			N:       min(per, n-first),
			First:   first,
			Batch:   max(idleInFlight/nproc, 1),
		}
		if kind == servers.RawTCP {
			c.Kind = idleRawKind
		}
		children = append(children, c)
	}
	procs := make(idleProcs, len(children))
	errs := make([]error, len(children))
	var wg sync.WaitGroup
	for i, c := range children {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Connecting takes a while; allow a millisecond a peer on top.
			procs[i], errs[i] = startServer(c.Kind, o.Self(c.Args()), nil, true, o.Timeout+time.Duration(c.N)*time.Millisecond)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, procs.close(o.Timeout))
	}
	return idleCloser{procs, o.Timeout}, nil
}

type idleProcs []*server

func (ps idleProcs) close(timeout time.Duration) error {
	var errs []error
	for _, p := range ps {
		if p != nil {
			errs = append(errs, p.stop(timeout))
		}
	}
	return errors.Join(errs...)
}

type idleCloser struct {
	procs   idleProcs
	timeout time.Duration
}

func (c idleCloser) close() error { return c.procs.close(c.timeout) }

// holdIdle connects n idle peers, numbered from first, to endpoint in this
// process, batch at a time: libzmq DEALERs (kind idleZMQKind) or TCP
// connections.
func holdIdle(kind string, first, n, batch int, endpoint string, timeout time.Duration) (idlePeers, error) {
	batch = max(batch, 1)
	if kind == idleRawKind {
		return connectIdleRaw(first, n, batch, endpoint, timeout)
	}
	return connectIdleZMQ(first, n, batch, endpoint, timeout)
}

type idleZMQ struct {
	ctx   *zmqc.Context
	socks []*zmqc.Socket
}

func (p *idleZMQ) close() error {
	var errs []error
	for _, s := range p.socks {
		errs = append(errs, s.Close())
	}
	p.socks = nil
	errs = append(errs, p.ctx.Term())
	return errors.Join(errs...)
}

// idleMessage is the one message idle peer i sends.
func idleMessage(i int) []byte {
	b := make([]byte, 16)
	zmqc.Payload(b)
	binary.LittleEndian.PutUint32(b[8:], uint32(1_000_000+i))
	return b
}

func connectIdleZMQ(first, n, batch int, endpoint string, timeout time.Duration) (idlePeers, error) {
	ctx, err := zmqc.NewContext()
	if err != nil {
		return nil, err
	}
	p := &idleZMQ{ctx: ctx}
	if err := ctx.SetMaxSockets(n + 64); err != nil {
		_ = p.close()
		return nil, err
	}
	fail := func(i int, err error) (idlePeers, error) {
		_ = p.close()
		return nil, fmt.Errorf("bench: idle peer %d: %w", i, err)
	}
	for lo := 0; lo < n; lo += batch {
		hi := min(n, lo+batch)
		for i := lo; i < hi; i++ {
			s, err := ctx.Socket(zmqc.DEALER)
			if err != nil {
				return fail(i, err)
			}
			p.socks = append(p.socks, s)
			if err := s.SetTimeouts(timeout); err != nil {
				return fail(i, err)
			}
			if err := s.Connect(endpoint); err != nil {
				return fail(i, err)
			}
			if err := s.Send(idleMessage(first + i)); err != nil {
				return fail(i, err)
			}
		}
		for i := lo; i < hi; i++ {
			got, err := p.socks[i].Recv()
			if err != nil {
				return fail(i, err)
			}
			if len(got) != 1 || !bytes.Equal(got[0], idleMessage(first+i)) {
				return fail(i, fmt.Errorf("%w: idle peer %d got %q", ErrBadReply, i, got))
			}
		}
	}
	return p, nil
}

type idleRaw []net.Conn

func (p idleRaw) close() error {
	var errs []error
	for _, c := range p {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

func connectIdleRaw(first, n, batch int, endpoint string, timeout time.Duration) (idlePeers, error) {
	var p idleRaw
	fail := func(i int, err error) (idlePeers, error) {
		_ = p.close()
		return nil, fmt.Errorf("bench: idle peer %d: %w", i, err)
	}
	addr := strings.TrimPrefix(endpoint, "tcp://")
	got := make([]byte, 16)
	for lo := 0; lo < n; lo += batch {
		hi := min(n, lo+batch)
		for i := lo; i < hi; i++ {
			c, err := net.DialTimeout("tcp", addr, timeout)
			if err != nil {
				return fail(i, err)
			}
			p = append(p, c)
			if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
				return fail(i, err)
			}
			if _, err := c.Write(idleMessage(first + i)); err != nil {
				return fail(i, err)
			}
		}
		for i := lo; i < hi; i++ {
			if _, err := io.ReadFull(p[i], got); err != nil {
				return fail(i, err)
			}
			if !bytes.Equal(got, idleMessage(first+i)) {
				return fail(i, fmt.Errorf("%w: idle peer %d got % x", ErrBadReply, i, got))
			}
		}
	}
	return p, nil
}
