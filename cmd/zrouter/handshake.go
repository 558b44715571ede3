package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/zrouter/zrouter/socket"
)

// fatalHandshake returns why a failed handshake will not succeed on a
// retry: the server refused our credentials for good, or the peer speaks
// another mechanism, socket type or protocol. It returns nil for any other
// event.
func fatalHandshake(ev socket.Event) error {
	if ev.Kind != socket.EventHandshakeFailed {
		return nil
	}
	switch ev.Failure {
	case socket.HandshakeAuth:
		if ev.Status != socket.AuthTemporary {
			return fmt.Errorf("the server refused our credentials (status %d)", ev.Status)
		}
	case socket.HandshakeMechanism, socket.HandshakeSocketType, socket.HandshakeProtocol:
		return fmt.Errorf("handshake with the peer failed: %v", ev.Err)
	}
	return nil
}

// errHandshake is the cause of a watched context that a fatal handshake
// ended.
var errHandshake = errors.New("handshake failed")

// watchHandshakes returns a context that ends, with a cause wrapping
// errHandshake, when mon reports a handshake that failed for good. stop
// stops mon and waits for the watching goroutine, which exits when mon's
// channel closes.
func watchHandshakes(ctx context.Context, mon *socket.Monitor) (wctx context.Context, stop func()) {
	wctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for ev := range mon.C {
			if err := fatalHandshake(ev); err != nil {
				cancel(fmt.Errorf("%w: %w", errHandshake, err))
			}
		}
	})
	return wctx, func() {
		mon.Stop()
		wg.Wait()
		cancel(nil)
	}
}

// handshakeCause returns the fatal handshake that ended ctx, if one did.
func handshakeCause(ctx context.Context) error {
	if err := context.Cause(ctx); errors.Is(err, errHandshake) {
		return err
	}
	return nil
}
