package bench

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/zrouter/zrouter/interop/internal/servers"
	"github.com/zrouter/zrouter/interop/internal/zmqc"
)

// Env describes the machine and the software measured.
type Env struct {
	NumCPU    int    `json:"nproc"`
	CPUModel  string `json:"cpu_model"`
	Kernel    string `json:"kernel"`
	GoVersion string `json:"go"`
	Libzmq    string `json:"libzmq"`
	GoZMQ     string `json:"go_zeromq_zmq4"`
	Date      string `json:"date"`
}

// CollectEnv describes the machine this process runs on.
func CollectEnv() Env {
	e := Env{
		NumCPU:    runtime.NumCPU(),
		CPUModel:  "unknown",
		Kernel:    "unknown",
		GoVersion: runtime.Version(),
		GoZMQ:     "unknown",
		Date:      time.Now().UTC().Format("2006-01-02"),
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				e.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		e.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	major, minor, patch := zmqc.Version()
	e.Libzmq = fmt.Sprintf("%d.%d.%d", major, minor, patch)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/go-zeromq/zmq4" {
				e.GoZMQ = d.Version
			}
		}
	}
	return e
}

// Report is everything a run produced.
type Report struct {
	Env       Env               `json:"env"`
	Settings  Settings          `json:"settings"`
	Scenarios []*ScenarioResult `json:"scenarios"`
	Targets   []Target          `json:"targets"`
}

// Settings records how the run was made.
type Settings struct {
	Command    string `json:"command"`
	Rounds     int    `json:"rounds"`
	IdleRounds int    `json:"idle_rounds"`
	Warmup     string `json:"warmup"`
	Duration   string `json:"duration"`
	HWM        int    `json:"hwm"`
	// MaxOtherLoad is Options.MaxOtherLoad.
	MaxOtherLoad float64 `json:"max_other_load_cores"`
	// MaxAttempts is Options.MaxAttempts, when set.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// BusyPause is Options.BusyPause, when set.
	BusyPause string `json:"busy_pause,omitempty"`
	// ClientKeepFreed is Options.ClientKeepFreed.
	ClientKeepFreed int `json:"client_keep_freed_bytes,omitempty"`
	// CurveAuth is Options.CurveAuth.
	CurveAuth bool `json:"curve_auth,omitempty"`
}

// NewReport assembles the report of a run and evaluates the targets.
func NewReport(env Env, o *Options, command string, results []*ScenarioResult) *Report {
	return &Report{
		Env: env,
		Settings: Settings{
			Command:    command,
			Rounds:     o.Rounds,
			IdleRounds: o.IdleRounds,
			Warmup:     o.Warmup.String(),
			Duration:   o.Duration.String(),
			HWM:        o.HWM,

			MaxOtherLoad:    o.MaxOtherLoad,
			MaxAttempts:     o.MaxAttempts,
			BusyPause:       durationOrEmpty(o.BusyPause),
			ClientKeepFreed: o.ClientKeepFreed,
			CurveAuth:       o.CurveAuth,
		},
		Scenarios: results,
		Targets:   Evaluate(results),
	}
}

// durationOrEmpty formats d, or gives "" for 0.
func durationOrEmpty(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Target is one goal from the performance issue and whether the run met it.
type Target struct {
	// Server is the zrouter kind measured against the goal.
	Server string `json:"server"`
	Goal   string `json:"goal"`
	// Measured is what the run measured, or why it could not.
	Measured string `json:"measured"`
	// Met is nil when the run did not measure it.
	Met *bool `json:"met"`
}

// Evaluate checks the results against the targets of the issue, once for
// every zrouter echo server the run measured.
func Evaluate(results []*ScenarioResult) []Target {
	find := func(name, kind string) *ServerResult {
		for _, r := range results {
			if r.Name == name && r.Failed == "" {
				return r.Server(kind)
			}
		}
		return nil
	}
	tp := metric{func(s *ServerResult) float64 { return s.MsgsPerSec }, Sample.MsgsPerSec}
	cpu := metric{func(s *ServerResult) float64 { return s.CPUMicrosPerMsg }, Sample.CPUMicrosPerMsg}
	p50 := metric{func(s *ServerResult) float64 { return s.P50Micros }, func(s Sample) float64 { return s.P50Micros }}
	var ts []Target
	for _, zk := range zrouterEcho {
		// The NULL server is the ceiling of the CURVE scenarios too; only
		// the others make it a subject.
		if !slices.ContainsFunc(results, func(r *ScenarioResult) bool { return !r.Curve && r.Server(zk) != nil }) {
			continue
		}
		add := func(goal, name, other string, atLeast bool, want float64, m metric, unit string) {
			ts = append(ts, ratio(find, zk, goal, name, other, atLeast, want, m, unit))
		}
		add("8x16B: msgs/s >= 1.5x libzmq C loop", "8x16B", servers.Libzmq, true, 1.5, tp, "msgs/s")
		add("8x16B: server CPU/msg <= 0.7x libzmq C loop", "8x16B", servers.Libzmq, false, 0.7, cpu, "µs/msg")
		add("1x16B: msgs/s >= 1.2x libzmq C loop", "1x16B", servers.Libzmq, true, 1.2, tp, "msgs/s")
		add("8x1KiB: msgs/s >= 1.2x libzmq C loop", "8x1KiB", servers.Libzmq, true, 1.2, tp, "msgs/s")
		add("8x64KiB: msgs/s >= 0.7x raw TCP", "8x64KiB", servers.RawTCP, true, 0.7, tp, "msgs/s")
		add("latency: p50 <= 1.0x libzmq C loop", "latency", servers.Libzmq, false, 1.0, p50, "µs")
		add("1x16B: msgs/s >= 40x go-zeromq", "1x16B", servers.GoZMQ, true, 40, tp, "msgs/s")
		add("8x16B: msgs/s >= 40x go-zeromq", "8x16B", servers.GoZMQ, true, 40, tp, "msgs/s")

		t := Target{Server: zk, Goal: "idle: <= 20 KiB RSS per idle peer at 10,000 peers", Measured: "not measured"}
		if zr := find("idle", zk); zr != nil {
			met := zr.RSSPerIdleKiB <= 20
			t.Met = &met
			t.Measured = fmt.Sprintf("%.1f KiB", zr.RSSPerIdleKiB)
		}
		ts = append(ts, t)
	}
	for _, zk := range zrouterEcho {
		if !slices.ContainsFunc(results, func(r *ScenarioResult) bool { return r.IPC && r.Server(zk) != nil }) {
			continue
		}
		for _, it := range ipcTargetScenarios {
			ts = append(ts, ratio(find, zk, fmt.Sprintf("%s: msgs/s >= %.1fx libzmq ipc C loop (as over tcp)", it.name, it.want),
				it.name, servers.Libzmq, true, it.want, tp, "msgs/s"))
		}
	}
	for _, zk := range zrouterCurve {
		if !slices.ContainsFunc(results, func(r *ScenarioResult) bool { return r.Curve && r.Server(zk) != nil }) {
			continue
		}
		for _, name := range curveTargetScenarios {
			ts = append(ts,
				ratio(find, zk, name+": msgs/s >= 1.0x libzmq CURVE C loop", name, servers.LibzmqCurve, true, 1.0, tp, "msgs/s"),
				ratio(find, zk, name+": server CPU/msg <= 1.0x libzmq CURVE C loop", name, servers.LibzmqCurve, false, 1.0, cpu, "µs/msg"))
		}
	}
	return append(ts, reqrepTargets(find)...)
}

// curveTargetScenarios are the CURVE scenarios with targets: at least
// libzmq's msgs/s at no more of its server CPU per message.
var curveTargetScenarios = []string{"curve-8x16B", "curve-8x1KiB", "curve-8x64KiB"}

// ratio evaluates the target that server kind zk's median of m in scenario
// name be at least (atLeast) or at most want times that of server other.
func ratio(find func(name, kind string) *ServerResult, zk, goal, name, other string, atLeast bool, want float64, m metric, unit string) Target {
	t := Target{Server: zk, Goal: goal}
	zr, ot := find(name, zk), find(name, other)
	if zr == nil || ot == nil || m.median(ot) == 0 {
		t.Measured = "not measured"
		return t
	}
	got := m.median(zr) / m.median(ot)
	met := got >= want
	if !atLeast {
		met = got <= want
	}
	t.Met = &met
	t.Measured = fmt.Sprintf("%.2fx (%s vs %s %s%s)", got, num(m.median(zr)), num(m.median(ot)), unit, roundRange(zr, ot, m.sample))
	return t
}

// metric is one measure of a server: its median, and its value in one run.
type metric struct {
	median func(*ServerResult) float64
	sample func(Sample) float64
}

// roundRange gives the range of the ratio a/b over the rounds in which both
// servers were measured, as "; rounds LO-HIx", or "" when fewer than two
// rounds pair up. Interleaved rounds run under the same conditions, so the
// spread of their ratios shows how firm the median's ratio is.
func roundRange(a, b *ServerResult, value func(Sample) float64) string {
	var rs []float64
	for _, sa := range a.Samples {
		for _, sb := range b.Samples {
			if sa.Round == sb.Round && value(sb) != 0 {
				rs = append(rs, value(sa)/value(sb))
			}
		}
	}
	if len(rs) < 2 {
		return ""
	}
	return fmt.Sprintf("; rounds %.2f-%.2fx", slices.Min(rs), slices.Max(rs))
}

// num formats a measurement with a precision that suits its size.
func num(x float64) string {
	switch {
	case x >= 100:
		return group(int64(x + 0.5))
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// group formats n with thousands separators.
func group(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// unit is what the scenario counts: messages, or handshakes.
func (r *ScenarioResult) unit() string {
	if r.Handshake {
		return "handshake"
	}
	return "msg"
}

// table is a scenario's results as rows of cells, with a header. A
// handshake scenario has no MB/s, and its percentiles are those of whole
// connect-echo-close cycles.
func (r *ScenarioResult) table() [][]string {
	u := r.unit()
	head := []string{"server", u + "s/s", "MB/s", "server CPU µs/" + u, "client CPU µs/" + u}
	if r.Handshake {
		head = slices.Delete(head, 2, 3)
	}
	if r.Latency {
		p := ""
		if r.Handshake {
			p = "cycle "
		}
		head = append(head, p+"p50 µs", p+"p99 µs")
	}
	if r.Idle > 0 {
		head = append(head, "RSS KiB/idle peer")
	}
	rows := [][]string{head}
	for _, s := range r.Servers {
		row := []string{s.Kind, num(s.MsgsPerSec), num(s.MBPerSec), num(s.CPUMicrosPerMsg), num(s.ClientCPUMicrosPerMsg)}
		if r.Handshake {
			row = slices.Delete(row, 2, 3)
		}
		if r.Latency {
			row = append(row, num(s.P50Micros), num(s.P99Micros))
		}
		if r.Idle > 0 {
			row = append(row, num(s.RSSPerIdleKiB))
		}
		rows = append(rows, row)
	}
	return rows
}

// ratios compares every zrouter server (or broker) of the scenario with
// every other server: one table for each, with its own header row. In a
// CURVE scenario the zrouter CURVE servers are compared with every other,
// the zrouter NULL ceiling included.
func (r *ScenarioResult) ratios() [][][]string {
	bases := zrouterKinds
	if r.Curve {
		bases = zrouterCurve
	}
	var tables [][][]string
	for _, base := range bases {
		if t := r.ratiosTo(base, bases); t != nil {
			tables = append(tables, t)
		}
	}
	return tables
}

// ratiosTo compares the server of kind base with every other server but
// those of bases.
func (r *ScenarioResult) ratiosTo(base string, bases []string) [][]string {
	zr := r.Server(base)
	if zr == nil {
		return nil
	}
	u := r.unit()
	head := []string{base + " vs", u + "s/s", "CPU/" + u}
	if r.Latency {
		head = append(head, "p50", "p99")
	}
	if r.Idle > 0 {
		head = append(head, "RSS/idle peer")
	}
	rows := [][]string{head}
	x := func(a, b float64) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fx", a/b)
	}
	for _, s := range r.Servers {
		if s == zr || slices.Contains(bases, s.Kind) {
			continue
		}
		row := []string{s.Kind, x(zr.MsgsPerSec, s.MsgsPerSec), x(zr.CPUMicrosPerMsg, s.CPUMicrosPerMsg)}
		if r.Latency {
			row = append(row, x(zr.P50Micros, s.P50Micros), x(zr.P99Micros, s.P99Micros))
		}
		if r.Idle > 0 {
			row = append(row, x(zr.RSSPerIdleKiB, s.RSSPerIdleKiB))
		}
		rows = append(rows, row)
	}
	if len(rows) == 1 {
		return nil
	}
	return rows
}

// otherLoad returns the median and the largest CPU, in cores, that the rest
// of the machine used during the scenario's runs.
func (r *ScenarioResult) otherLoad() (med, most float64) {
	var xs []float64
	for _, s := range r.Servers {
		for _, sm := range s.Samples {
			xs = append(xs, sm.OtherCPU)
			most = max(most, sm.OtherCPU)
		}
	}
	return median(xs), most
}

func (r *ScenarioResult) loadNote() string {
	med, most := r.otherLoad()
	return fmt.Sprintf("Other load on the machine during the runs: median %.2f, max %.2f cores.", med, most)
}

// WriteText writes the results as aligned plain-text tables.
func (r *Report) WriteText(w io.Writer) {
	for _, sc := range r.Scenarios {
		fmt.Fprintf(w, "\n== %s: %s\n", sc.Name, sc.Title)
		if sc.Note != "" {
			fmt.Fprintf(w, "note: %s\n", sc.Note)
		}
		if sc.Failed != "" {
			fmt.Fprintf(w, "FAILED: %s\n", sc.Failed)
			continue
		}
		writeAligned(w, sc.table())
		for _, rt := range sc.ratios() {
			fmt.Fprintln(w)
			writeAligned(w, rt)
		}
		fmt.Fprintln(w, sc.loadNote())
	}
	fmt.Fprintln(w, "\n== targets")
	for _, t := range r.Targets {
		fmt.Fprintf(w, "%-8s %-16s %-58s %s\n", verdict(t), t.Server, t.Goal, t.Measured)
	}
}

func verdict(t Target) string {
	switch {
	case t.Met == nil:
		return "n/a"
	case *t.Met:
		return "met"
	}
	return "MISSED"
}

func writeAligned(w io.Writer, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		fmt.Fprintln(w, b.String())
	}
}

// WriteMarkdown writes the environment, the tables and the targets as
// markdown.
func (r *Report) WriteMarkdown(w io.Writer) {
	e := r.Env
	fmt.Fprintf(w, "Measured on %s: %d CPUs (%s), %s; %s, libzmq %s, go-zeromq/zmq4 %s.\n",
		e.Date, e.NumCPU, e.CPUModel, e.Kernel, e.GoVersion, e.Libzmq, e.GoZMQ)
	st := r.Settings
	fmt.Fprintf(w, "Medians of %d interleaved rounds (%d for the idle scenario) of %s each, after %s of warm-up; HWM %d.\n",
		st.Rounds, st.IdleRounds, st.Duration, st.Warmup, st.HWM)
	if st.MaxOtherLoad > 0 {
		pause := ""
		if st.BusyPause != "" {
			pause = " after a pause of " + st.BusyPause
		}
		fmt.Fprintf(w, "A run during which other processes used more than %.2f cores was measured again%s, up to %d times in all.\n",
			st.MaxOtherLoad, pause, cmp.Or(st.MaxAttempts, maxAttempts))
	}
	if st.ClientKeepFreed > 0 {
		fmt.Fprintf(w, "The clients' C allocator kept up to %d MiB of freed memory (glibc's M_TRIM_THRESHOLD); the servers ran with their defaults.\n",
			st.ClientKeepFreed>>20)
	}
	if slices.ContainsFunc(r.Scenarios, func(sc *ScenarioResult) bool { return sc.Curve }) {
		fmt.Fprintln(w, r.curveNote())
	}
	if st.Command != "" {
		fmt.Fprintf(w, "Command: `%s`.\n", st.Command)
	}
	for _, sc := range r.Scenarios {
		fmt.Fprintf(w, "\n### %s: %s\n\n", sc.Name, sc.Title)
		if sc.Note != "" {
			fmt.Fprintf(w, "Note: %s\n\n", sc.Note)
		}
		if sc.Failed != "" {
			fmt.Fprintf(w, "Failed: %s\n", sc.Failed)
			continue
		}
		writeMDTable(w, sc.table())
		for _, rt := range sc.ratios() {
			fmt.Fprintln(w)
			writeMDTable(w, rt)
		}
		fmt.Fprintf(w, "\n%s\n", sc.loadNote())
	}
	fmt.Fprintf(w, "\n### Targets\n\n")
	rows := [][]string{{"server", "target", "measured", "verdict"}}
	for _, t := range r.Targets {
		rows = append(rows, []string{t.Server, t.Goal, t.Measured, verdict(t)})
	}
	writeMDTable(w, rows)
}

// curveNote says how the CURVE servers authenticated their clients.
func (r *Report) curveNote() string {
	if r.Settings.CurveAuth {
		return "The CURVE servers checked every client's key against an allow-list of the clients' keys: zrouter with socket.AllowCurveKeys, libzmq with a ZAP handler written in C in the server's process."
	}
	return "The CURVE servers authenticated no one beyond the handshake (no authenticator for zrouter, no ZAP handler for libzmq): every client that knew the server's key got in."
}

func writeMDTable(w io.Writer, rows [][]string) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(rows[0], " | "))
	align := make([]string, len(rows[0]))
	for i := range align {
		align[i] = "---:"
		if i == 0 {
			align[i] = "---"
		}
	}
	fmt.Fprintf(w, "|%s|\n", strings.Join(align, "|"))
	for _, row := range rows[1:] {
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
}
