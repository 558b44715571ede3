package servers

import (
	"context"

	"github.com/zrouter/zrouter/interop/internal/zmqc"
	"github.com/zrouter/zrouter/rep"
	"github.com/zrouter/zrouter/socket"
)

// REP servers, for the REQ/REP latency scenarios: each answers every
// request with itself.
const (
	// ZRouterRep is a zrouter rep.Rep: Recv, then Send of the same
	// message.
	ZRouterRep = "zrouter-rep"
	// LibzmqRep is a libzmq REP with the echo loop written in C.
	LibzmqRep = "libzmq-rep"
)

// RepKinds lists the REP servers in the order the harness runs them.
var RepKinds = []string{ZRouterRep, LibzmqRep}

func serveZRouterRep(ctx context.Context, cfg Config, ready func([]string)) error {
	r, err := rep.New(socket.WithSendHWM(cfg.HWM), socket.WithRecvHWM(cfg.HWM))
	if err != nil {
		return err
	}
	defer r.Close()
	if err := r.Bind(cfg.Addrs[0]); err != nil {
		return err
	}
	ready([]string{r.Addr()})
	return echoMsgs(ctx, r)
}

// serveLibzmqRep runs zmqc.Echo on a REP socket: it receives each request
// whole (one frame here) before it sends it back, as REP requires.
func serveLibzmqRep(ctx context.Context, cfg Config, ready func([]string)) error {
	return runC(ctx, cfg, []zmqc.Type{zmqc.REP}, ready, func(s []*zmqc.Socket) error {
		return zmqc.Echo(s[0])
	})
}
