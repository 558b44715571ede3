package peer

import (
	"context"
	"net"

	"github.com/zrouter/zrouter/zmtp"
)

// Handshake runs the ZMTP handshake on c under cfg's timeout, and closes c
// at once if ctx ends first, so that closing a socket never waits for a
// silent peer. On any failure c is closed.
func Handshake(ctx context.Context, c net.Conn, cfg *zmtp.Config) (*zmtp.Session, error) {
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	netWaiting.Add(1) // its reads wait for polls of the network
	sess, err := zmtp.Handshake(c, cfg)
	netWaiting.Add(-1)
	if !stop() {
		_ = c.Close()
		if err == nil {
			err = ctx.Err()
		}
		return nil, err
	}
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return sess, nil
}
