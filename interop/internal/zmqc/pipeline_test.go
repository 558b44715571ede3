package zmqc

import (
	"testing"
	"time"
)

func TestPushPull(t *testing.T) {
	c := newContext(t)
	pulls := make([]*Socket, 2)
	var eps []string
	for i := range pulls {
		pulls[i] = newSocket(t, c, PULL)
		if err := pulls[i].SetInt(RcvTimeo, 20); err != nil {
			t.Fatal(err)
		}
		ep, err := pulls[i].Bind("tcp://127.0.0.1:*")
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, ep)
	}
	pushes := make([]*Socket, 2)
	for i := range pushes {
		pushes[i] = newSocket(t, c, PUSH)
		for _, ep := range eps {
			if err := pushes[i].Connect(ep); err != nil {
				t.Fatal(err)
			}
		}
	}
	const n, size = 5000, 100
	count := NewCounter()
	defer count.Free()
	errs := make(chan error, 4)
	for _, s := range pulls {
		go func() { errs <- Pull(s, size, count, 2*n) }()
	}
	for _, s := range pushes {
		go func() { errs <- Push(s, size, n) }()
	}
	deadline := time.After(10 * time.Second)
	for range 4 {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-deadline:
			t.Fatalf("stuck at %d of %d", count.Load(), 2*n)
		}
	}
	if got := count.Load(); got != 2*n {
		t.Fatalf("counted %d, want %d", got, 2*n)
	}
}

func TestPullRefusesWrongSize(t *testing.T) {
	c := newContext(t)
	pull := newSocket(t, c, PULL)
	if err := pull.SetInt(RcvTimeo, 20); err != nil {
		t.Fatal(err)
	}
	ep, err := pull.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	push := newSocket(t, c, PUSH)
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	if err := Push(push, 7, 1); err != nil {
		t.Fatal(err)
	}
	count := NewCounter()
	defer count.Free()
	if err := Pull(pull, 8, count, 1); err != ErrBadReply {
		t.Fatalf("got %v, want ErrBadReply", err)
	}
}
