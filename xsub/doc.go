// Package xsub is zrouter's XSUB socket: a SUB (see package sub) whose
// subscriptions the application sends as messages, as libzmq's XSUB
// takes them, so that a forwarder can pass its XPUB's subscriptions
// upstream.
//
// A message of one frame starting with 0x01 subscribes to the rest of the
// frame, one starting with 0x00 cancels; each counts as Subscribe and
// Unsubscribe do on a SUB, and every connection, a reconnect included,
// starts with the whole set. Recv returns everything the publishers send.
//
// # Ownership
//
// As for package sub: the locks guard the subscriptions and are never
// held across I/O, and Close waits for every goroutine the XSub started.
package xsub
