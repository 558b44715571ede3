package req_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zrouter/zrouter/rep"
	"github.com/zrouter/zrouter/req"
	"github.com/zrouter/zrouter/socket"
)

// A REQ client and a REP server: one request, then its reply.
func ExampleReq() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	server, err := rep.New()
	if err != nil {
		panic(err)
	}
	defer server.Close()
	if err := server.Bind("tcp://127.0.0.1:0"); err != nil {
		panic(err)
	}
	go func() {
		for {
			m, err := server.Recv(context.Background())
			if err != nil {
				return // closed
			}
			m.AppendString("world")
			if server.Send(ctx, m) != nil {
				m.Release()
			}
		}
	}()

	client, err := req.New()
	if err != nil {
		panic(err)
	}
	defer client.Close()
	if err := client.Connect(server.Addr()); err != nil {
		panic(err)
	}
	if err := client.SendFrames(ctx, []byte("hello")); err != nil {
		panic(err)
	}
	reply, err := client.Recv(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s %s\n", reply.Frames[0], reply.Frames[1])
	reply.Release()

	// Out of turn: REQ's Recv needs a request out.
	_, err = client.Recv(ctx)
	fmt.Println(errors.Is(err, socket.ErrState))
	// Output:
	// hello world
	// true
}

// The zguide's lazy pirate: a client that does not trust its server. Each
// request gets a deadline; when no reply comes in time it sends the request
// again, which WithRelaxed allows and WithCorrelate keeps apart from a late
// reply to the old one. Here the first server dies holding the request,
// and a second one takes over its endpoint.
func ExampleReq_lazyPirate() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// A server that takes one request and dies without answering.
	first, err := rep.New(socket.WithLinger(0))
	if err != nil {
		panic(err)
	}
	if err := first.Bind("tcp://127.0.0.1:0"); err != nil {
		panic(err)
	}
	endpoint := first.Addr()
	died := make(chan struct{})
	go func() {
		defer close(died)
		if m, err := first.Recv(ctx); err == nil {
			m.Release()
		}
		first.Close()
	}()

	client, err := req.New(req.WithRelaxed(true), req.WithCorrelate(true),
		socket.WithReconnectInterval(10*time.Millisecond), socket.WithLinger(0))
	if err != nil {
		panic(err)
	}
	defer client.Close()
	if err := client.Connect(endpoint); err != nil {
		panic(err)
	}

	// The first wait is short: this server will never answer. Retries
	// wait longer.
	timeouts := []time.Duration{200 * time.Millisecond, 10 * time.Second, 10 * time.Second}
	for attempt, timeout := range timeouts {
		if err := client.SendFrames(ctx, []byte("request 1")); err != nil {
			panic(err)
		}
		actx, cancel := context.WithTimeout(ctx, timeout)
		reply, err := client.Recv(actx)
		cancel()
		if err == nil {
			fmt.Printf("attempt %d: %s\n", attempt+1, reply.Frames[0])
			reply.Release()
			break
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			panic(err)
		}
		fmt.Printf("attempt %d: no reply, retrying\n", attempt+1)
		if attempt == 0 {
			// The server comes back on the same endpoint; the client's
			// Connect reconnects by itself, and the retry waits in its
			// pipe until then.
			<-died
			second := startServer(endpoint)
			defer second.Close()
		}
	}
	// Output:
	// attempt 1: no reply, retrying
	// attempt 2: reply to request 1
}

// startServer binds a REP on endpoint that answers every request.
func startServer(endpoint string) *rep.Rep {
	s, err := rep.New(socket.WithLinger(0))
	if err != nil {
		panic(err)
	}
	if err := s.Bind(endpoint); err != nil {
		panic(err)
	}
	go func() {
		for {
			m, err := s.Recv(context.Background())
			if err != nil {
				return
			}
			body := "reply to " + string(m.Frames[0])
			m.Release()
			if err := s.SendFrames(context.Background(), []byte(body)); err != nil {
				return
			}
		}
	}()
	return s
}
