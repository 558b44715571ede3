// Package config holds the settings of one socket, as its options leave
// them: every libzmq socket option zrouter knows, for every socket type, in
// one struct, as libzmq keeps them in its options_t. Package socket and the
// socket types make the options; the socket core reads the settings.
//
// An option names the socket types it applies to and whether Connect may
// give it for one connection; New and Connect refuse an option given where
// it does not apply, as zmq_setsockopt returns EINVAL.
package config
