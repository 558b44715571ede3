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

// TestRewriteRedrawsASavedReport checks that -report reads what -json wrote
// and writes the same JSON and a markdown report from it, with the targets
// evaluated again. (A chart needs echo scenarios; the report package's
// tests draw those.)
func TestRewriteRedrawsASavedReport(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.json")
	saved := `{"env":{"date":"2026-11-23","nproc":2},"settings":{"rounds":3},"scenarios":[],"targets":[{"goal":"stale goal","measured":"1x"}]}`
	if err := os.WriteFile(in, []byte(saved), 0o644); err != nil {
		t.Fatal(err)
	}
	out := outputs{json: filepath.Join(dir, "out.json"), md: filepath.Join(dir, "out.md")}
	if err := rewrite(in, out); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(out.md)
	if err != nil {
		t.Fatal(err)
	}
	assert.Contains(t, string(md), "Measured on 2026-11-23: 2 CPUs")
	assert.NotContains(t, string(md), "stale goal", "targets come from the results")
	js, err := os.ReadFile(out.json)
	if err != nil {
		t.Fatal(err)
	}
	assert.Contains(t, string(js), `"date": "2026-11-23"`)

	assert.Error(t, rewrite(filepath.Join(dir, "missing.json"), out))
	if err := os.WriteFile(in, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	assert.Error(t, rewrite(in, out))
}
