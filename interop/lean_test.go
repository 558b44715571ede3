package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// leanProgram is a program outside the repository that uses only the
// router and dealer packages: a DEALER has one request echoed by a ROUTER
// over loopback TCP.
const leanProgram = `package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/zrouter/zrouter/dealer"
	"github.com/zrouter/zrouter/router"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := router.New()
	if err != nil {
		return err
	}
	defer r.Close()
	if err := r.Bind("tcp://127.0.0.1:0"); err != nil {
		return err
	}
	d, err := dealer.New()
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Connect(r.Addr()); err != nil {
		return err
	}
	if err := d.SendFrames(ctx, []byte("ping")); err != nil {
		return err
	}
	m, err := r.Recv(ctx)
	if err != nil {
		return err
	}
	if err := r.Send(ctx, m); err != nil {
		return err
	}
	reply, err := d.Recv(ctx)
	if err != nil {
		return err
	}
	defer reply.Release()
	fmt.Printf("%s\n", reply.Frames[0])
	return nil
}
`

// leanGo runs the go command in dir as a user outside the repository would,
// but offline: no workspace, no network, no checksum database, and the
// requirements in go.mod brought up to date as the build needs. The module
// cache holds what the library needs, since its own tests ran first.
func leanGo(t *testing.T, dir string, args ...string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "the go command")
	cmd := exec.Command(goBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off", "GOSUMDB=off", "GOTOOLCHAIN=local")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// leanBanned are the modules that only the CLI and the tests against
// go-zeromq/zmq4 need.
var leanBanned = []string{"prometheus", "go-zeromq", "goczmq"}

// TestLeanLibraryModule: a program that imports only router and dealer has
// neither Prometheus nor go-zeromq/zmq4 nor goczmq in its go.mod or
// anywhere in its module graph, links no module beyond the library,
// bytebufferpool, x/crypto and x/sys, and builds and runs. Those
// requirements belong to the CLI's module and to this one; the library's
// go.mod is all that a program inherits.
func TestLeanLibraryModule(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	dir := t.TempDir()
	gomod := "module example.com/consumer\n\ngo 1.26.0\n\n" +
		"require github.com/zrouter/zrouter v0.0.0\n\n" +
		"replace github.com/zrouter/zrouter => " + root + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(leanProgram), 0o644))

	// The build adds what the program's packages need to its go.mod.
	bin := filepath.Join(dir, "consumer")
	leanGo(t, dir, "build", "-o", bin, ".")
	got, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err)
	t.Logf("go.mod:\n%s", got)
	for _, banned := range leanBanned {
		assert.NotContains(t, string(got), banned, "the program's go.mod")
	}

	// The whole module graph, each edge "from@version to@version". go mod
	// graph fails when the graph cannot be loaded; go list -m -e all lists
	// it for the log (-e: offline, some modules' version metadata is
	// missing from the module cache).
	graph := leanGo(t, dir, "mod", "graph")
	all := leanGo(t, dir, "list", "-m", "-e", "all")
	t.Logf("go list -m all:\n%s", all)
	var mods []string
	for _, node := range strings.Fields(graph) {
		path, _, _ := strings.Cut(node, "@")
		mods = append(mods, path)
	}
	mods = slices.Compact(slices.Sorted(slices.Values(mods)))
	require.Contains(t, mods, "github.com/zrouter/zrouter", "the library is in the graph")
	for _, m := range mods {
		for _, banned := range leanBanned {
			assert.NotContains(t, m, banned, "a program using router and dealer inherits %s", m)
		}
	}

	// What is compiled into the program: its modules, besides the standard
	// library and the program itself.
	deps := leanGo(t, dir, "list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", ".")
	linked := slices.Compact(slices.Sorted(slices.Values(strings.Fields(deps))))
	assert.Equal(t, []string{
		"example.com/consumer",
		"github.com/valyala/bytebufferpool",
		"github.com/zrouter/zrouter",
		"golang.org/x/crypto",
		"golang.org/x/sys",
	}, linked, "the modules a program using router and dealer links")

	out, err := exec.Command(bin).CombinedOutput()
	require.NoError(t, err, "the program runs:\n%s", out)
	assert.Equal(t, "ping\n", string(out), "the echoed request")
}
