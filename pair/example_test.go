package pair_test

import (
	"context"
	"fmt"
	"time"

	"github.com/zrouter/zrouter/pair"
)

// Two PAIR sockets talk both ways.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	a, err := pair.New()
	if err != nil {
		panic(err)
	}
	defer a.Close()
	if err := a.Bind("tcp://127.0.0.1:0"); err != nil {
		panic(err)
	}
	b, err := pair.New()
	if err != nil {
		panic(err)
	}
	defer b.Close()
	if err := b.Connect(a.Addr()); err != nil {
		panic(err)
	}

	if err := b.SendFrames(ctx, []byte("ping")); err != nil {
		panic(err)
	}
	m, err := a.Recv(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Printf("a got %s\n", m.Frames[0])
	m.Release()
	if err := a.SendFrames(ctx, []byte("pong")); err != nil {
		panic(err)
	}
	m, err = b.Recv(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Printf("b got %s\n", m.Frames[0])
	m.Release()
	// Output:
	// a got ping
	// b got pong
}
