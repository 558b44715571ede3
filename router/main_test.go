package router

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(floodEnv); addr != "" {
		floodChild(addr)
		return
	}
	goleak.VerifyTestMain(m)
}
