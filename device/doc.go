// Package device holds the devices that join two zrouter sockets: the
// sockets a program makes, binds and connects, and a device that moves
// messages between them until it is told to stop.
//
//   - [Proxy] is libzmq's zmq_proxy and zmq_proxy_steerable over any two
//     sockets: ROUTER and DEALER make the shared queue that spreads
//     requests round robin over REP workers (zrouter broker --lb rr); as
//     in libzmq, PULL and PUSH make a streamer, and XSUB and XPUB a
//     forwarder, with the socket types that have them. It copies every
//     message to an optional capture socket, and it can be paused,
//     resumed, terminated and asked for its counters, by its methods or
//     by libzmq's PAUSE, RESUME, TERMINATE and STATISTICS commands on a
//     control socket.
//   - [Forwarder] is the pub/sub forwarder, zmq_proxy(XSUB, XPUB) (zrouter
//     pubsub): a Proxy that also counts, from its XPUB, the subscribers
//     of each topic prefix.
//   - [LoadBalancer] is the zguide's load-balancing broker (zrouter broker
//     --lb ready): workers announce themselves with [Ready], and each
//     request goes to the worker that has waited longest.
//
// A device owns none of its sockets: it never closes them, and the
// program closes them after Run has returned. Each device's Run starts
// the goroutines that move messages, and returns only when every one of
// them has ended.
package device
