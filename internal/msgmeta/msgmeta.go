// Package msgmeta holds what a socket remembers about a message it
// delivered: the pipe it came from and whether anything waited behind it.
// The fields live inside every wire.Msg, out of the application's sight;
// package wire hands them out through Of, and only socket code, which lives
// in this module, can reach them.
package msgmeta

// Meta is the socket's note on one message. Reset of the message clears it.
type Meta struct {
	// Origin is the pipe the message arrived on, set by the connection's
	// reader; nil for a message the application made.
	Origin any
	// Drained reports that nothing else waited in the socket's inbox when
	// Recv returned the message: a reply sent in it has no more work behind
	// it and can be written at once.
	Drained bool
}

// Of returns the Meta inside a *wire.Msg. Package wire sets it when it is
// initialised; m must be a *wire.Msg.
var Of func(m any) *Meta
