package bench

import (
	"os"

	"github.com/zrouter/zrouter/interop/internal/servers"
)

// IPCGroup names every ipc scenario on the command line.
const IPCGroup = "ipc"

// DefaultIPCServers are the servers of the ipc scenarios, in round order:
// the zrouter echo (as the runtime sets itself up and with GOMAXPROCS=1)
// and libzmq's ROUTER echo in C. The other servers speak tcp only.
var DefaultIPCServers = []string{servers.ZRouter, servers.ZRouterP1, servers.Libzmq}

// ipcScenario makes an echo scenario an ipc one: the server binds ipc://*
// and the libzmq clients connect to the path it reports.
func ipcScenario(sc Scenario) Scenario {
	sc.Name = IPCGroup + "-" + sc.Name
	sc.Title = "ipc: " + sc.Title
	sc.IPC = true
	return sc
}

// ipcTargetScenarios are the ipc scenarios with targets, each with the
// tcp scenario it mirrors: zrouter's ratio to libzmq over ipc is to be at
// least the ratio the issue asks of it over tcp.
var ipcTargetScenarios = []struct {
	name, tcp string
	want      float64
}{
	{"ipc-8x16B", "8x16B", 1.5},
	{"ipc-8x1KiB", "8x1KiB", 1.2},
	{"ipc-8x64KiB", "8x64KiB", 1.0},
}

// bindAddr returns the endpoint a server of scenario sc binds.
func (sc Scenario) bindAddr() string {
	if sc.IPC {
		return "ipc://*"
	}
	return "tcp://127.0.0.1:0"
}

// ipcEnv is the environment a server child of an ipc scenario adds: the
// temporary directory under which ipc://* makes its socket, the same for
// zrouter and libzmq (which would use its working directory without one).
func ipcEnv() []string { return []string{"TMPDIR=" + os.TempDir()} }
