package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/zrouter/zrouter/socket"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, a second one kills the process the default
	// way, should a shutdown hang.
	context.AfterFunc(ctx, stop)
	code := runIO(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // the command failed
	exitUsage = 2 // bad command line
)

// cli is one invocation: where it reads and writes.
type cli struct {
	stdin  io.Reader // what req reads its requests from, without FRAMEs
	stdout io.Writer
	stderr io.Writer
}

// command is one subcommand.
type command struct {
	name     string
	synopsis string // one line, for the overview
	run      func(ctx context.Context, c *cli, args []string) error
}

var commands = []command{
	{"echo", "a ROUTER that sends every message back to its sender", runEcho},
	{"broker", "a request-reply broker between clients and workers", runBroker},
	{"pubsub", "a pub/sub forwarder between publishers and subscribers", runPubsub},
	{"demo", "a broker, workers and clients in one process, with live figures", runDemo},
	{"bench", "echo throughput and latency of zrouter and go-zeromq/zmq4", runBench},
	{"req", "a REQ client: send a request, print the reply", runReq},
	{"rep", "a REP worker: answer each request with itself or a command's output", runRep},
	{"pub", "a publisher: send a message, or each line of stdin, on a topic", runPub},
	{"sub", "a subscriber: print each message of the topics it subscribes to", runSub},
	{"keygen", "make a CURVE key pair", runKeygen},
	{"version", "print the version of zrouter and of Go", runVersion},
}

// usageError is a bad command line; its message is shown with a hint.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// run executes the command line args and returns the exit status. It
// returns when the command is done or, for the long-running ones, when ctx
// ends (SIGINT or SIGTERM), with status 0.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runIO(ctx, args, strings.NewReader(""), stdout, stderr)
}

// runIO is run with stdin.
func runIO(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		c.overview(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(rest) > 0 && name == "help" {
			name, rest = rest[0], []string{"--help"}
			break
		}
		c.overview(stdout)
		return exitOK
	case "-version", "--version":
		name, rest = "version", nil
	}
	for _, cmd := range commands {
		if cmd.name != name {
			continue
		}
		err := cmd.run(ctx, c, rest)
		var ue *usageError
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "zrouter %s: %s\nRun 'zrouter %s --help' for usage.\n", name, ue.msg, name)
			return exitUsage
		default:
			fmt.Fprintf(stderr, "zrouter %s: %v\n", name, err)
			return exitError
		}
	}
	fmt.Fprintf(stderr, "zrouter: unknown command %q\n\n", name)
	c.overview(stderr)
	return exitUsage
}

func (c *cli) overview(w io.Writer) {
	fmt.Fprint(w, `zrouter runs ZeroMQ ROUTER devices, wire-compatible with libzmq 4.3.

Usage:
  zrouter COMMAND [flags]

Commands:
`)
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", cmd.name, cmd.synopsis)
	}
	fmt.Fprint(w, `
Run 'zrouter COMMAND --help' for a command's flags and examples.
Endpoints are tcp://HOST:PORT (tcp://*:PORT binds every IPv4 interface),
ipc:///PATH, ipc://RELATIVE/PATH or ipc://@NAME (Linux abstract namespace).
`)
}

// flags is a subcommand's flag set with the flags every command has.
type flags struct {
	*flag.FlagSet
	name      string
	help      string // usage text shown above the flag list
	examples  string // shown below the flag list
	logLevel  string
	logFormat string
	args      bool // the command takes arguments after its flags
	// checks run after parsing, each returning a usage error for a flag
	// whose value is out of range.
	checks []func() error
}

// newFlags returns the flag set of command name. help comes first in
// --help, then the flags, then examples.
func newFlags(name, help, examples string) *flags {
	f := &flags{FlagSet: flag.NewFlagSet("zrouter "+name, flag.ContinueOnError), name: name, help: help, examples: examples}
	f.SetOutput(io.Discard)
	f.Usage = func() {}
	f.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&f.logFormat, "log-format", "text", "log format on stderr: text or json")
	return f
}

// parse parses args. On --help it prints the usage to stdout and returns
// flag.ErrHelp; on a bad command line, a *usageError. Otherwise it returns
// the logger the logging flags ask for.
func (f *flags) parse(c *cli, args []string) (*slog.Logger, error) {
	err := f.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		f.printUsage(c.stdout)
		return nil, err
	}
	if err != nil {
		return nil, f.flagError(err)
	}
	if f.NArg() > 0 && !f.args {
		return nil, usagef("unexpected argument %q", f.Arg(0))
	}
	for _, check := range f.checks {
		if err := check(); err != nil {
			return nil, err
		}
	}
	return newLogger(c.stderr, f.logLevel, f.logFormat)
}

// The package flag's messages that name a flag, as it spells them: with
// one dash.
var (
	flagInvalidValue = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-([^:]+): (.*)$`)
	flagNamed        = regexp.MustCompile(`(^|: )-(-?[A-Za-z0-9][A-Za-z0-9-]*)`)
)

// flagError turns an error of the package flag into a usage error that
// names the flag as --help does, and says what a value should look like.
func (f *flags) flagError(err error) error {
	msg := err.Error()
	if m := flagInvalidValue.FindStringSubmatch(msg); m != nil {
		value, name, why := m[1], m[2], m[3]
		if fl := f.Lookup(name); fl != nil {
			if g, ok := fl.Value.(flag.Getter); ok {
				switch g.Get().(type) {
				case time.Duration:
					why = "want a duration such as 5s"
				case int, int64, uint, uint64:
					why = "want a whole number"
				case float64:
					why = "want a number"
				case bool:
					why = "want true or false"
				}
			}
		}
		return usagef("bad --%s %q: %s", name, value, why)
	}
	return &usageError{msg: flagNamed.ReplaceAllStringFunc(msg, func(s string) string {
		i := strings.Index(s, "-")
		return s[:i] + "--" + strings.TrimLeft(s[i:], "-")
	})}
}

func (f *flags) printUsage(w io.Writer) {
	fmt.Fprintf(w, "%s\n\nFlags:\n", strings.TrimSpace(f.help))
	f.VisitAll(func(fl *flag.Flag) {
		typ, usage := flag.UnquoteUsage(fl)
		line := "  --" + fl.Name
		if typ != "" {
			line += " " + typ
		}
		fmt.Fprintf(w, "%s\n        %s", line, usage)
		switch fl.DefValue {
		case "", "0", "0s", "false":
		default:
			if typ == "string" {
				fmt.Fprintf(w, " (default %q)", fl.DefValue)
			} else {
				fmt.Fprintf(w, " (default %s)", fl.DefValue)
			}
		}
		fmt.Fprintln(w)
	})
	if f.examples != "" {
		fmt.Fprintf(w, "\nExamples:\n%s\n", strings.Trim(f.examples, "\n"))
	}
}

// newLogger returns a slog logger writing to w at the given level, in text
// or JSON.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("bad --log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("bad --log-format %q: want text or json", format)
}

// endpointError returns err, from a Bind or Connect of the endpoint ep
// given with --name, as a usage error naming the flag when ep is no
// endpoint; any other error as it is.
func endpointError(name, ep string, err error) error {
	if !errors.Is(err, socket.ErrBadEndpoint) {
		return err
	}
	why := err.Error()
	if _, after, ok := strings.Cut(why, fmt.Sprintf("%q: ", ep)); ok {
		why = after
	}
	return usagef("bad --%s %q: %s", name, ep, why)
}

// required returns a usage error naming the first empty flag among names.
func required(f *flags, values map[string]string) error {
	var missing []string
	f.VisitAll(func(fl *flag.Flag) {
		if v, ok := values[fl.Name]; ok && v == "" {
			missing = append(missing, "--"+fl.Name)
		}
	})
	if len(missing) > 0 {
		return usagef("missing %s", strings.Join(missing, " and "))
	}
	return nil
}
