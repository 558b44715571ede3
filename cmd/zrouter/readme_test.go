package main

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/internal/testutil"
)

// TestReadmeMetricsExist: every zrouter_ metric the CLI reference
// (docs/cli.md, which the README links) names is served by the broker in
// ready mode (which has every metric of rr mode, and the broker's), with
// every label it gives.
func TestReadmeMetricsExist(t *testing.T) {
	readme, err := os.ReadFile("../../docs/cli.md")
	require.NoError(t, err)
	b := runningBroker(t, lbReady, 10)
	// A peer that has gone, for the close reasons.
	c := newDealer(t, b.frontendAddr())
	require.NoError(t, c.SendFrames(testCtx(t), nil, []byte("x")))
	testutil.CheckFor(t, 10*time.Second, func() bool { return b.front.Stats().MsgsIn == 1 }, "client connected")
	require.NoError(t, c.Close())
	testutil.CheckFor(t, 10*time.Second, func() bool { return b.front.Stats().Disconnected == 1 }, "client gone")
	got := gatherMetrics(t, b)
	// The pub/sub forwarder's own, with a subscriber for a prefix.
	for k, v := range gatherForwarderMetrics(t) {
		got[k] = v
	}
	served := map[string][]string{} // name → the label sets served
	for k := range got {
		name, labels, _ := strings.Cut(k, "{")
		served[name] = append(served[name], labels)
	}
	named := regexp.MustCompile("`(zrouter_[a-z_]+)(\\{[^}`]*\\})?`").FindAllStringSubmatch(string(readme), -1)
	require.NotEmpty(t, named)
	var names []string
	for _, m := range named {
		name, labels := m[1], m[2]
		names = append(names, name)
		sets, ok := served[name]
		if !assert.True(t, ok, "docs/cli.md names %s, which is not served", name) {
			continue
		}
		// {socket, reason="a|b"} names labels, and maybe their values.
		for _, l := range strings.Split(strings.Trim(labels, "{}"), ",") {
			key, values, hasValues := strings.Cut(strings.TrimSpace(l), "=")
			if key == "" {
				continue
			}
			if !hasValues {
				assert.True(t, anyContains(sets, key+"="), "%s has no label %s: %v", name, key, sets)
				continue
			}
			for _, v := range strings.Split(strings.Trim(values, `"`), "|") {
				assert.True(t, anyContains(sets, key+`="`+v+`"`), "%s has no %s=%q: %v", name, key, v, sets)
			}
		}
	}
	sort.Strings(names)
	t.Logf("docs/cli.md names %d metrics: %v", len(names), names)
}

func anyContains(sets []string, sub string) bool {
	for _, s := range sets {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
