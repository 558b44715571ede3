package rep_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/rep"
	"github.com/zrouter/zrouter/req"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/wire"
)

// Request-reply through a broker, the zguide's "extended request-reply":
// REQ clients connect to a ROUTER frontend, REP workers to a DEALER
// backend, and the broker passes messages between the two unchanged, as
// zmq_proxy does. The frontend adds the client's routing id to each
// request; the worker's REP keeps it in the envelope and puts it back on
// the reply, by which the frontend routes the reply home.
func ExampleRep_broker() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	frontend, err := router.New()
	if err != nil {
		panic(err)
	}
	defer frontend.Close()
	if err := frontend.Bind("tcp://127.0.0.1:0"); err != nil {
		panic(err)
	}
	backend, err := dealer.New()
	if err != nil {
		panic(err)
	}
	defer backend.Close()
	if err := backend.Bind("tcp://127.0.0.1:0"); err != nil {
		panic(err)
	}
	// The broker: one loop each way, ending when the sockets close.
	go forward(frontend, backend)
	go forward(backend, frontend)

	// Two workers that shout back what they are asked.
	for range 2 {
		w, err := rep.New()
		if err != nil {
			panic(err)
		}
		defer w.Close()
		if err := w.Connect(backend.Addr()); err != nil {
			panic(err)
		}
		go func() {
			for {
				m, err := w.Recv(context.Background())
				if err != nil {
					return
				}
				m.Frames[0] = []byte(strings.ToUpper(string(m.Frames[0])))
				if w.Send(ctx, m) != nil {
					m.Release()
				}
			}
		}()
	}

	// Three clients, each with two requests, all at once.
	replies := make([][]string, 3)
	var wg sync.WaitGroup
	for i := range replies {
		c, err := req.New()
		if err != nil {
			panic(err)
		}
		defer c.Close()
		if err := c.Connect(frontend.Addr()); err != nil {
			panic(err)
		}
		wg.Go(func() {
			for _, q := range []string{"hello", "world"} {
				if err := c.SendFrames(ctx, []byte(fmt.Sprintf("%s from %d", q, i))); err != nil {
					panic(err)
				}
				m, err := c.Recv(ctx)
				if err != nil {
					panic(err)
				}
				replies[i] = append(replies[i], string(m.Frames[0]))
				m.Release()
			}
		})
	}
	wg.Wait()
	for _, r := range replies {
		fmt.Println(strings.Join(r, ", "))
	}
	// Output:
	// HELLO FROM 0, WORLD FROM 0
	// HELLO FROM 1, WORLD FROM 1
	// HELLO FROM 2, WORLD FROM 2
}

// forward moves messages from one socket to the other until either closes.
func forward(from, to interface {
	Recv(context.Context) (*wire.Msg, error)
	Send(context.Context, *wire.Msg) error
}) {
	for {
		m, err := from.Recv(context.Background())
		if err != nil {
			return
		}
		if to.Send(context.Background(), m) != nil {
			m.Release()
			return
		}
	}
}
