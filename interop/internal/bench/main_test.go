package bench

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// childEnv carries a child's command line when the test binary runs as one
// of the harness's child processes.
const childEnv = "ZBENCH_TEST_CHILD"

// TestMain runs the test binary as a server or idle-peer child when the
// harness under test starts it as one; otherwise it runs the tests and
// fails the package if one leaves a goroutine behind.
func TestMain(m *testing.M) {
	if args := os.Getenv(childEnv); args != "" {
		run := ChildMain
		if IsPipeChild(strings.Split(args, "\x1f")) {
			run = func(a []string) error { return PipeChildMain(a, os.Stdout) }
		}
		if IsFanChild(strings.Split(args, "\x1f")) {
			run = func(a []string) error { return FanChildMain(a, os.Stdout) }
		}
		if err := run(strings.Split(args, "\x1f")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}
