package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunCommandLine(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // substring; "" checks nothing
		wantStderr string
	}{
		{name: "no args", args: nil, wantCode: exitUsage, wantStderr: "Commands:"},
		{name: "help", args: []string{"--help"}, wantCode: exitOK, wantStdout: "broker"},
		{name: "help command", args: []string{"help", "broker"}, wantCode: exitOK, wantStdout: "READY"},
		{name: "unknown command", args: []string{"proxy"}, wantCode: exitUsage, wantStderr: `unknown command "proxy"`},
		{name: "echo help", args: []string{"echo", "--help"}, wantCode: exitOK, wantStdout: "zrouter echo --bind tcp://*:5555"},
		{name: "broker help", args: []string{"broker", "-h"}, wantCode: exitOK, wantStdout: "--lb ready"},
		{name: "demo help", args: []string{"demo", "--help"}, wantCode: exitOK, wantStdout: "Examples:"},
		{name: "bench help", args: []string{"bench", "--help"}, wantCode: exitOK, wantStdout: "--sizes string"},
		{name: "echo without bind", args: []string{"echo"}, wantCode: exitUsage, wantStderr: "missing --bind"},
		{name: "broker without endpoints", args: []string{"broker"}, wantCode: exitUsage, wantStderr: "missing --backend and --frontend"},
		{name: "broker same endpoints", args: []string{"broker", "--frontend", "tcp://127.0.0.1:1", "--backend", "tcp://127.0.0.1:1"},
			wantCode: exitUsage, wantStderr: `--frontend and --backend are both "tcp://127.0.0.1:1"`},
		{name: "broker same endpoint spelled twice", args: []string{"broker", "--frontend", "tcp://*:5555", "--backend", "tcp://localhost:5555"},
			wantCode: exitUsage, wantStderr: "--frontend and --backend are both"},
		{name: "broker same ipc endpoint", args: []string{"broker", "--frontend", "ipc://@zr-same", "--backend", "ipc://@zr-same"},
			wantCode: exitUsage, wantStderr: "--frontend and --backend are both"},
		{name: "broker queue without ready", args: []string{"broker", "--frontend", "tcp://127.0.0.1:0", "--backend", "tcp://127.0.0.1:0", "--queue", "5"},
			wantCode: exitUsage, wantStderr: "--queue is for --lb ready"},
		{name: "broker bad frontend", args: []string{"broker", "--frontend", "tcp://nohost", "--backend", "tcp://127.0.0.1:0"},
			wantCode: exitUsage, wantStderr: `bad --frontend "tcp://nohost": no port`},
		{name: "broker bad backend", args: []string{"broker", "--frontend", "tcp://127.0.0.1:0", "--backend", "foo", "--lb", "ready"},
			wantCode: exitUsage, wantStderr: `bad --backend "foo": want tcp://`},
		{name: "negative heartbeat", args: []string{"broker", "--frontend", "tcp://127.0.0.1:0", "--backend", "tcp://127.0.0.1:0", "--heartbeat", "-1s"},
			wantCode: exitUsage, wantStderr: "bad --heartbeat -1s"},
		{name: "negative sndhwm", args: []string{"echo", "--bind", "tcp://127.0.0.1:0", "--sndhwm", "-5"},
			wantCode: exitUsage, wantStderr: "bad --sndhwm -5: want 0"},
		{name: "negative rcvhwm", args: []string{"echo", "--bind", "tcp://127.0.0.1:0", "--rcvhwm", "-1"},
			wantCode: exitUsage, wantStderr: "bad --rcvhwm -1"},
		{name: "bad max-msg-size", args: []string{"echo", "--bind", "tcp://127.0.0.1:0", "--max-msg-size", "-2"},
			wantCode: exitUsage, wantStderr: "bad --max-msg-size -2"},
		{name: "duration without unit", args: []string{"broker", "--stats-interval", "5"},
			wantCode: exitUsage, wantStderr: `bad --stats-interval "5": want a duration such as 5s`},
		{name: "int flag given text", args: []string{"echo", "--sndhwm", "lots"},
			wantCode: exitUsage, wantStderr: `bad --sndhwm "lots": want a whole number`},
		{name: "flag without value", args: []string{"echo", "--bind"},
			wantCode: exitUsage, wantStderr: "flag needs an argument: --bind"},
		{name: "req bad endpoint", args: []string{"req", "--connect", "tcp://nohost", "x"},
			wantCode: exitUsage, wantStderr: `bad --connect "tcp://nohost": no port`},
		{name: "rep without endpoint", args: []string{"rep", "--echo"}, wantCode: exitUsage, wantStderr: "missing --bind or --connect"},
		{name: "rep with both endpoints", args: []string{"rep", "--bind", "tcp://127.0.0.1:0", "--connect", "tcp://127.0.0.1:1", "--echo"},
			wantCode: exitUsage, wantStderr: "--bind and --connect"},
		{name: "rep without answer", args: []string{"rep", "--bind", "tcp://127.0.0.1:0"}, wantCode: exitUsage, wantStderr: "missing --echo or -- COMMAND"},
		{name: "rep echo and command", args: []string{"rep", "--bind", "tcp://127.0.0.1:0", "--echo", "--", "cat"},
			wantCode: exitUsage, wantStderr: "--echo and a COMMAND"},
		{name: "rep bad timeout", args: []string{"rep", "--bind", "tcp://127.0.0.1:0", "--command-timeout", "0s", "--", "cat"},
			wantCode: exitUsage, wantStderr: "bad --command-timeout 0s"},
		{name: "rep bad endpoint", args: []string{"rep", "--connect", "tcp://nohost", "--echo"},
			wantCode: exitUsage, wantStderr: `bad --connect "tcp://nohost": no port`},
		{name: "rep client flag on bind", args: []string{"rep", "--bind", "tcp://127.0.0.1:0", "--plain-user", "u", "--echo"},
			wantCode: exitUsage, wantStderr: "are for --connect"},
		{name: "rep server flag on connect", args: []string{"rep", "--connect", "tcp://127.0.0.1:1", "--plain-users", "f", "--echo"},
			wantCode: exitUsage, wantStderr: "are for --bind"},
		{name: "rep help", args: []string{"rep", "--help"}, wantCode: exitOK, wantStdout: "--command-timeout"},
		{name: "req bad count", args: []string{"req", "--connect", "tcp://127.0.0.1:1", "--count", "0", "x"},
			wantCode: exitUsage, wantStderr: "bad --count 0"},
		{name: "demo bad lb", args: []string{"demo", "--lb", "random"}, wantCode: exitUsage, wantStderr: `bad --lb "random"`},
		{name: "demo bad clients", args: []string{"demo", "--clients", "0"}, wantCode: exitUsage, wantStderr: "bad --clients 0: want 1 or more"},
		{name: "demo bad work", args: []string{"demo", "--work", "-1s"}, wantCode: exitUsage, wantStderr: "bad --work -1s"},
		{name: "broker bad lb", args: []string{"broker", "--frontend", "tcp://127.0.0.1:0", "--backend", "tcp://127.0.0.1:0", "--lb", "random"},
			wantCode: exitUsage, wantStderr: `bad --lb "random"`},
		{name: "unknown flag", args: []string{"echo", "--port", "5"}, wantCode: exitUsage, wantStderr: "flag provided but not defined: --port"},
		{name: "stray argument", args: []string{"echo", "--bind", "tcp://127.0.0.1:0", "extra"}, wantCode: exitUsage, wantStderr: `unexpected argument "extra"`},
		{name: "bad log level", args: []string{"echo", "--bind", "tcp://127.0.0.1:0", "--log-level", "loud"}, wantCode: exitUsage, wantStderr: "bad --log-level"},
		{name: "bad log format", args: []string{"echo", "--bind", "tcp://127.0.0.1:0", "--log-format", "xml"}, wantCode: exitUsage, wantStderr: "bad --log-format"},
		{name: "bad endpoint", args: []string{"echo", "--bind", "udp://127.0.0.1:1"}, wantCode: exitUsage, wantStderr: `bad --bind "udp://127.0.0.1:1": transport "udp" is not supported`},
		{name: "bind without scheme", args: []string{"echo", "--bind", "foo"}, wantCode: exitUsage, wantStderr: `bad --bind "foo": want tcp://HOST:PORT`},
		{name: "bad sizes", args: []string{"bench", "--sizes", "16,8"}, wantCode: exitUsage, wantStderr: `bad size "8"`},
		{name: "bad clients", args: []string{"bench", "--clients", "0"}, wantCode: exitUsage, wantStderr: "must be positive"},
		{name: "bad demo workers", args: []string{"demo", "--workers", "0"}, wantCode: exitUsage, wantStderr: "bad --workers 0: want 1 or more"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			assert.Equal(t, tc.wantCode, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			assert.Contains(t, stdout.String(), tc.wantStdout)
			assert.Contains(t, stderr.String(), tc.wantStderr)
			if tc.wantCode == exitUsage {
				// A usage error speaks of flags, not of packages.
				assert.NotRegexp(t, `(^|: )(socket|transport|router|dealer|device|req|rep):`, stderr.String())
				assert.NotRegexp(t, `(^|[ :])-[a-z]`, stderr.String(), "a flag with one dash")
			}
		})
	}
}

func TestParseSizes(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{in: "16,1024,65536", want: []int{16, 1024, 65536}},
		{in: " 32 , 64", want: []int{32, 64}},
		{in: "15", wantErr: true},
		{in: "16,,32", wantErr: true},
		{in: "1k", wantErr: true},
		{in: "999999999", wantErr: true},
	}
	for _, tc := range tests {
		got, err := parseSizes(tc.in)
		if tc.wantErr {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

func TestNewLoggerFormats(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(&buf, "warn", "json")
	require.NoError(t, err)
	log.Info("hidden")
	log.Warn("shown", "k", 1)
	assert.NotContains(t, buf.String(), "hidden")
	assert.Contains(t, buf.String(), `"msg":"shown"`)

	buf.Reset()
	log, err = newLogger(&buf, "debug", "text")
	require.NoError(t, err)
	log.Debug("detail")
	assert.Contains(t, buf.String(), "level=DEBUG msg=detail")
}
