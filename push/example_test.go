package push_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/zrouter/zrouter/pull"
	"github.com/zrouter/zrouter/push"
)

// A ventilator hands out tasks to a worker; the worker's PULL binds.
func Example_pipeline() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	worker, err := pull.New()
	if err != nil {
		panic(err)
	}
	defer worker.Close()
	if err := worker.Bind("tcp://127.0.0.1:0"); err != nil {
		panic(err)
	}

	vent, err := push.New()
	if err != nil {
		panic(err)
	}
	defer vent.Close()
	if err := vent.Connect(worker.Addr()); err != nil {
		panic(err)
	}
	// Send queues in the Connect's pipe until the connection is up.
	for _, task := range []string{"task 1", "task 2", "task 3"} {
		if err := vent.SendFrames(ctx, []byte(task)); err != nil {
			panic(err)
		}
	}
	for range 3 {
		m, err := worker.Recv(ctx)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s\n", m.Frames[0])
		m.Release()
	}
	// Output:
	// task 1
	// task 2
	// task 3
}

// The zguide's parallel pipeline: a ventilator PUSHes tasks to workers,
// which PULL them, do them, and PUSH the results to a sink that PULLs
// them all in.
func Example_ventilatorWorkersSink() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}

	vent, err := push.New()
	must(err)
	defer vent.Close()
	must(vent.Bind("tcp://127.0.0.1:0"))
	sink, err := pull.New()
	must(err)
	defer sink.Close()
	must(sink.Bind("tcp://127.0.0.1:0"))

	var wg sync.WaitGroup
	defer wg.Wait()
	for range 3 {
		tasks, err := pull.New()
		must(err)
		defer tasks.Close()
		must(tasks.Connect(vent.Addr()))
		results, err := push.New()
		must(err)
		defer results.Close()
		must(results.Connect(sink.Addr()))
		wg.Go(func() {
			for {
				m, err := tasks.Recv(ctx)
				if err != nil {
					return // the worker's sockets closed
				}
				n, _ := strconv.Atoi(string(m.Frames[0]))
				m.Release()
				if results.SendFrames(ctx, []byte(strconv.Itoa(n*n))) != nil {
					return
				}
			}
		})
	}
	// Round robin over the three workers once all are connected.
	must(vent.WaitPeers(ctx, 3))
	for n := 1; n <= 6; n++ {
		must(vent.SendFrames(ctx, []byte(strconv.Itoa(n))))
	}
	sum := 0
	for range 6 {
		m, err := sink.Recv(ctx)
		must(err)
		n, _ := strconv.Atoi(string(m.Frames[0]))
		m.Release()
		sum += n
	}
	fmt.Println("sum of squares:", sum)
	// Output: sum of squares: 91
}
