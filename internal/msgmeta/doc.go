// Package msgmeta holds what a socket remembers about a message it
// delivered: the pipe it came from and whether anything waited behind it.
// The fields live inside every wire.Msg, out of the application's sight;
// package wire tells where, and only socket code, which lives in this
// module, can reach them.
package msgmeta
