// Package transport owns endpoints and the connections behind them: parsing
// "tcp://host:port" endpoints, binding listeners, and dialing with the
// reconnect backoff that connecting sockets use. It is shared by the ROUTER
// and DEALER sockets and knows nothing of ZMTP.
package transport
