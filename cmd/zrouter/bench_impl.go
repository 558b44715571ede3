package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"sync"

	"github.com/zrouter/zrouter/socket"

	zmq4 "github.com/go-zeromq/zmq4"
	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/router"
)

// loopback is where bench servers listen: a free port on 127.0.0.1.
const loopback = "tcp://127.0.0.1:0"

// zrouterImpl is zrouter's router.Router echo server with zrouter dealers.
func zrouterImpl() benchImpl {
	return benchImpl{
		name: "zrouter",
		serve: func(hwm int) (*benchServer, error) {
			r, err := router.New(socket.WithSendHWM(hwm), socket.WithRecvHWM(hwm))
			if err != nil {
				return nil, err
			}
			if err := r.Bind(loopback); err != nil {
				_ = r.Close()
				return nil, err
			}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() { serveEcho(ctx, r) })
			return &benchServer{
				endpoint: r.Addr(),
				stop: func() {
					cancel()
					_ = r.Close()
					wg.Wait()
				},
				peers: func() int { return r.Stats().Peers },
			}, nil
		},
		dial: func(endpoint string, hwm int) (benchClient, error) {
			d, err := dealer.New(socket.WithSendHWM(hwm), socket.WithRecvHWM(hwm))
			if err != nil {
				return nil, err
			}
			if err := d.Connect(endpoint); err != nil {
				_ = d.Close()
				return nil, err
			}
			return zrouterClient{d}, nil
		},
	}
}

type zrouterClient struct{ d *dealer.Dealer }

func (c zrouterClient) send(ctx context.Context, p []byte) error {
	return c.d.SendFrames(ctx, p)
}

func (c zrouterClient) recv(ctx context.Context) ([]byte, func(), error) {
	m, err := c.d.Recv(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(m.Frames) != 1 {
		n := len(m.Frames)
		m.Release()
		return nil, nil, errFrames(n)
	}
	return m.Frames[0], m.Release, nil
}

func (c zrouterClient) close() { _ = c.d.Close() }

// zmq4Impl is go-zeromq/zmq4's ROUTER echo server with its DEALERs. It has
// no high-water marks: its sends block instead.
func zmq4Impl() benchImpl {
	quiet := zmq4.WithLogger(log.New(io.Discard, "", 0))
	return benchImpl{
		name: "go-zeromq",
		serve: func(int) (*benchServer, error) {
			r := zmq4.NewRouter(context.Background(), quiet)
			if err := r.Listen(loopback); err != nil {
				_ = r.Close()
				return nil, err
			}
			var wg sync.WaitGroup
			wg.Go(func() {
				for {
					m, err := r.Recv()
					if err != nil {
						return
					}
					if r.Send(m) != nil {
						return
					}
				}
			})
			// zmq4's Dial returns once the server knows the
			// connection: no wait is needed.
			return &benchServer{
				endpoint: "tcp://" + r.Addr().String(),
				stop: func() {
					_ = r.Close()
					wg.Wait()
				},
			}, nil
		},
		dial: func(endpoint string, _ int) (benchClient, error) {
			d := zmq4.NewDealer(context.Background(), quiet)
			if err := d.Dial(endpoint); err != nil {
				_ = d.Close()
				return nil, err
			}
			return &zmq4Client{s: d}, nil
		},
	}
}

type zmq4Client struct {
	s    zmq4.Socket
	once sync.Once
}

func (c *zmq4Client) send(_ context.Context, p []byte) error {
	// zmq4 writes to the connection before Send returns, so p may be
	// reused afterwards.
	return c.s.Send(zmq4.NewMsg(p))
}

func (c *zmq4Client) recv(context.Context) ([]byte, func(), error) {
	m, err := c.s.Recv()
	if err != nil {
		return nil, nil, err
	}
	if len(m.Frames) != 1 {
		return nil, nil, errFrames(len(m.Frames))
	}
	return m.Frames[0], func() {}, nil
}

func (c *zmq4Client) close() { c.once.Do(func() { _ = c.s.Close() }) }

// errWrongFrames reports a reply that is not a single frame.
var errWrongFrames = errors.New("reply is not one frame")

func errFrames(n int) error { return fmt.Errorf("%w: %d frames", errWrongFrames, n) }
