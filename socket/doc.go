// Package socket is the vocabulary every zrouter socket shares: the
// [Socket] that each socket type embeds (endpoints, Recv, counters, events,
// Close), the options that apply to every socket type, the errors they all
// return, their [Stats], their connection events, and their security: CURVE
// and PLAIN, the keys, and the authenticators that decide who is let in.
//
// A program makes sockets with the packages of their types, router.New,
// dealer.New and so on, and passes them options from this package along
// with those of the type:
//
//	r, err := router.New(
//		socket.WithSendHWM(10000),
//		socket.WithHeartbeat(socket.Heartbeat{Interval: time.Second}),
//		router.WithMandatory(true),
//	)
//
// Errors are the same whatever socket returns them, so
// errors.Is(err, socket.ErrWouldBlock) holds for a full ROUTER in mandatory
// mode and for a DEALER with no room alike. A closed socket returns
// net.ErrClosed.
//
// The options, their defaults and their meaning follow libzmq 4.3's socket
// options; each option's comment names the libzmq option it stands for.
// Events follow zmq_socket_monitor's, delivered on a [Monitor].
//
// A CURVE server and its client, with the keys of [NewCurveKeys] or of the
// zrouter keygen command:
//
//	srv, err := router.New(socket.WithCurveServer(serverSecret),
//		socket.WithAuthenticator(socket.AllowCurveKeys(clientPublic)))
//	...
//	cli, err := dealer.New()
//	err = cli.Connect("tcp://server:5555", socket.WithCurveClient(serverPublic, clientSecret))
//
// The server's [Authenticator] plays the part of libzmq's ZAP handler, and
// [Socket.Property] tells the application which user each message came
// from.
//
// # inproc
//
// inproc://NAME connects sockets of one process. A message crosses by
// pointer: the *wire.Msg a DEALER sends is the one the ROUTER's Recv
// returns, with no encoding and no copy of its frames (only the routing id
// frame is added or taken off, as over tcp). It has the tcp endpoints'
// semantics otherwise:
//
//   - Connect may come before Bind: messages wait in the Connect's pipe
//     until the name is bound, as in libzmq 4.x.
//   - The high-water mark of each direction is the sum of the sender's
//     SNDHWM and the receiver's RCVHWM, or unlimited when either is 0, as
//     libzmq sums them.
//   - Routing ids, ConnectRoutingID, notify, probe, handover, mandatory,
//     linger, Stats and events work as over tcp, and so do Disconnect,
//     Unbind and Close: the other side sees its peer close
//     (socket.PeerClosed), its ROUTER_NOTIFY message and events.
//   - No handshake runs: socket types are not checked and security
//     mechanisms do not apply (a CURVE server takes any inproc peer), as
//     in libzmq.
//
// The names are the process's: any two sockets of a program reach each
// other by name, whichever package made them, as with libzmq's one
// context of a program. A name is bound by one socket at a time (Bind
// fails with EADDRINUSE), and is free again after Unbind or Close. A
// library that binds inproc names should prefix them with its import path,
// and tests that run in parallel should use names of their own (the
// test's name, say).
//
// Where zrouter's inproc differs from libzmq's: Unbind closes the
// connections made through the name, as it does for tcp (libzmq keeps
// them); a Connect whose peer closes reconnects when the name is bound
// again (libzmq does not); and the connection events are reported, as for
// tcp (libzmq reports none for inproc).
package socket
