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
// A subscriber's message of several frames is read as libzmq 4.3 reads
// it: each frame in a subscription's form is one, and what Recv returns
// is what libzmq's frames make of it: each subscription or cancel passed
// on ends a message, so ["\x01a", "\x01b"] comes as two messages and
// [data, "\x01t"] as one, the data frames in between staying together.
//
// One subscriber holds at most pub.WithMaxSubscriptions' worth of
// subscriptions (by default 1<<20 topics of 16 MiB in all), refusing the
// rest (Stats.RefusedSubscriptions); the cancels that departures make wait
// for Recv within as many, beyond which they are dropped
// (Stats.DroppedCancels). libzmq bounds neither.
//
// # Options
//
// WithVerbose and WithVerboser pass on every subscription, and every
// cancel; WithManual leaves the subscriptions to the application, which
// makes each take effect with Subscribe, and WithManualLastValue also
// sends the next message to that subscriber alone; WithOnlyFirstSubscribe
// reads a message of several frames for subscriptions only when its first
// frame is one; WithWelcome greets every new subscriber;
// pub.WithNoDrop, pub.WithMaxSubscriptions, socket.WithInvertMatching and
// socket.WithConflate are a PUB's. Each behaves as libzmq's option of the
// same name, tested against it in the interop module.
//
// # Ownership
//
// As for package pub: the locks guard the subscriptions and are never held
// across I/O, and Close waits for every goroutine the XPub started.
package xpub
