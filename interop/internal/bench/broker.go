package bench

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/zrouter/zrouter/interop/internal/zmqc"
)

// errNoReply is returned by probeBroker when the broker never answers.
var errNoReply = errors.New("bench: the broker answered no request")

// startWorkers connects n REP workers to a broker's backend; each echoes
// requests with zmqc's C loop. stop ends and closes them.
func startWorkers(n int, backend string, o *Options) (stop func() error, err error) {
	ctx, err := zmqc.NewContext()
	if err != nil {
		return nil, err
	}
	var socks []*zmqc.Socket
	done := make(chan error, n)
	running := 0
	stop = func() error {
		errs := []error{ctx.Shutdown()}
		for range running {
			errs = append(errs, <-done)
		}
		for _, s := range socks {
			errs = append(errs, s.Close())
		}
		errs = append(errs, ctx.Term())
		return errors.Join(errs...)
	}
	for range n {
		s, err := ctx.Socket(zmqc.REP)
		if err != nil {
			return nil, errors.Join(err, stop())
		}
		socks = append(socks, s)
		// No timeouts: the echo loop waits for requests until stop.
		for _, opt := range []struct {
			o zmqc.Option
			v int
		}{{zmqc.Linger, 0}, {zmqc.SndHWM, o.HWM}, {zmqc.RcvHWM, o.HWM}} {
			if err := s.SetInt(opt.o, opt.v); err != nil {
				return nil, errors.Join(err, stop())
			}
		}
		if err := s.Connect(backend); err != nil {
			return nil, errors.Join(err, stop())
		}
		running++
		go func() { done <- zmqc.Echo(s) }()
	}
	return stop, nil
}

// probeBroker sends requests through the broker until one is answered, so
// that the measured clients do not start before a worker is reachable.
func probeBroker(frontend string, o *Options) error {
	ctx, err := zmqc.NewContext()
	if err != nil {
		return err
	}
	defer func() { _ = ctx.Term() }()
	probe := make([]byte, 16)
	zmqc.Payload(probe)
	probe[8] = 0xFF
	deadline := time.Now().Add(o.Timeout)
	for time.Now().Before(deadline) {
		ok, err := probeOnce(ctx, frontend, probe)
		if err != nil || ok {
			return err
		}
	}
	return fmt.Errorf("%w within %v", errNoReply, o.Timeout)
}

// probeOnce makes one request with a short timeout on a fresh REQ socket
// (a REQ socket cannot send again before it has its reply).
func probeOnce(ctx *zmqc.Context, frontend string, probe []byte) (answered bool, err error) {
	s, err := ctx.Socket(zmqc.REQ)
	if err != nil {
		return false, err
	}
	defer func() {
		if cerr := s.Close(); err == nil {
			err = cerr
		}
	}()
	if err := s.SetTimeouts(200 * time.Millisecond); err != nil {
		return false, err
	}
	if err := s.Connect(frontend); err != nil {
		return false, err
	}
	if err := s.Send(probe); err != nil {
		return false, nil
	}
	got, err := s.Recv()
	if err != nil {
		return false, nil
	}
	if len(got) != 1 || !bytes.Equal(got[0], probe) {
		return false, fmt.Errorf("%w: probe answered with %q", ErrBadReply, got)
	}
	return true, nil
}
