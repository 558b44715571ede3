package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Fan-out targets (issue 16): delivered msgs/s at least these multiples of
// libzmq's and of NATS's at every point, and matching with 100,000
// subscriptions that miss within this fraction of one subscription.
const (
	FanVsLibzmq = 1.5
	FanVsNATS   = 1.0
	FanMatching = 0.9
)

// natsAt returns the NATS rate of the point of sc (its subscribers and
// size), which runs only through its broker, or 0.
func natsAt(results []*FanResult, sc FanScenario) float64 {
	for _, r := range results {
		s := r.Scenario
		if s.Forwarder && !s.matching() && s.Subs == sc.Subs && s.Size == sc.Size {
			return r.Median(FanNATS)
		}
	}
	return 0
}

// FanMarkdown writes the fan-out table (medians of delivered msgs/s) and
// the targets, met or missed, for zrouter as the runtime sets itself up and
// with GOMAXPROCS=1.
func FanMarkdown(w io.Writer, results []*FanResult) {
	fmt.Fprintf(w, "| scenario | libzmq msg/s | zrouter msg/s | zrouter-p1 msg/s | nats msg/s | zrouter/libzmq | zrouter/nats | zrouter-p1/libzmq | zrouter-p1/nats |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		lz, zr, p1 := r.Median(FanLibzmq), r.Median(FanZRouter), r.Median(FanZRouterP1)
		nt := 0.0
		if !r.Scenario.matching() {
			nt = natsAt(results, r.Scenario)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Scenario.Name,
			pipeNum(lz), pipeNum(zr), pipeNum(p1), pipeNum(nt),
			pipeRatio(zr, lz), pipeRatio(zr, nt), pipeRatio(p1, lz), pipeRatio(p1, nt))
	}
	var notes []string
	var one, many *FanResult
	for _, r := range results {
		sc := r.Scenario
		if sc.matching() {
			if sc.Extra == 0 {
				one = r
			} else {
				many = r
			}
			continue
		}
		lz, nt := r.Median(FanLibzmq), natsAt(results, sc)
		for _, k := range fanZRouter {
			zr := r.Median(k)
			if lz > 0 && zr > 0 {
				notes = append(notes, fmt.Sprintf("%s: %s/libzmq %.2f (target %.2f) %s", sc.Name, k, zr/lz, FanVsLibzmq, pipeMet(zr/lz >= FanVsLibzmq)))
			}
			if nt > 0 && zr > 0 {
				notes = append(notes, fmt.Sprintf("%s: %s/nats %.2f (target %.2f) %s", sc.Name, k, zr/nt, FanVsNATS, pipeMet(zr/nt >= FanVsNATS)))
			}
		}
	}
	if one != nil && many != nil {
		for _, k := range append(slices.Clip(fanZRouter), FanLibzmq) {
			a, b := one.Median(k), many.Median(k)
			if a == 0 || b == 0 {
				continue
			}
			line := fmt.Sprintf("%s: %s/%s %.2f", k, many.Scenario.Name, one.Scenario.Name, b/a)
			if k != FanLibzmq {
				line += fmt.Sprintf(" (target %.2f) %s", FanMatching, pipeMet(b/a >= FanMatching))
			}
			notes = append(notes, line)
		}
	}
	fmt.Fprintf(w, "\n%s\n", strings.Join(notes, "\n"))
}
