package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestZRouterCLIMissing checks that a missing or unbuildable zrouter CLI is
// reported, so that the broker scenario says why zrouter is not in it.
func TestZRouterCLIMissing(t *testing.T) {
	dir := t.TempDir()
	path, why := zrouterCLI(filepath.Join(dir, "nope"), "")
	assert.Empty(t, path)
	assert.Contains(t, why, "is not there")

	// A directory without a Go module cannot build ./cmd/zrouter.
	path, why = zrouterCLI("", dir)
	assert.Empty(t, path)
	assert.Contains(t, why, "could not be built")

	bin := filepath.Join(dir, "zrouter")
	if err := os.WriteFile(bin, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	path, why = zrouterCLI(bin, "")
	assert.Equal(t, bin, path)
	assert.Empty(t, why)
}
