package bench

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// natsSubject is the subject every NATS publisher and subscriber of the
// fan-out uses.
const natsSubject = "bench"

// natsBroker runs nats-server, embedded, on a loopback port until standard
// input ends; its client URL is both the frontend and the backend.
func natsBroker(out io.Writer) error {
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: natsserver.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		return err
	}
	go ns.Start()
	defer func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	}()
	if !ns.ReadyForConnections(10 * time.Second) {
		return errors.New("bench: nats-server did not start")
	}
	url := ns.ClientURL()
	fmt.Fprintf(out, "READY %s %s\n", url, url)
	waitInput()
	return nil
}

func startNATSPub(url string, msg []byte) (*publisher, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return nil, err
	}
	var stopped atomic.Bool
	errc := make(chan error, 1)
	pb := &publisher{run: make(chan struct{}), quit: make(chan struct{})}
	go func() {
		if !pb.wait() {
			errc <- nil
			return
		}
		for !stopped.Load() {
			if err := nc.Publish(natsSubject, msg); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	pb.stop = func() error {
		stopped.Store(true)
		close(pb.quit)
		err := <-errc
		nc.Close()
		return err
	}
	return pb, nil
}

// natsSubs connects sc.Subs nats.go clients, each subscribed to the subject
// with its pending limits at hwm messages (and hwm times the message size).
func natsSubs(sc FanScenario, url string, hwm int) (*subSet, error) {
	cs := make([]counter, sc.Subs)
	var conns []*nats.Conn
	var mu sync.Mutex
	var errs []error
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	closeAll := func() error {
		for _, nc := range conns {
			nc.Close()
		}
		mu.Lock()
		defer mu.Unlock()
		return errors.Join(errs...)
	}
	for i := range sc.Subs {
		nc, err := nats.Connect(url, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if !errors.Is(err, nats.ErrSlowConsumer) { // a drop at the limits, as a full queue drops
				fail(err)
			}
		}))
		if err != nil {
			return nil, errors.Join(err, closeAll())
		}
		conns = append(conns, nc)
		s, err := nc.Subscribe(natsSubject, func(m *nats.Msg) {
			if len(m.Data) != sc.Size {
				fail(fmt.Errorf("%w: a message of %d bytes, want %d", ErrBadReply, len(m.Data), sc.Size))
				return
			}
			cs[i].n.Add(1)
		})
		if err == nil {
			err = s.SetPendingLimits(hwm, hwm*sc.Size)
		}
		if err == nil {
			err = nc.Flush()
		}
		if err != nil {
			return nil, errors.Join(err, closeAll())
		}
	}
	return &subSet{counts: func() (uint64, uint64) { return sumCounts(cs) }, stop: closeAll}, nil
}
