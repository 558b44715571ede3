// Package interop holds tests and benchmarks that run the zrouter library
// against real libzmq through github.com/pebbe/zmq4 (cgo), and against the
// pure-Go github.com/go-zeromq/zmq4.
//
// It is a separate Go module so that the library's own go.mod stays pure Go
// and lean: only this module needs cgo, a C compiler and the libzmq
// development files, and only it requires go-zeromq/zmq4 (and through it
// goczmq).
package interop
