package bench

import (
	"fmt"
	"io"
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
// the targets, met or missed.
func FanMarkdown(w io.Writer, results []*FanResult) {
	fmt.Fprintf(w, "| scenario | libzmq msg/s | zrouter msg/s | nats msg/s | zrouter/libzmq | zrouter/nats |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		lz, zr := r.Median(FanLibzmq), r.Median(FanZRouter)
		nt := 0.0
		if !r.Scenario.matching() {
			nt = natsAt(results, r.Scenario)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", r.Scenario.Name,
			pipeNum(lz), pipeNum(zr), pipeNum(nt), pipeRatio(zr, lz), pipeRatio(zr, nt))
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
		lz, zr, nt := r.Median(FanLibzmq), r.Median(FanZRouter), natsAt(results, sc)
		if lz > 0 && zr > 0 {
			notes = append(notes, fmt.Sprintf("%s: zrouter/libzmq %.2f (target %.2f) %s", sc.Name, zr/lz, FanVsLibzmq, pipeMet(zr/lz >= FanVsLibzmq)))
		}
		if nt > 0 && zr > 0 {
			notes = append(notes, fmt.Sprintf("%s: zrouter/nats %.2f (target %.2f) %s", sc.Name, zr/nt, FanVsNATS, pipeMet(zr/nt >= FanVsNATS)))
		}
	}
	if one != nil && many != nil {
		for _, k := range []string{FanZRouter, FanLibzmq} {
			a, b := one.Median(k), many.Median(k)
			if a == 0 || b == 0 {
				continue
			}
			line := fmt.Sprintf("%s: %s/%s %.2f", k, many.Scenario.Name, one.Scenario.Name, b/a)
			if k == FanZRouter {
				line += fmt.Sprintf(" (target %.2f) %s", FanMatching, pipeMet(b/a >= FanMatching))
			}
			notes = append(notes, line)
		}
	}
	fmt.Fprintf(w, "\n%s\n", strings.Join(notes, "\n"))
}
