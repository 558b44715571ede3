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
// A message of several frames is read as libzmq 4.3 reads it: every frame
// with a subscription's form subscribes or cancels (with
// WithOnlyFirstSubscribe, only when the first frame is one), and the
// message goes to every publisher with its frames in that form, as
// libzmq's XSUB forwards them; a frame that cancels a topic still
// subscribed to (or never subscribed) is left out of it, as libzmq leaves
// it out. Where libzmq's leaving out the last frame would let the message
// run into the next one, zrouter's message ends with the frame before.
//
// # Ownership
//
// As for package sub: the locks guard the subscriptions and are never
// held across I/O, and Close waits for every goroutine the XSub started.
package xsub
