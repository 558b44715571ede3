package zmtp

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// rfcTypes are the socket types of RFC 23 and 37, in the matrix's order.
var rfcTypes = []SocketType{PAIR, PUB, SUB, REQ, REP, DEALER, ROUTER, PULL, PUSH, XPUB, XSUB}

// TestCompatibleMatrix spells out, for each RFC 37 socket type, which peer
// types it accepts. Rows are the local type, columns the peer's, in
// rfcTypes order.
func TestCompatibleMatrix(t *testing.T) {
	const (
		y = true
		n = false
	)
	matrix := map[SocketType][11]bool{
		//       PAIR PUB SUB REQ REP DEALER ROUTER PULL PUSH XPUB XSUB
		PAIR:   {y, n, n, n, n, n, n, n, n, n, n},
		PUB:    {n, n, y, n, n, n, n, n, n, n, y},
		SUB:    {n, y, n, n, n, n, n, n, n, y, n},
		REQ:    {n, n, n, n, y, n, y, n, n, n, n},
		REP:    {n, n, n, y, n, y, n, n, n, n, n},
		DEALER: {n, n, n, n, y, y, y, n, n, n, n},
		ROUTER: {n, n, n, y, n, y, y, n, n, n, n},
		PULL:   {n, n, n, n, n, n, n, n, y, n, n},
		PUSH:   {n, n, n, n, n, n, n, y, n, n, n},
		XPUB:   {n, n, y, n, n, n, n, n, n, n, y},
		XSUB:   {n, y, n, n, n, n, n, n, n, y, n},
	}
	for _, local := range rfcTypes {
		row, ok := matrix[local]
		if !assert.True(t, ok, "row for %s", local) {
			continue
		}
		for i, remote := range rfcTypes {
			assert.Equal(t, row[i], Compatible(local, remote), "%s with peer %s", local, remote)
		}
	}
}

func TestCompatibleDraftTypes(t *testing.T) {
	pairs := [][2]SocketType{{SERVER, CLIENT}, {RADIO, DISH}, {GATHER, SCATTER}, {DGRAM, DGRAM}, {PEER, PEER}, {CHANNEL, CHANNEL}}
	for _, p := range pairs {
		assert.True(t, Compatible(p[0], p[1]), "%s with %s", p[0], p[1])
		assert.True(t, Compatible(p[1], p[0]), "%s with %s", p[1], p[0])
		for _, r := range rfcTypes {
			assert.False(t, Compatible(p[0], r), "%s with %s", p[0], r)
			assert.False(t, Compatible(r, p[0]), "%s with %s", r, p[0])
		}
	}
}

// TestCompatibleSymmetric checks that no pair of known types is accepted by
// one side and refused by the other.
func TestCompatibleSymmetric(t *testing.T) {
	for a := range compatible {
		for b := range compatible {
			assert.Equal(t, Compatible(a, b), Compatible(b, a), "%s and %s", a, b)
		}
	}
}

func TestCompatibleUnknownTypes(t *testing.T) {
	for _, bad := range []SocketType{"", "router", "Router", "ROUTER ", "STREAM", "X"} {
		assert.False(t, bad.Valid(), "%q", bad)
		assert.False(t, Compatible(ROUTER, bad), "ROUTER with %q", bad)
		assert.False(t, Compatible(bad, DEALER), "%q with DEALER", bad)
	}
	assert.Len(t, compatible, 20)
	for typ := range compatible {
		assert.True(t, typ.Valid(), "%s", typ)
	}
}
