package bench

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/zrouter/zrouter/interop/internal/servers"
)

// chartStyle gives each server a colour and a dash pattern.
var chartStyle = map[string]struct{ color, dash string }{
	servers.ZRouter:   {"#1f6fd0", ""},
	servers.ZRouterP1: {"#7a3fc4", "10 3"},
	servers.Libzmq:    {"#d23c2a", ""},
	servers.GoZMQ:     {"#2a9d3c", "6 3"},
	servers.RawTCP:    {"#707070", "2 3"},
	servers.RawTCPZMQ: {"#b07a10", "8 3 2 3"},
}

type point struct{ x, y float64 }

type series struct {
	name  string
	color string
	dash  string
	pts   []point
}

// chartScenarios returns the echo scenarios that form the size sweep: the
// ones with the most clients among those without latency, idle peers or a
// broker, ordered by message size.
func chartScenarios(results []*ScenarioResult) []*ScenarioResult {
	var pick []*ScenarioResult
	most := 0
	for _, r := range results {
		if r.Failed != "" || r.Latency || r.Idle > 0 || r.Broker || r.Curve {
			continue
		}
		switch {
		case r.Clients > most:
			most, pick = r.Clients, []*ScenarioResult{r}
		case r.Clients == most:
			pick = append(pick, r)
		}
	}
	slices.SortFunc(pick, func(a, b *ScenarioResult) int { return a.Size - b.Size })
	return pick
}

// WriteSVG draws throughput and server CPU per message against message size
// for every server, from the echo scenarios with the most clients. It
// writes a self-contained SVG made of line, rect and text elements.
func (r *Report) WriteSVG(w io.Writer) error {
	pick := chartScenarios(r.Scenarios)
	if len(pick) == 0 {
		return fmt.Errorf("bench: no echo scenario to chart")
	}
	var kinds []string
	for _, sc := range pick {
		for _, s := range sc.Servers {
			if !slices.Contains(kinds, s.Kind) {
				kinds = append(kinds, s.Kind)
			}
		}
	}
	build := func(metric func(*ServerResult) float64) []series {
		var ss []series
		for _, k := range kinds {
			st, ok := chartStyle[k]
			if !ok {
				st.color = "#000000"
			}
			s := series{name: k, color: st.color, dash: st.dash}
			for _, sc := range pick {
				if sr := sc.Server(k); sr != nil && metric(sr) > 0 {
					s.pts = append(s.pts, point{float64(sc.Size), metric(sr)})
				}
			}
			ss = append(ss, s)
		}
		return ss
	}
	var sizes []float64
	for _, sc := range pick {
		sizes = append(sizes, float64(sc.Size))
	}

	const width, height = 960, 492
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", width, height)
	title := fmt.Sprintf("Echo over TCP loopback, %d clients, one server process each", pick[0].Clients)
	text(&b, width/2, 24, "middle", 16, "bold", title)
	sub := fmt.Sprintf("%d CPUs (%s), %s, libzmq %s, go-zeromq/zmq4 %s; median of %d interleaved rounds",
		r.Env.NumCPU, r.Env.CPUModel, r.Env.GoVersion, r.Env.Libzmq, r.Env.GoZMQ, r.Settings.Rounds)
	text(&b, width/2, 44, "middle", 12, "normal", sub)
	panel(&b, 80, 80, 360, 300, "Throughput (msgs/s, higher is better)", sizes,
		build(func(s *ServerResult) float64 { return s.MsgsPerSec }))
	panel(&b, 560, 80, 360, 300, "Server CPU per message (µs, lower is better)", sizes,
		build(func(s *ServerResult) float64 { return s.CPUMicrosPerMsg }))
	// Legend, in as many rows as it needs.
	lx, ly := 80.0, 442.0
	for _, k := range kinds {
		st := chartStyle[k]
		label := legendName(k)
		w := 48 + 7*float64(len(label))
		if lx > 80 && lx+w > width-40 {
			lx, ly = 80, ly+22
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2.5"%s/>`+"\n", lx, ly, lx+28, ly, st.color, dashAttr(st.dash))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="6" height="6" fill="%s"/>`+"\n", lx+11, ly-3, st.color)
		text(&b, lx+34, ly+4, "start", 12, "normal", label)
		lx += w
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func legendName(kind string) string {
	switch kind {
	case servers.ZRouter:
		return "zrouter"
	case servers.ZRouterP1:
		return "zrouter, GOMAXPROCS=1"
	case servers.Libzmq:
		return "libzmq (C echo loop)"
	case servers.GoZMQ:
		return "go-zeromq/zmq4"
	case servers.RawTCP:
		return "raw TCP (Go clients)"
	case servers.RawTCPZMQ:
		return "raw TCP (libzmq clients)"
	}
	return kind
}

func dashAttr(d string) string {
	if d == "" {
		return ""
	}
	return fmt.Sprintf(` stroke-dasharray="%s"`, d)
}

func text(b *strings.Builder, x, y float64, anchor string, size int, weight, s string) {
	var esc strings.Builder
	_ = xml.EscapeText(&esc, []byte(s))
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="%s" font-size="%d" font-weight="%s" fill="#222222">%s</text>`+"\n",
		x, y, anchor, size, weight, esc.String())
}

// panel draws one log-log chart with its axes in the box at (x0, y0).
func panel(b *strings.Builder, x0, y0, w, h float64, title string, sizes []float64, ss []series) {
	text(b, x0+w/2, y0-12, "middle", 13, "bold", title)
	// x: log2 of the size, half a step of margin on each side.
	xlo, xhi := math.Log2(slices.Min(sizes))-0.5, math.Log2(slices.Max(sizes))+0.5
	// y: whole decades around every value.
	ylo, yhi := math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for _, p := range s.pts {
			ylo = min(ylo, math.Log10(p.y))
			yhi = max(yhi, math.Log10(p.y))
		}
	}
	if math.IsInf(ylo, 0) {
		ylo, yhi = 0, 1
	}
	ylo, yhi = math.Floor(ylo), math.Ceil(yhi)
	if yhi == ylo {
		yhi++
	}
	px := func(v float64) float64 { return x0 + (math.Log2(v)-xlo)/(xhi-xlo)*w }
	py := func(v float64) float64 { return y0 + h - (math.Log10(v)-ylo)/(yhi-ylo)*h }

	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#999999"/>`+"\n", x0, y0, w, h)
	for d := ylo; d <= yhi; d++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, d)
			if math.Log10(v) > yhi+1e-9 {
				break
			}
			y := py(v)
			stroke := "#eeeeee"
			if m == 1 {
				stroke = "#d0d0d0"
				text(b, x0-6, y+4, "end", 11, "normal", short(v))
			}
			fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", x0, y, x0+w, y, stroke)
		}
	}
	for _, s := range sizes {
		x := px(s)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#d0d0d0"/>`+"\n", x, y0, x, y0+h)
		text(b, x, y0+h+16, "middle", 11, "normal", sizeLabel(int(s)))
	}
	text(b, x0+w/2, y0+h+34, "middle", 12, "normal", "message size")
	for _, s := range ss {
		for i := 1; i < len(s.pts); i++ {
			a, c := s.pts[i-1], s.pts[i]
			fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2.5"%s/>`+"\n",
				px(a.x), py(a.y), px(c.x), py(c.y), s.color, dashAttr(s.dash))
		}
		for _, p := range s.pts {
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="7" height="7" fill="%s"/>`+"\n", px(p.x)-3.5, py(p.y)-3.5, s.color)
		}
	}
}

// short formats an axis value: 0.1, 1, 10, 1k, 10k, 1M.
func short(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%gG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%gk", v/1e3)
	}
	return fmt.Sprintf("%g", v)
}
