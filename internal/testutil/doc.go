// Package testutil holds what the tests of every package share: polling
// for a condition and a context bounded for a test.
package testutil
