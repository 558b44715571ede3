package core

import (
	"context"

	"github.com/zrouter/zrouter/peer"
	"github.com/zrouter/zrouter/socket"
)

// Close closes the socket, waiting for queued messages as the linger
// option says.
func (s *Socket) Close() error {
	ctx, cancel := s.lingerContext(context.Background())
	defer cancel()
	s.shutdown(ctx)
	return nil
}

// Shutdown closes the socket, waiting for queued messages while ctx
// allows. It returns ctx's error when it had to drop messages.
func (s *Socket) Shutdown(ctx context.Context) error {
	if s.shutdown(ctx) {
		return ctx.Err()
	}
	return nil
}

// shutdown closes the socket, giving the pipes until ctx ends to drain,
// and reports whether messages were left when it did. A second call waits
// for the first.
func (s *Socket) shutdown(ctx context.Context) (dropped bool) {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		<-s.closed
		return false
	}
	s.closing.Store(true)
	s.doneStop()
	binds := s.binds
	s.binds = nil
	s.mu.Unlock()
	s.changed() // WaitPeers returns
	for _, b := range binds {
		s.closeListener(b)
	}
	// Recv fails from now on, and readers drop what comes in, so that
	// the connections stay up for their writers to drain.
	s.Inbox.Close()

	// Linger: every pipe gets until ctx ends to write what it holds,
	// reconnecting where its Connect would.
	for _, p := range s.reg.snapshot() {
		s.drain(ctx, p, p.more)
		if p.Q.Len() > 0 {
			dropped = true
		}
	}

	s.cancel() // connect loops and handshakes stop
	s.mu.Lock()
	s.stopped = true
	live := make([]*peer.Peer, 0, len(s.live))
	for pr := range s.live {
		live = append(live, pr)
	}
	s.mu.Unlock()
	for _, pr := range live {
		pr.Close(socket.ClosedByOwner)
	}
	s.loops.Wait() // connect loops retire their pipes
	s.peers.Wait() // connections retire theirs
	for _, p := range s.reg.snapshot() {
		s.detach(p)
		s.retire(p)
	}
	s.routing.Close()
	s.stopMonitors()
	close(s.closed)
	return dropped
}
