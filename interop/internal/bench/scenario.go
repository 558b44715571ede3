package bench

import (
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/zrouter/zrouter/interop/internal/servers"
)

// Broker server kinds: the zrouter CLI's broker, the same with
// GOMAXPROCS=1, and zmq_proxy in C.
const (
	ZRouterBroker   = "zrouter-broker"
	ZRouterBrokerP1 = "zrouter-broker-p1"
	LibzmqProxy     = servers.LibzmqProxy
)

// oneProc lists the kinds whose process runs with GOMAXPROCS=1.
var oneProc = []string{servers.ZRouterP1, ZRouterBrokerP1, servers.ZRouterP1Curve}

// zrouterEcho lists the zrouter echo servers: the targets are evaluated for
// each, and each can write a CPU profile.
var zrouterEcho = []string{servers.ZRouter, servers.ZRouterP1}

// zrouterCurve lists the zrouter CURVE echo servers: the CURVE targets are
// evaluated for each, and each can write a CPU profile.
var zrouterCurve = []string{servers.ZRouterCurve, servers.ZRouterP1Curve}

// profiled lists the kinds that write a CPU profile with -cpuprofile.
var profiled = append(append(slices.Clip(zrouterEcho), zrouterCurve...), servers.ZRouterRep)

// zrouterKinds lists the kinds that are zrouter, the bases of the ratios,
// in the order the reports show them.
var zrouterKinds = append(slices.Clip(profiled), ZRouterBroker, ZRouterBrokerP1)

// DefaultCurveServers are the servers of the CURVE scenarios, in round
// order: the zrouter CURVE server (as the runtime sets itself up and with
// GOMAXPROCS=1), libzmq's, and the zrouter NULL server as the ceiling.
var DefaultCurveServers = []string{servers.ZRouterCurve, servers.ZRouterP1Curve, servers.LibzmqCurve, servers.ZRouter}

// CurveGroup names every CURVE scenario on the command line.
const CurveGroup = "curve"

// Scenario is one workload, run against every server.
type Scenario struct {
	// Name identifies the scenario on the command line and in reports.
	Name string `json:"name"`
	// Title describes it in one line.
	Title string `json:"title"`
	// Clients is the number of active client connections.
	Clients int `json:"clients"`
	// Size is the bytes per message.
	Size int `json:"size"`
	// Window is how many messages each client keeps in flight.
	Window int `json:"window"`
	// Latency records round-trip times (Window must be 1).
	Latency bool `json:"latency,omitempty"`
	// Idle is the number of idle peers connected before the active clients
	// run, with the server's RSS read before and after they connect.
	Idle int `json:"idle,omitempty"`
	// Broker runs REQ clients and REP workers through a broker instead of
	// DEALER clients against an echo server; Workers is the REP count.
	Broker  bool `json:"broker,omitempty"`
	Workers int  `json:"workers,omitempty"`
	// Curve runs the CURVE servers (Options.CurveServers) instead of the
	// echo servers; the clients of a CURVE server are CURVE clients, those
	// of a NULL server (the ceiling) NULL clients.
	Curve bool `json:"curve,omitempty"`
	// Handshake measures whole connections instead of messages: Clients
	// workers each connect a fresh DEALER, wait for the echo of one
	// message of Size bytes and close it, again and again (Latency then
	// records each cycle).
	Handshake bool `json:"handshake,omitempty"`
	// IPC runs the echo servers that have ipc (Options.IPCServers) on
	// ipc://* instead of tcp, with libzmq DEALER clients.
	IPC bool `json:"ipc,omitempty"`
	// ReqRep runs the REP servers (servers.RepKinds) with one REQ client:
	// libzmq's in C, or with ZReq a zrouter req.Req.
	ReqRep bool `json:"reqrep,omitempty"`
	ZReq   bool `json:"zreq,omitempty"`
}

// fullCheckSize is the largest message size whose payload is compared in
// full on every reply; bigger ones are compared on every 16th reply. Headers,
// and with them order and count, are always checked.
const fullCheckSize = 4 << 10

func (sc Scenario) sample() int {
	if sc.Size > fullCheckSize {
		return 16
	}
	return 1
}

// sizeLabel formats a message size as 16B, 1KiB, 64KiB.
func sizeLabel(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// Scenarios returns the default scenarios; idle is the number of idle peers
// of the idle scenario, brokerClients and brokerWorkers size the broker
// scenario, and handshakers is the number of connections the CURVE
// handshake scenario makes at once.
func Scenarios(idle, brokerClients, brokerWorkers, handshakers int) []Scenario {
	echo := func(clients, size, window int) Scenario {
		return Scenario{
			Name:    fmt.Sprintf("%dx%s", clients, sizeLabel(size)),
			Title:   fmt.Sprintf("%d DEALER client(s) x %s messages, window %d", clients, sizeLabel(size), window),
			Clients: clients, Size: size, Window: window,
		}
	}
	return append([]Scenario{
		echo(1, 16, 1000),
		echo(8, 16, 1000),
		echo(8, 1024, 1000),
		echo(8, 64<<10, 100),
		{
			Name:    "latency",
			Title:   "ping-pong: 1 DEALER client, 16 B, window 1",
			Clients: 1, Size: 16, Window: 1, Latency: true,
		},
		{
			// A smaller window than 8x16B: a slow server must drain
			// what is in flight at the end of every run.
			Name:    "idle",
			Title:   fmt.Sprintf("%d idle DEALERs connected, then 8 active x 16 B, window 100", idle),
			Clients: 8, Size: 16, Window: 100, Idle: idle,
		},
		{
			Name:    "broker",
			Title:   fmt.Sprintf("broker: %d REQ clients, %d REP workers, 16 B", brokerClients, brokerWorkers),
			Clients: brokerClients, Size: 16, Window: 1, Broker: true, Workers: brokerWorkers,
		},
		ipcScenario(echo(8, 16, 1000)),
		ipcScenario(echo(8, 1024, 1000)),
		ipcScenario(echo(8, 64<<10, 100)),
		curve(echo(8, 16, 1000)),
		curve(echo(8, 1024, 1000)),
		curve(echo(8, 64<<10, 100)),
		{
			Name: CurveGroup + "-handshake",
			Title: fmt.Sprintf("CURVE handshakes: %d at a time, each a fresh DEALER that connects, gets one 16 B echo and closes",
				handshakers),
			Clients: handshakers, Size: 16, Window: 1, Latency: true, Curve: true, Handshake: true,
		},
	}, reqrepScenarios()...)
}

// curve makes an echo scenario a CURVE one.
func curve(sc Scenario) Scenario {
	sc.Name = CurveGroup + "-" + sc.Name
	sc.Title = "CURVE: " + sc.Title
	sc.Curve = true
	return sc
}

// Options configures a run.
type Options struct {
	// Scenarios to run, in order.
	Scenarios []Scenario
	// Servers are the echo servers to compare (servers.Kinds by default),
	// run in this order in every round.
	Servers []string
	// Rounds is the number of interleaved rounds; IdleRounds those of
	// scenarios with idle peers, which start a fresh server every round.
	Rounds     int
	IdleRounds int
	// Warmup runs the clients before each measured run of Duration.
	Warmup   time.Duration
	Duration time.Duration
	// Settle is the pause after the idle peers connect, before the
	// server's RSS is read.
	Settle time.Duration
	// MaxOtherLoad is the CPU, in cores, that the rest of the machine may
	// use during a run; a run during which it used more is measured again
	// (up to MaxAttempts times, 3 when it is 0, keeping the last). Zero
	// disables the check.
	MaxOtherLoad float64
	MaxAttempts  int
	// BusyPause is the pause before a run is measured again.
	BusyPause time.Duration
	// Timeout is the longest a client waits without any reply, and the
	// longest a server may take to start or stop.
	Timeout time.Duration
	// HWM is the send and receive high-water mark of every ZeroMQ socket,
	// servers' and clients' (0: unlimited). It must exceed the window, so
	// that no server drops a reply for lack of room.
	HWM int
	// Self returns a command that runs this program as a child process
	// with the given arguments, which come from Child.Args. The child must
	// pass them to RunChild.
	Self func(args []string) *exec.Cmd
	// IdlePerProcess bounds the idle peers one child process holds: each
	// libzmq socket takes two file descriptors, and RLIMIT_NOFILE may not
	// be raised past its hard limit.
	IdlePerProcess int
	// ZRouterBin is the zrouter CLI, for the broker scenario; when it is
	// empty only libzmq's proxy runs there, with a note.
	ZRouterBin string
	// ZRouterMissing explains why ZRouterBin is empty.
	ZRouterMissing string
	// ClientKeepFreed, when positive, is the freed memory the C allocator of
	// this process, where the libzmq clients run, keeps instead of
	// returning it to the kernel (zmqc.KeepFreedMemory). The servers run
	// with their allocators' defaults.
	ClientKeepFreed int
	// CPUProfile, when set, makes every zrouter server child write a CPU
	// profile to CPUProfile-<scenario>.pprof.
	CPUProfile string
	// CurveServers are the servers of the CURVE scenarios
	// (DefaultCurveServers by default), in round order.
	CurveServers []string
	// CurveAuth gives the CURVE servers an allow-list of the clients' keys:
	// socket.AllowCurveKeys for zrouter, a ZAP handler in C for libzmq.
	// Without it both let in every client that knows the server's key.
	CurveAuth bool
	// IPCServers are the servers of the ipc scenarios
	// (DefaultIPCServers by default), in round order.
	IPCServers []string
	// Curve holds the keys of the CURVE scenarios; Run makes them when it
	// is nil.
	Curve *CurveKeys
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// FindScenarios picks the scenarios named in list (comma separated; "all"
// for every one, CurveGroup for every CURVE one, IPCGroup for every ipc
// one, ReqRepGroup for every REQ/REP one) from all, in all's order.
func FindScenarios(all []Scenario, list string) ([]Scenario, error) {
	if list == "" || list == "all" {
		return all, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		want[strings.TrimSpace(n)] = true
	}
	group, ipc, rr := want[CurveGroup], want[IPCGroup], want[ReqRepGroup]
	delete(want, CurveGroup)
	delete(want, IPCGroup)
	delete(want, ReqRepGroup)
	var out []Scenario
	for _, sc := range all {
		if want[sc.Name] || group && sc.Curve || ipc && sc.IPC || rr && sc.ReqRep {
			out = append(out, sc)
			delete(want, sc.Name)
		}
	}
	for n := range want {
		return nil, fmt.Errorf("bench: unknown scenario %q", n)
	}
	return out, nil
}
