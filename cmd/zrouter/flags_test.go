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
			wantCode: exitError, wantStderr: "bind"},
		{name: "broker bad lb", args: []string{"broker", "--frontend", "tcp://127.0.0.1:0", "--backend", "tcp://127.0.0.1:0", "--lb", "random"},
			wantCode: exitUsage, wantStderr: `bad --lb "random"`},
		{name: "unknown flag", args: []string{"echo", "--port", "5"}, wantCode: exitUsage, wantStderr: "flag provided but not defined: -port"},
		{name: "stray argument", args: []string{"echo", "--bind", "tcp://127.0.0.1:0", "extra"}, wantCode: exitUsage, wantStderr: `unexpected argument "extra"`},
		{name: "bad log level", args: []string{"echo", "--bind", "tcp://127.0.0.1:0", "--log-level", "loud"}, wantCode: exitUsage, wantStderr: "bad --log-level"},
		{name: "bad log format", args: []string{"echo", "--bind", "tcp://127.0.0.1:0", "--log-format", "xml"}, wantCode: exitUsage, wantStderr: "bad --log-format"},
		{name: "bad endpoint", args: []string{"echo", "--bind", "udp://127.0.0.1:1"}, wantCode: exitError, wantStderr: "only tcp, ipc and inproc"},
		{name: "bad sizes", args: []string{"bench", "--sizes", "16,8"}, wantCode: exitUsage, wantStderr: `bad size "8"`},
		{name: "bad clients", args: []string{"bench", "--clients", "0"}, wantCode: exitUsage, wantStderr: "must be positive"},
		{name: "bad demo workers", args: []string{"demo", "--workers", "0"}, wantCode: exitUsage, wantStderr: "must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			assert.Equal(t, tc.wantCode, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			assert.Contains(t, stdout.String(), tc.wantStdout)
			assert.Contains(t, stderr.String(), tc.wantStderr)
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
