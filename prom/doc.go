// Package prom exports zrouter's counters as Prometheus metrics: a
// collector that reads the Stats of the sockets it is given, and of a
// device.LoadBalancer, at scrape time, and a build_info gauge. It is a
// module of its own, so that only a program that imports it requires the
// Prometheus client.
//
// Every metric is named zrouter_*, in base units, with _total on
// counters. Each socket's metrics carry a socket label with the name the
// program gave it; a counter split by cause carries a reason label:
//
//	zrouter_peers{socket}                          gauge
//	zrouter_queued_messages{socket}                gauge
//	zrouter_peers_connected_total{socket}
//	zrouter_peers_disconnected_total{socket}
//	zrouter_messages_received_total{socket}
//	zrouter_messages_sent_total{socket}
//	zrouter_messages_sent_direct_total{socket}
//	zrouter_received_bytes_total{socket}
//	zrouter_sent_bytes_total{socket}
//	zrouter_messages_dropped_total{socket, reason}  hwm, unroutable, closed, empty, in
//	zrouter_connections_refused_total{socket, reason}  routing_id_taken, max_peers, filtered
//	zrouter_handshake_failures_total{socket}
//	zrouter_peer_closes_total{socket, reason}       peer_closed, protocol_error, ...
//	zrouter_events_dropped_total{socket}
//	zrouter_broker_queued_requests                 gauge
//	zrouter_broker_ready_workers                   gauge
//	zrouter_broker_queue_dropped_total
//	zrouter_broker_dispatched_total
//	zrouter_broker_replied_total
//	zrouter_build_info{version, goversion}         gauge, always 1
//
// A collector owns no goroutine: it reads the counters when the registry
// gathers them.
package prom
