package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunInproc(t *testing.T) {
	rs, err := RunInproc(context.Background(), InprocOptions{Sizes: []int{16, 1 << 10}, Rounds: 2, Msgs: 2000, Trips: 200, HWM: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 {
		t.Fatalf("%d results", len(rs))
	}
	for _, r := range rs {
		if r.ZRouterMsgs <= 0 || r.LibzmqMsgs <= 0 || r.ZRouterP50 <= 0 || r.LibzmqP50 <= 0 {
			t.Errorf("%d B: %+v", r.Size, r)
		}
		if len(r.TputRatios) != 2 || len(r.P50Ratios) != 2 {
			t.Errorf("%d B: ratios of %d and %d rounds", r.Size, len(r.TputRatios), len(r.P50Ratios))
		}
	}
	var b bytes.Buffer
	WriteInproc(&b, rs)
	if got := strings.Count(b.String(), "\n"); got != 4 {
		t.Errorf("%d lines:\n%s", got, b.String())
	}
}
