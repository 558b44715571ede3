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
package socket
