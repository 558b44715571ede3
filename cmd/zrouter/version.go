package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

const versionHelp = `
Usage: zrouter version

Prints the version of the zrouter module this binary was built from, the
Go version that built it, and the platform: a binary installed with
'go install github.com/zrouter/zrouter/cmd/zrouter@v0.1.0' says v0.1.0; one
built from a checkout says (devel), with the commit when the build
recorded it. 'zrouter --version' prints the same.
`

func runVersion(_ context.Context, c *cli, args []string) error {
	f := newFlags("version", versionHelp, "\n  zrouter version")
	if _, err := f.parse(c, args); err != nil {
		return err
	}
	_, err := fmt.Fprintln(c.stdout, versionLine(debug.ReadBuildInfo()))
	return err
}

// versionLine describes the build: "zrouter VERSION GOVERSION OS/ARCH".
func versionLine(bi *debug.BuildInfo, ok bool) string {
	v := "(devel)"
	if ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		if v == "(devel)" {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					v += " " + s.Value[:12]
				}
			}
		}
	}
	return fmt.Sprintf("zrouter %s %s %s/%s", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
