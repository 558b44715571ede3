package zmqc

/*
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "loops.h"
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unsafe"
)

// ZAPEndpoint is where libzmq looks for the ZAP handler of a context: a
// CURVE server asks the handler bound there, in its own context, about every
// client, and lets every client in when there is none.
const ZAPEndpoint = "inproc://zeromq.zap.01"

// PAIR is the socket type a monitor's events are read from.
const PAIR Type = C.ZMQ_PAIR

// Monitor events (ZMQ_EVENT_*) that the tests of the harness wait for.
const (
	EventHandshakeSucceeded  = C.ZMQ_EVENT_HANDSHAKE_SUCCEEDED
	EventHandshakeFailedAuth = C.ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
	EventAll                 = C.ZMQ_EVENT_ALL
	EventAccepted            = C.ZMQ_EVENT_ACCEPTED
	EventAcceptFailed        = C.ZMQ_EVENT_ACCEPT_FAILED
)

// HasCurve reports whether the linked libzmq supports CURVE.
func HasCurve() bool {
	cs := C.CString("curve")
	defer C.free(unsafe.Pointer(cs))
	return C.zmq_has(cs) != 0
}

// setString sets an option that takes a string.
func (s *Socket) setString(o C.int, v string) error {
	cs := C.CString(v)
	defer C.free(unsafe.Pointer(cs))
	if rc, err := retry(func() (C.int, error) {
		rc, err := C.zmq_setsockopt(s.p, o, unsafe.Pointer(cs), C.size_t(len(v)))
		return rc, err
	}); rc != 0 {
		return errnoOf(err)
	}
	return nil
}

// SetCurveServer makes s a CURVE server (ZMQ_CURVE_SERVER) with the secret
// key secret, in Z85 (ZMQ_CURVE_SECRETKEY). Call it before Bind.
func (s *Socket) SetCurveServer(secret string) error {
	one := C.int(1)
	if rc, err := retry(func() (C.int, error) {
		rc, err := C.zmq_setsockopt(s.p, C.ZMQ_CURVE_SERVER, unsafe.Pointer(&one), C.size_t(unsafe.Sizeof(one)))
		return rc, err
	}); rc != 0 {
		return errnoOf(err)
	}
	if err := s.setString(C.ZMQ_CURVE_SECRETKEY, secret); err != nil {
		return fmt.Errorf("zmqc: CURVE secret key: %w", err)
	}
	return nil
}

// SetCurveClient makes s a CURVE client of the server whose public key is
// server (ZMQ_CURVE_SERVERKEY), with the key pair public and secret
// (ZMQ_CURVE_PUBLICKEY, ZMQ_CURVE_SECRETKEY), all in Z85. Call it before
// Connect.
func (s *Socket) SetCurveClient(server, public, secret string) error {
	for _, o := range []struct {
		opt  C.int
		name string
		v    string
	}{
		{C.ZMQ_CURVE_SERVERKEY, "server key", server},
		{C.ZMQ_CURVE_PUBLICKEY, "public key", public},
		{C.ZMQ_CURVE_SECRETKEY, "secret key", secret},
	} {
		if err := s.setString(o.opt, o.v); err != nil {
			return fmt.Errorf("zmqc: CURVE %s: %w", o.name, err)
		}
	}
	return nil
}

// ZAPAllow answers, in C, the ZAP requests that arrive on s, a REP socket
// bound to ZAPEndpoint in the context of the CURVE server it authenticates.
// It lets in the CURVE clients whose public key (in Z85) is one of keys,
// with the key in Z85 as their User-Id, and refuses every other peer with
// status 400, as an allow-list handler such as czmq's zauth does. It returns
// nil when the context is shut down.
func ZAPAllow(s *Socket, keys []string) error {
	for _, k := range keys {
		if len(k) != 40 {
			return fmt.Errorf("zmqc: %q is not a CURVE key in Z85", k)
		}
	}
	ck := C.CString(strings.Join(keys, ""))
	defer C.free(unsafe.Pointer(ck))
	if e := C.zb_zap_allow(s.p, ck, C.int(len(keys))); e != 0 {
		return Errno(e)
	}
	return nil
}

// Monitor publishes the events of s that are in the mask events on
// endpoint (inproc://...), where a PAIR socket can read them (ReadEvent).
func (s *Socket) Monitor(endpoint string, events int) error {
	cs := C.CString(endpoint)
	defer C.free(unsafe.Pointer(cs))
	if rc, err := retry(func() (C.int, error) {
		rc, err := C.zmq_socket_monitor(s.p, cs, C.int(events))
		return rc, err
	}); rc != 0 {
		return errnoOf(err)
	}
	return nil
}

// ReadEvent reads one event from a PAIR socket connected to a monitor's
// endpoint: its number (ZMQ_EVENT_*) and value.
func ReadEvent(pair *Socket) (event int, value uint32, err error) {
	frames, err := pair.Recv()
	if err != nil {
		return 0, 0, err
	}
	if len(frames) != 2 || len(frames[0]) != 6 {
		return 0, 0, fmt.Errorf("zmqc: not a monitor event: %q", frames)
	}
	return int(binary.LittleEndian.Uint16(frames[0])), binary.LittleEndian.Uint32(frames[0][2:]), nil
}

// CurveKeypair makes a CURVE key pair with zmq_curve_keypair, in Z85.
func CurveKeypair() (public, secret string, err error) {
	var pub, sec [41]C.char
	if rc, err := C.zmq_curve_keypair(&pub[0], &sec[0]); rc != 0 {
		return "", "", errnoOf(err)
	}
	return C.GoString(&pub[0]), C.GoString(&sec[0]), nil
}
