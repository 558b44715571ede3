package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/zrouter/zrouter/socket"
)

// secFlags are the security flags of a bound socket: CURVE server or
// PLAIN server, each with who it lets in.
type secFlags struct {
	curveSecretFile string // CURVE server with this secret key
	curveAllow      string // the only client keys let in; empty: all
	plainUsers      string // PLAIN server with these user:password lines
}

// addSecFlags adds the security flags, named with prefix ("" or
// "frontend-"...), saying which socket they are for in side.
func addSecFlags(f *flags, prefix, side string) *secFlags {
	s := &secFlags{}
	f.StringVar(&s.curveSecretFile, prefix+"curve-secret-file", "",
		"make "+side+" a CURVE server with the secret key in `FILE` (what 'zrouter keygen' prints)")
	f.StringVar(&s.curveAllow, prefix+"curve-allow", "",
		"let in only the CURVE clients whose public keys `FILE` lists, one per line (default: any client)")
	f.StringVar(&s.plainUsers, prefix+"plain-users", "",
		"make "+side+" a PLAIN server for the user:password lines of `FILE`")
	return s
}

// over returns s with the fields that o sets replaced by o's: a side's own
// flags over those of every socket.
func (s secFlags) over(o *secFlags) secFlags {
	if o.curveSecretFile != "" || o.plainUsers != "" {
		// A side that names its mechanism takes none of the shared one.
		s = secFlags{}
	}
	if o.curveSecretFile != "" {
		s.curveSecretFile = o.curveSecretFile
	}
	if o.curveAllow != "" {
		s.curveAllow = o.curveAllow
	}
	if o.plainUsers != "" {
		s.plainUsers = o.plainUsers
	}
	return s
}

// options reads the files the flags name and returns the socket options
// they make, logging the server's public key, which its clients need.
func (s secFlags) options(log *slog.Logger, prefix string) ([]socket.Option, error) {
	switch {
	case s.curveSecretFile != "" && s.plainUsers != "":
		return nil, usagef("--%scurve-secret-file and --%splain-users: a socket is a CURVE or a PLAIN server, not both", prefix, prefix)
	case s.curveAllow != "" && s.curveSecretFile == "":
		return nil, usagef("--%scurve-allow needs --%scurve-secret-file", prefix, prefix)
	case s.curveSecretFile != "":
		secret, err := socket.ReadCurveSecret(s.curveSecretFile)
		if err != nil {
			return nil, fmt.Errorf("reading the CURVE secret key: %w", err)
		}
		opts := []socket.Option{socket.WithCurveServer(secret)}
		if s.curveAllow != "" {
			a, err := socket.LoadCurveKeys(s.curveAllow)
			if err != nil {
				return nil, fmt.Errorf("reading the allowed CURVE keys: %w", err)
			}
			opts = append(opts, socket.WithAuthenticator(logRefusals(log, a)))
		}
		log.Info("CURVE server", "public-key", secret.Public().String(), "allow", orAny(s.curveAllow))
		return opts, nil
	case s.plainUsers != "":
		a, err := socket.LoadPlainPasswords(s.plainUsers)
		if err != nil {
			return nil, fmt.Errorf("reading the PLAIN users: %w", err)
		}
		log.Info("PLAIN server", "users", s.plainUsers)
		return []socket.Option{socket.WithPlainServer(), socket.WithAuthenticator(logRefusals(log, a))}, nil
	}
	return nil, nil
}

func orAny(file string) string {
	if file == "" {
		return "any client"
	}
	return file
}

// logRefusals logs each peer that a refuses, with what it presented.
func logRefusals(log *slog.Logger, a socket.Authenticator) socket.Authenticator {
	return socket.AuthFunc(func(ctx context.Context, r socket.AuthRequest) socket.AuthReply {
		rep := a.Authenticate(ctx, r)
		if rep.Status != socket.AuthOK {
			who := r.Username
			if r.Mechanism == "CURVE" {
				who = r.ClientKey.String()
			}
			log.Warn("client refused", "mechanism", r.Mechanism, "address", r.Address, "client", who, "why", rep.Text)
		}
		return rep
	})
}
