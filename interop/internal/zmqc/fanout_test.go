package zmqc

import (
	"errors"
	"testing"
	"time"
)

// TestPubSub runs the fan-out loops: a Pub to two Subs, one subscribed to
// the messages' topic and one to another; the first counts, the second gets
// nothing, and a Sub expecting another size fails with ErrBadReply.
func TestPubSub(t *testing.T) {
	c := newContext(t)
	p := newSocket(t, c, PUB)
	ep, err := p.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	subs := make([]*Socket, 3)
	for i, topic := range []string{"t", "x", ""} {
		subs[i] = newSocket(t, c, SUB)
		if err := subs[i].SetInt(RcvTimeo, 20); err != nil {
			t.Fatal(err)
		}
		if err := subs[i].Subscribe([]byte(topic)); err != nil {
			t.Fatal(err)
		}
		if err := subs[i].Connect(ep); err != nil {
			t.Fatal(err)
		}
	}
	msg := []byte("t-some-payload")
	pf, match, miss, wrong := NewFlag(), NewFlag(), NewFlag(), NewFlag()
	defer func() {
		for _, f := range []*Flag{pf, match, miss, wrong} {
			f.Free()
		}
	}()
	perr, merr, xerr, werr := make(chan error, 1), make(chan error, 1), make(chan error, 1), make(chan error, 1)
	go func() { perr <- Pub(p, msg, pf) }()
	go func() { merr <- Sub(subs[0], len(msg), match) }()
	go func() { xerr <- Sub(subs[1], len(msg), miss) }()
	go func() { werr <- Sub(subs[2], len(msg)+1, wrong) }()
	if err := <-werr; !errors.Is(err, ErrBadReply) {
		t.Errorf("a Sub of the wrong size: %v, want ErrBadReply", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for match.Load() < 1000 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	pf.Stop()
	if err := <-perr; err != nil {
		t.Fatal(err)
	}
	match.Stop()
	miss.Stop()
	if err := errors.Join(<-merr, <-xerr); err != nil {
		t.Fatal(err)
	}
	if n := match.Load(); n < 1000 {
		t.Errorf("the subscriber got %d messages, want 1000 or more", n)
	}
	if n := miss.Load(); n != 0 {
		t.Errorf("the subscriber to another topic got %d messages", n)
	}
	if pf.Load() < match.Load() {
		t.Errorf("%d sent, fewer than the %d received", pf.Load(), match.Load())
	}
}
