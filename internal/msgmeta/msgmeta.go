package msgmeta

import "unsafe"

// Meta is the socket's note on one message. Reset of the message clears it.
type Meta struct {
	// Origin is the pipe the message arrived on, set when Recv takes it
	// from the inbox; nil for a message the application made.
	Origin any
	// Drained reports that nothing else waited in the socket's inbox when
	// Recv returned the message: a reply sent in it has no more work behind
	// it and can be written at once.
	Drained bool
	// Notify marks a message the socket made itself (ROUTER_NOTIFY) while
	// it waits in the inbox, which bounds how many such messages wait.
	Notify bool
	// Command makes the writer send the message's one frame, a command's
	// body, as a ZMTP command (a SUBSCRIBE or CANCEL a SUB sends to a
	// ZMTP 3.1 peer).
	Command bool
	// Run is, for a run, the number of messages it holds; 0 for any
	// other message. A run is a message of one frame that an outbound
	// queue filled with small messages already in their ZMTP wire form,
	// so that they reach the writer in a few dense cache lines and the
	// messages themselves go back to the pool on the sender's core.
	Run int32
	// Then holds the messages ([]*wire.Msg) a filter made of this one
	// beside it, which the socket's Recv delivers right after it: an
	// XPUB's subscriber sent several subscriptions in one message, each
	// of which the application gets as a message of its own.
	Then any
}

// offset is where the Meta lies in a wire.Msg; package wire sets it when
// it is initialised.
var offset uintptr

// SetOffset records where the Meta lies in a wire.Msg. Only package wire
// calls it, once, from its init.
func SetOffset(off uintptr) { offset = off }

// Of returns the Meta inside m, which must be a *wire.Msg. It costs an
// addition: it runs for every message, where a call through an interface
// would cost a tenth of a socket's work on a small message.
func Of[M any](m *M) *Meta {
	return (*Meta)(unsafe.Add(unsafe.Pointer(m), offset))
}
