// Package wire holds zrouter's message type and the buffer pooling behind it.
//
// A [Msg] is a multipart message: an ordered list of frames. A message owns
// the memory of its frames until it is handed to a socket's Send (which takes
// ownership) or released with [Msg.Release]. Messages and their storage are
// recycled through pools, so a steady stream of messages costs no allocation
// per message once the pools are warm.
//
// The package knows nothing of the ZMTP wire format or of routing; it only
// owns memory.
package wire
