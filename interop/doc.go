// Package interop holds tests and benchmarks that run the zrouter library
// against real libzmq through github.com/pebbe/zmq4 (cgo).
//
// It is a separate Go module so that the library's own go.mod stays pure Go:
// only this module needs cgo, a C compiler and the libzmq development files.
package interop
