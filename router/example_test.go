package router_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
)

// A ROUTER that sends every message back to its sender, and a DEALER client.
func ExampleRouter_echo() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	r, err := router.New()
	if err != nil {
		panic(err)
	}
	if err := r.Bind("tcp://127.0.0.1:0"); err != nil {
		panic(err)
	}
	// The echo loop: Recv gives [id, frames...], and Send with the same
	// message routes it back to id. It ends when r is closed.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := r.Recv(context.Background())
			if err != nil {
				return
			}
			if r.Send(ctx, m) != nil {
				m.Release()
			}
		}
	}()
	defer func() {
		r.Close()
		<-done
	}()

	d, err := dealer.New()
	if err != nil {
		panic(err)
	}
	defer d.Close()
	if err := d.Connect(r.Addr()); err != nil {
		panic(err)
	}
	if err := r.WaitPeers(ctx, 1); err != nil {
		panic(err)
	}

	for _, s := range []string{"hello", "world"} {
		if err := d.SendFrames(ctx, []byte(s)); err != nil {
			panic(err)
		}
		m, err := d.Recv(ctx)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s\n", m.Frames[0])
		m.Release()
	}
	// Output:
	// hello
	// world
}

// Request and reply with an envelope: the DEALER client puts an empty
// delimiter in front of its request, as a REQ socket would, and the ROUTER
// server sees [client-id, "", request]. The reply keeps the envelope, and
// the router strips only the id.
func ExampleRouter_requestReply() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	server, err := router.New()
	if err != nil {
		panic(err)
	}
	defer server.Close()
	if err := server.Bind("tcp://127.0.0.1:0"); err != nil {
		panic(err)
	}

	client, err := dealer.New(socket.WithRoutingID([]byte("client-1")))
	if err != nil {
		panic(err)
	}
	defer client.Close()
	if err := client.Connect(server.Addr()); err != nil {
		panic(err)
	}
	if err := server.WaitPeers(ctx, 1); err != nil {
		panic(err)
	}

	if err := client.SendFrames(ctx, []byte{}, []byte("2+2")); err != nil {
		panic(err)
	}

	req, err := server.Recv(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Printf("server got %q\n", req.Frames)
	id, delim := req.Frames[0], req.Frames[1]
	if err := server.SendFrames(ctx, id, delim, []byte("4")); err != nil {
		panic(err)
	}
	req.Release()

	rep, err := client.Recv(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Printf("client got %q\n", rep.Frames)
	rep.Release()
	// Output:
	// server got ["client-1" "" "2+2"]
	// client got ["" "4"]
}

// A ROUTER in LoadBalancer mode hands tasks round robin to three DEALER
// workers, and collects their answers, each tagged by the router with the
// worker's routing id.
func ExampleRouter_loadBalancer() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	r, err := router.New(router.WithMode(router.LoadBalancer))
	if err != nil {
		panic(err)
	}
	defer r.Close()
	if err := r.Bind("tcp://127.0.0.1:0"); err != nil {
		panic(err)
	}

	names := []string{"worker-a", "worker-b", "worker-c"}
	var (
		workers sync.WaitGroup
		socks   []*dealer.Dealer
	)
	defer func() {
		for _, w := range socks {
			w.Close() // ends that worker's Recv
		}
		workers.Wait()
	}()
	for _, name := range names {
		w, err := dealer.New(socket.WithRoutingID([]byte(name)))
		if err != nil {
			panic(err)
		}
		socks = append(socks, w)
		if err := w.Connect(r.Addr()); err != nil {
			panic(err)
		}
		// Each worker answers every task until it is closed.
		workers.Add(1)
		go func() {
			defer workers.Done()
			for {
				task, err := w.Recv(context.Background())
				if err != nil {
					return
				}
				task.AppendString("done")
				if w.Send(ctx, task) != nil {
					task.Release()
				}
			}
		}()
	}
	// In LoadBalancer mode a message with no peer to take it is dropped,
	// so wait until every worker is connected.
	if err := r.WaitPeers(ctx, len(names)); err != nil {
		panic(err)
	}

	const tasks = 30
	for i := range tasks {
		if err := r.SendFrames(ctx, fmt.Appendf(nil, "task-%d", i)); err != nil {
			panic(err)
		}
	}
	perWorker := make(map[string]int)
	for range tasks {
		m, err := r.Recv(ctx)
		if err != nil {
			panic(err)
		}
		perWorker[string(m.Frames[0])]++
		m.Release()
	}
	fmt.Println("answers:", tasks)
	for _, name := range names {
		fmt.Printf("%s got work: %v\n", name, perWorker[name] > 0)
	}
	// Output:
	// answers: 30
	// worker-a got work: true
	// worker-b got work: true
	// worker-c got work: true
}

// A CURVE server that lets in only the clients it knows, and tells the
// application which one sent each message.
func ExampleRouter_curve() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Each side's key pair; the client knows the server's public key, and
	// the server the clients'.
	serverPublic, serverSecret, err := socket.NewCurveKeys()
	if err != nil {
		panic(err)
	}
	clientPublic, clientSecret, err := socket.NewCurveKeys()
	if err != nil {
		panic(err)
	}
	users := socket.AuthFunc(func(_ context.Context, r socket.AuthRequest) socket.AuthReply {
		if r.ClientKey == clientPublic {
			return socket.AuthReply{Status: socket.AuthOK, UserID: "alice"}
		}
		return socket.AuthReply{Status: socket.AuthRefused}
	})

	server, err := router.New(socket.WithCurveServer(serverSecret), socket.WithAuthenticator(users))
	if err != nil {
		panic(err)
	}
	defer server.Close()
	if err := server.Bind("tcp://127.0.0.1:0"); err != nil {
		panic(err)
	}

	client, err := dealer.New()
	if err != nil {
		panic(err)
	}
	defer client.Close()
	if err := client.Connect(server.Addr(), socket.WithCurveClient(serverPublic, clientSecret)); err != nil {
		panic(err)
	}
	if err := client.SendFrames(ctx, []byte("hello")); err != nil {
		panic(err)
	}

	m, err := server.Recv(ctx)
	if err != nil {
		panic(err)
	}
	user, _ := server.Property(m, "User-Id")
	fmt.Printf("%s from %s\n", m.Frames[1], user)
	m.Release()
	// Output:
	// hello from alice
}
