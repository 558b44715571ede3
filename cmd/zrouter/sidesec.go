package main

import (
	"log/slog"

	"github.com/zrouter/zrouter/socket"
)

// eitherSec are the security flags of a command that binds or connects
// (rep, pub, sub): a server's with --bind, a client's with --connect, and
// --curve-secret-file for both.
type eitherSec struct {
	srv secFlags
	cl  clientSec
}

func addEitherSecFlags(f *flags) *eitherSec {
	s := &eitherSec{}
	f.StringVar(&s.srv.curveSecretFile, "curve-secret-file", "",
		"our CURVE secret key, in `FILE`: with --bind, a CURVE server with it; with --connect, the key a CURVE client proves itself with")
	f.StringVar(&s.srv.curveAllow, "curve-allow", "", "with --bind: let in only the CURVE clients whose public keys `FILE` lists")
	f.StringVar(&s.srv.plainUsers, "plain-users", "", "with --bind: a PLAIN server for the user:password lines of `FILE`")
	f.StringVar(&s.cl.serverKey, "curve-server-key", "", "with --connect: be a CURVE client of the server with this public `KEY` (Z85)")
	s.cl.addPlain(f)
	return s
}

// options returns the socket's options (a server's) and the Connect's (a
// client's) that the flags ask for, with --bind when bind is set.
func (s *eitherSec) options(log *slog.Logger, bind bool) (sockOpts, connOpts []socket.Option, err error) {
	cl := s.cl
	if bind {
		if cl.serverKey != "" || cl.plainUser != "" || cl.plainPass != "" || cl.plainPassFile != "" {
			return nil, nil, usagef("--curve-server-key and --plain-user are for --connect; with --bind, use --curve-secret-file or --plain-users")
		}
		sockOpts, err = s.srv.options(log, "")
		return sockOpts, nil, err
	}
	if s.srv.curveAllow != "" || s.srv.plainUsers != "" {
		return nil, nil, usagef("--curve-allow and --plain-users are for --bind")
	}
	cl.secretFile = s.srv.curveSecretFile
	connOpts, err = cl.options(log)
	return nil, connOpts, err
}

// bindOrConnect checks that exactly one of --bind and --connect is given,
// for a what that binds or connects.
func bindOrConnect(what, bind, connect string) error {
	switch {
	case bind == "" && connect == "":
		return usagef("missing --bind or --connect")
	case bind != "" && connect != "":
		return usagef("--bind and --connect: a %s binds or connects, not both", what)
	}
	return nil
}
