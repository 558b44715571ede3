package dealer

// Stats are a dealer's counters since it was created.
type Stats struct {
	Peers  int    // live connections
	Pipes  int    // pipes in the round robin: one per Connect and per accepted connection
	Queued int    // messages waiting in pipes or being written
	Sent   uint64 // messages handed to connections
	// SentDirect counts the messages of Sent that Send wrote itself, with
	// no hand-off to a connection's writer.
	SentDirect uint64
	Received   uint64 // messages received from peers
	// Dropped counts messages accepted by Send that were discarded before
	// any connection took them: queued for an accepted connection that
	// ended, or still queued when the Dealer closed.
	Dropped uint64
}
