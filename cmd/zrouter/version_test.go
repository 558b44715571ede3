package main

import (
	"bytes"
	"context"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVersionCommand(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		require.Equal(t, exitOK, code, "%v: %s", args, errb.String())
		assert.Regexp(t, `^zrouter \S+.* go1\.\S+ \S+/\S+\n$`, out.String(), "%v", args)
		assert.Contains(t, out.String(), " "+runtime.Version()+" ")
	}
}

func TestVersionLine(t *testing.T) {
	tail := " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"no build info", nil, false, "zrouter (devel)" + tail},
		{"installed at a version", &debug.BuildInfo{Main: debug.Module{Version: "v0.1.0"}}, true, "zrouter v0.1.0" + tail},
		{"checkout with commit", &debug.BuildInfo{
			Main:     debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}},
		}, true, "zrouter (devel) 0123456789ab" + tail},
		{"test binary", &debug.BuildInfo{}, true, "zrouter (devel)" + tail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, versionLine(tt.bi, tt.ok))
		})
	}
}
