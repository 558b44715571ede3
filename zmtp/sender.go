package zmtp

import (
	"errors"
	"io"
	"net"
	"time"
)

// senderQueue is how many writes a handshake may have outstanding before
// WriteCommand waits for the peer to read.
const senderQueue = 8

// aLongTimeAgo is a deadline in the past: setting it makes a blocked Read or
// Write on a net.Conn return at once.
var aLongTimeAgo = time.Unix(1, 0)

// sender writes a handshake's outgoing bytes from a goroutine of its own.
//
// Both ends of a ZMTP handshake write (greeting, READY) before they read.
// Over a buffered transport such as TCP the writes return at once, but over
// an unbuffered one such as net.Pipe a Write blocks until the peer reads, and
// two peers that write from the goroutine that later reads would deadlock.
// With the sender, reading never waits on writing. The goroutine has ended
// by the time the handshake returns (see finish and abort).
type sender struct {
	w      io.Writer
	q      chan []byte
	failed chan struct{} // closed on the first write error
	done   chan struct{} // closed when run returns
	err    error         // the first write error; read after failed or done
	// last, when set before q is closed, runs once every write is done.
	last func()
	// closed is set when the handshake stops sending; only the handshake's
	// goroutine uses it.
	closed bool
}

// errHandshakeOver is returned by HandshakeConn.WriteCommand once the
// handshake has ended.
var errHandshakeOver = errors.New("zmtp: write after the handshake ended")

func startSender(w io.Writer) *sender {
	s := &sender{
		w:      w,
		q:      make(chan []byte, senderQueue),
		failed: make(chan struct{}),
		done:   make(chan struct{}),
	}
	go s.run()
	return s
}

func (s *sender) run() {
	defer close(s.done)
	for b := range s.q {
		if s.err != nil {
			continue // drop what is left after a failure
		}
		if _, err := s.w.Write(b); err != nil {
			s.err = err
			close(s.failed)
		}
	}
	if s.last != nil {
		s.last()
	}
}

// send queues b for writing; the sender owns b from then on. Once a write
// has failed, send drops b: the failure is reported by finish, if the
// handshake's reads, which usually tell more about a peer that went away,
// have not failed first. send fails only after the handshake ended.
func (s *sender) send(b []byte) error {
	if s.closed {
		return errHandshakeOver
	}
	select {
	case <-s.failed:
	case s.q <- b:
	}
	return nil
}

// finish waits until every queued write is done and returns the first write
// error.
func (s *sender) finish() error {
	s.closed = true
	close(s.q)
	<-s.done
	return s.err
}

// abort ends the sender at once: writes still blocked on the peer fail.
func (s *sender) abort(conn net.Conn) {
	if err := conn.SetWriteDeadline(aLongTimeAgo); err != nil {
		_ = conn.Close() // no deadlines: closing is the only way out
	}
	_ = s.finish()
}

// finishDraining waits until every queued write is done while it reads and
// drops whatever the peer sends, so that a peer that is itself writing
// before it reads (a zrouter peer sending its own ERROR over net.Pipe) can
// make progress. It returns when the writes are done, or when the peer
// closes or fails, in which case the writes still pending are dropped.
func (s *sender) finishDraining(conn net.Conn) {
	s.closed = true
	s.last = func() {
		if err := conn.SetReadDeadline(aLongTimeAgo); err != nil {
			_ = conn.Close()
		}
	}
	close(s.q)
	var buf [256]byte
	for {
		if _, err := conn.Read(buf[:]); err != nil {
			break
		}
	}
	_ = conn.SetWriteDeadline(aLongTimeAgo)
	<-s.done
}
