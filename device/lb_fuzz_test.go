package device

import (
	"bytes"
	"context"
	"testing"

	"github.com/zrouter/zrouter/router"
	"github.com/zrouter/zrouter/socket"
	"github.com/zrouter/zrouter/wire"
)

// FuzzLoadBalancerMessages feeds the LoadBalancer's loop whatever workers
// and clients may send: data is a sequence of messages split at 0xfe,
// each a kind byte (even: from the backend, odd: from the frontend) and
// frames split at 0xff, the first of them the sender's routing id as the
// ROUTER puts it there. Nothing may panic, the queue stays within its
// bound, and the ready list holds at most one entry per message.
func FuzzLoadBalancerMessages(f *testing.F) {
	for _, seed := range [][]byte{
		[]byte("\x00w\xff\xffREADY\xfe\x01c\xff\xffhello\xfe\x00w\xff\xffc\xff\xffworld"),
		[]byte("\x00w\xffREADY\xfe\x01c\xffx\xfe\x00w\xffc\xff\xffy"),
		[]byte("\x00w\xfe\x00w\xff\xfe\x00w\xff\xff\xfe\x00w\xff\xffc"),
		[]byte("\x01c\xff\xffa\xfe\x01c\xff\xffb\xfe\x01c\xff\xffc\xfe\x00w\xff\xffREADY"),
		{},
	} {
		f.Add(seed)
	}
	front, err := router.New(socket.WithLinger(0))
	if err != nil {
		f.Fatal(err)
	}
	defer front.Close()
	back, err := router.New(socket.WithLinger(0), router.WithMandatory(true))
	if err != nil {
		f.Fatal(err)
	}
	defer back.Close()
	const queue = 2
	l, err := NewLoadBalancer(front, back, WithQueue(queue))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newLBLoop(l)
		defer func() {
			for _, m := range s.pending[s.head:] {
				m.Release()
			}
		}()
		msgs := bytes.Split(data, []byte{0xfe})
		for _, raw := range msgs {
			if len(raw) == 0 {
				continue
			}
			m := wire.New(bytes.Split(raw[1:], []byte{0xff})...)
			if raw[0]%2 == 0 {
				s.fromWorker(context.Background(), m)
			} else {
				s.request(m)
			}
			if n := len(s.pending) - s.head; n > queue {
				t.Fatalf("%d requests queued, over the bound of %d", n, queue)
			}
		}
		if s.ready.Len() > len(msgs) {
			t.Fatalf("%d ready entries from %d messages", s.ready.Len(), len(msgs))
		}
	})
}
