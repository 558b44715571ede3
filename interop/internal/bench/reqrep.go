package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/zrouter/zrouter/interop/internal/servers"
	"github.com/zrouter/zrouter/interop/internal/zmqc"
	"github.com/zrouter/zrouter/req"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
)

// ReqRepGroup names every REQ/REP scenario on the command line.
const ReqRepGroup = "reqrep"

// The REQ/REP latency scenarios: one REQ client, one REP server, 16 B, one
// request at a time. The servers are servers.RepKinds. In the first the
// client is libzmq's REQ in zmqc's C loop, so the two REP servers meet the
// same client; in the second it is a zrouter req.Req. The zrouter pair
// (the second on zrouter-rep) against the libzmq pair (the first on
// libzmq-rep) is the target.
const (
	reqrepLatency     = ReqRepGroup + "-latency"
	reqrepLatencyZReq = ReqRepGroup + "-latency-zreq"
)

func reqrepScenarios() []Scenario {
	return []Scenario{
		{
			Name:    reqrepLatency,
			Title:   "REQ/REP ping-pong: 1 libzmq REQ client (C loop), 1 REP server, 16 B",
			Clients: 1, Size: 16, Window: 1, Latency: true, ReqRep: true,
		},
		{
			Name:    reqrepLatencyZReq,
			Title:   "REQ/REP ping-pong: 1 zrouter REQ client, 1 REP server, 16 B",
			Clients: 1, Size: 16, Window: 1, Latency: true, ReqRep: true, ZReq: true,
		},
	}
}

// reqrepTargets evaluates the REQ/REP target: the zrouter pair's
// median p50 at most the libzmq pair's; and, for the server alone, that of
// zrouter-rep at most libzmq-rep's with either client.
func reqrepTargets(find func(name, kind string) *ServerResult) []Target {
	p50 := metric{func(s *ServerResult) float64 { return s.P50Micros }, func(s Sample) float64 { return s.P50Micros }}
	var ts []Target
	ran := false
	for _, name := range []string{reqrepLatency, reqrepLatencyZReq} {
		for _, k := range servers.RepKinds {
			ran = ran || find(name, k) != nil
		}
	}
	if !ran {
		return nil
	}
	pair := Target{Server: "zrouter REQ + " + servers.ZRouterRep,
		Goal: "REQ/REP latency: p50 <= 1.0x libzmq REQ + libzmq REP (C loops)", Measured: "not measured"}
	z, l := find(reqrepLatencyZReq, servers.ZRouterRep), find(reqrepLatency, servers.LibzmqRep)
	if z != nil && l != nil && l.P50Micros > 0 {
		r := z.P50Micros / l.P50Micros
		met := r <= 1.0
		pair.Met = &met
		pair.Measured = fmt.Sprintf("%.2fx (%.1f µs vs %.1f µs)", r, z.P50Micros, l.P50Micros)
	}
	ts = append(ts, pair)
	for _, name := range []string{reqrepLatency, reqrepLatencyZReq} {
		if find(name, servers.ZRouterRep) == nil {
			continue
		}
		ts = append(ts, ratio(find, servers.ZRouterRep, name+": p50 <= 1.0x libzmq REP (C loop)", name, servers.LibzmqRep, false, 1.0, p50, "µs"))
	}
	return ts
}

// zreqClients is one zrouter REQ client, driven from Go as zmqc's C loop
// drives libzmq's: each request carries the header of zmqc.HeaderLen bytes
// (sequence number, client id) and the payload template, and every reply
// must be the request back. Sequence numbers carry on from run to run.
type zreqClients struct {
	r   *req.Req
	seq uint64
	m   *wire.Msg // the message in hand: the last reply, sent again
}

func newZReqClients(endpoint string, o *Options) (*zreqClients, error) {
	r, err := req.New(socket.WithLinger(0), socket.WithSendHWM(o.HWM), socket.WithRecvHWM(o.HWM))
	if err != nil {
		return nil, err
	}
	if err := r.Connect(endpoint); err != nil {
		return nil, fmt.Errorf("bench: zrouter REQ connect: %w", err)
	}
	return &zreqClients{r: r}, nil
}

func (z *zreqClients) close() error {
	if z.m != nil {
		z.m.Release()
		z.m = nil
	}
	return z.r.Close()
}

// run sends one request at a time for cfg.Duration. The reply, checked
// against a copy of the request, is the next request, so a round trip
// allocates nothing.
func (z *zreqClients) run(cfg runConfig) (runResult, error) {
	if cfg.Size < zmqc.HeaderLen {
		return runResult{}, fmt.Errorf("bench: message size %d is below the %d-byte header", cfg.Size, zmqc.HeaderLen)
	}
	want := make([]byte, cfg.Size)
	zmqc.Payload(want)
	if z.m == nil || len(z.m.Frames) != 1 || len(z.m.Frames[0]) != cfg.Size {
		if z.m != nil {
			z.m.Release()
		}
		z.m = wire.New(want)
	}
	var res runResult
	if cfg.Latency {
		res.RTTs = make([]time.Duration, 0, int(cfg.Duration/time.Microsecond)+1024)
	}
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	for t0 := start; t0.Before(deadline); {
		z.seq++
		binary.LittleEndian.PutUint64(want, z.seq)
		binary.LittleEndian.PutUint32(want[8:], 0)
		copy(z.m.Frames[0][:zmqc.HeaderLen], want[:zmqc.HeaderLen])
		ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
		err := z.r.Send(ctx, z.m)
		if err != nil {
			cancel()
			return res, fmt.Errorf("bench: zrouter REQ send: %w", err)
		}
		z.m = nil
		m, err := z.r.Recv(ctx)
		cancel()
		if err != nil {
			return res, fmt.Errorf("%w: zrouter REQ: request %d: %w", zmqc.ErrTimeout, z.seq, err)
		}
		z.m = m
		t1 := time.Now()
		if len(m.Frames) != 1 || !bytes.Equal(m.Frames[0], want) {
			return res, fmt.Errorf("%w: zrouter REQ: request %d: %d frame(s) back", ErrBadReply, z.seq, len(m.Frames))
		}
		if cfg.Latency && len(res.RTTs) < cap(res.RTTs) {
			res.RTTs = append(res.RTTs, t1.Sub(t0))
		}
		res.Msgs++
		t0 = t1
	}
	res.Elapsed = time.Since(start)
	return res, nil
}
