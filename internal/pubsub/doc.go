// Package pubsub is the routing that PUB, XPUB, SUB and XSUB share on the
// socket core: the subscription trie, the publisher's distribution to its
// subscribers' queues, and the subscriber's filter and upstream
// subscriptions. Packages pub, xpub, sub and xsub wrap it in their public
// types.
//
// # Wire forms
//
// A subscriber sends each subscription to a ZMTP 3.1 peer as a SUBSCRIBE
// or CANCEL command, and to a ZMTP 3.0 (or older, or inproc) peer as a
// message whose first byte is 0x01 or 0x00, as libzmq 4.3 does. A
// publisher takes both forms from any peer: the readers turn the commands
// into the message form (peer.Config.Subscriptions) and the pipe's filter
// (core.Spec.Filter) acts on them before anything reaches the inbox.
//
// # Locks
//
// Pub.mu guards the trie and is never held while a queue is pushed to: a
// Send collects the matching pipes under it, then queues outside it, so
// an inproc subscriber's filter, which runs in the publisher's Send,
// never waits on it. Sub.mu guards the live pipes and is held while
// subscriptions are queued, so that every pipe sees them in one order;
// Sub.fmu guards the filter alone and is taken by readers for a moment.
package pubsub
