// Package lb holds the load-balancing selectors a socket's hub uses to pick
// the peer for the next message: [RoundRobin], which heals itself by
// dropping dead entries lazily when it meets them, and [Ready], a
// least-recently-ready queue for worker pools that ask for work.
//
// Selectors are owned by one goroutine: their methods are never called
// concurrently, and they do no locking of their own.
package lb
