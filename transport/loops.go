package transport

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// acceptRetry is the pause after an accept error other than closing, such
// as running out of file descriptors.
const acceptRetry = 100 * time.Millisecond

// Serve accepts connections on ln until ctx ends or ln is closed, and runs
// handle for each one in a goroutine of its own, so that a slow handshake
// never delays the next accept. Serve and every handle goroutine are counted
// in wg. Serve returns when accepting has stopped; the caller closes ln.
func Serve(ctx context.Context, ln net.Listener, wg *sync.WaitGroup, log *slog.Logger, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			log.Warn("accept", "listener", ln.Addr(), "err", err)
			if !Sleep(ctx, acceptRetry) {
				return
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			handle(c)
		}()
	}
}

// Redial keeps a connection to e up until ctx ends. It dials and hands the
// connection to up, which returns a channel that closes when the connection
// has ended, or nil when it did not start. After a connection ends or an
// attempt fails, Redial waits as b says before the next attempt; a
// connection that started resets the count of failures.
func Redial(ctx context.Context, e Endpoint, b Backoff, log *slog.Logger, up func(net.Conn) <-chan struct{}) {
	failures := 0
	for ctx.Err() == nil {
		c, err := Dial(ctx, e)
		var down <-chan struct{}
		if err == nil {
			down = up(c)
		} else if ctx.Err() == nil {
			log.Debug("connect", "endpoint", e, "err", err)
		}
		if down != nil {
			failures = 0
			select {
			case <-down:
			case <-ctx.Done():
				return
			}
		}
		failures++
		if !Sleep(ctx, b.Next(failures)) {
			return
		}
	}
}
