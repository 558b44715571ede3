// Package xpub is zrouter's XPUB socket: a PUB (see package pub) that
// hands its subscribers' subscriptions to the application, as libzmq's
// XPUB does, so that a forwarder can pass them upstream.
//
// Recv returns a subscription when it gives a prefix its first
// subscriber, and a cancel when it takes the last one, each as one frame:
// 0x01 (subscribe) or 0x00 (cancel), then the topic, whichever form the
// subscriber sent it in. When a subscriber's connection ends, its
// subscriptions end with it, and the cancels that makes are delivered
// behind everything that subscriber sent. Messages a subscriber sends
// that are not subscriptions are delivered as they are.
//
// # Options
//
// WithVerbose and WithVerboser pass on every subscription, and every
// cancel; WithManual leaves the subscriptions to the application, which
// makes each take effect with Subscribe; WithWelcome greets every new
// subscriber; pub.WithNoDrop, socket.WithInvertMatching and
// socket.WithConflate are a PUB's. Each behaves as libzmq's option of the
// same name, tested against it in the interop module.
//
// # Ownership
//
// As for package pub: the locks guard the subscriptions and are never held
// across I/O, and Close waits for every goroutine the XPub started.
package xpub
