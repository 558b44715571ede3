package device_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/device"
	"github.com/zrouter/zrouter/req"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/wire"
)

// must panics on an error, to keep the examples short.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// The shared queue, zmq_proxy(ROUTER, DEALER): clients connect to the
// frontend and workers to the backend. Here clients and workers are
// DEALERs speaking REQ's and REP's envelope; libzmq REQ clients and REP
// workers connect the same way.
func ExampleProxy() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	front := must(router.New())
	defer front.Close()
	back := must(dealer.New())
	defer back.Close()
	if err := front.Bind("tcp://127.0.0.1:0"); err != nil {
		panic(err)
	}
	if err := back.Bind("tcp://127.0.0.1:0"); err != nil {
		panic(err)
	}
	proxy := must(device.NewProxy(front, back))
	var wg sync.WaitGroup
	defer wg.Wait()
	defer proxy.Terminate()
	wg.Go(func() { _ = proxy.Run(ctx) })

	// Two workers: each gets [client-id, "", request] and answers with
	// the same envelope.
	for range 2 {
		w := must(dealer.New())
		defer w.Close()
		if err := w.Connect(back.Addr()); err != nil {
			panic(err)
		}
		wg.Go(func() {
			for {
				m, err := w.Recv(ctx)
				if err != nil {
					return
				}
				last := len(m.Frames) - 1
				m.Frames[last] = bytes.ToUpper(m.Frames[last])
				if w.Send(ctx, m) != nil {
					m.Release()
				}
			}
		})
	}

	// Two clients, each with a request: ["", request] as REQ sends it.
	for _, name := range []string{"ann", "bob"} {
		c := must(dealer.New())
		defer c.Close()
		if err := c.Connect(front.Addr()); err != nil {
			panic(err)
		}
		if err := c.SendFrames(ctx, nil, []byte("hello from "+name)); err != nil {
			panic(err)
		}
		m := must(c.Recv(ctx))
		fmt.Printf("%s got %q\n", name, m.Frames[1])
		m.Release()
	}
	// Output:
	// ann got "HELLO FROM ANN"
	// bob got "HELLO FROM BOB"
}

// The load-balancing broker of the zguide, with REQ clients and REQ
// workers: a worker says READY, then gets [client-id, "", request] and
// answers [client-id, "", reply], which also asks for the next request.
func ExampleLoadBalancer() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	front := must(router.New())
	defer front.Close()
	back := must(router.New(router.WithMandatory(true)))
	defer back.Close()
	if err := front.Bind("tcp://127.0.0.1:0"); err != nil {
		panic(err)
	}
	if err := back.Bind("tcp://127.0.0.1:0"); err != nil {
		panic(err)
	}
	broker := must(device.NewLoadBalancer(front, back, device.WithQueue(100)))
	var wg sync.WaitGroup
	defer wg.Wait()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	wg.Go(func() { _ = broker.Run(runCtx) })

	w := must(req.New())
	defer w.Close()
	if err := w.Connect(back.Addr()); err != nil {
		panic(err)
	}
	wg.Go(func() {
		if w.SendFrames(ctx, []byte(device.Ready)) != nil {
			return
		}
		for {
			// [client-id, "", request]
			m, err := w.Recv(ctx)
			if err != nil {
				return
			}
			reply := wire.New(m.Frames[:2]...)
			reply.AppendString("done: " + string(m.Frames[2]))
			m.Release()
			if w.Send(ctx, reply) != nil {
				reply.Release()
			}
		}
	})

	c := must(req.New())
	defer c.Close()
	if err := c.Connect(front.Addr()); err != nil {
		panic(err)
	}
	for _, job := range []string{"wash", "dry"} {
		if err := c.SendFrames(ctx, []byte(job)); err != nil {
			panic(err)
		}
		m := must(c.Recv(ctx))
		fmt.Printf("%s\n", m.Frames[0])
		m.Release()
	}
	fmt.Println("dispatched:", broker.Stats().Dispatched)
	// Output:
	// done: wash
	// done: dry
	// dispatched: 2
}
