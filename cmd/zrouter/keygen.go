package main

import (
	"context"
	"fmt"

	"github.com/zrouter/zrouter/socket"
)

const keygenHelp = `
Usage: zrouter keygen

Makes a CURVE key pair from the system's random source, as
zmq_curve_keypair does, and prints it in Z85, 40 characters each:

  public: KEY
  secret: KEY

The output is what --curve-secret-file reads, and its public line is what
--curve-allow lists. Keep the secret to the machine that uses it.
`

const keygenExamples = `
  zrouter keygen > server.key && chmod 600 server.key
  zrouter keygen > client.key && grep public: client.key >> clients.keys`

func runKeygen(_ context.Context, c *cli, args []string) error {
	f := newFlags("keygen", keygenHelp, keygenExamples)
	if _, err := f.parse(c, args); err != nil {
		return err
	}
	pub, sec, err := socket.NewCurveKeys()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "public: %s\nsecret: %s\n", pub, sec)
	return err
}
