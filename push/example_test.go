package push_test

import (
	"context"
	"fmt"
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
