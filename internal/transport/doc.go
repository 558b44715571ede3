// Package transport owns endpoints and the connections behind them: it
// parses endpoints as libzmq writes them, binds listeners and dials, with
// the socket options that belong to the transport (IPv6, TCP keepalive,
// IPC permissions and credential filters). It has tcp:// and ipc://.
// It knows nothing of ZMTP; the socket core runs the loops that use it.
package transport
