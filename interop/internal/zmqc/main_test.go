package zmqc

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind, such as
// one still blocked in a C loop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
