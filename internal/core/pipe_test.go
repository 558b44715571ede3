package core

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zrouter/zrouter/socket"
)

// TestPipeCloseWhileAttaching: a Close that comes while a connection is
// being admitted, after the routing took it in and before the pipe knows
// its peer (a ROUTER's handover of the id to a newer connection, from the
// hub), is kept for that connection; one with no connection up or coming
// does nothing, and none outlives the connection it was asked for.
func TestPipeCloseWhileAttaching(t *testing.T) {
	p := &Pipe{}
	p.Close(socket.Replaced)
	p.beginAttach()
	assert.Nil(t, p.endAttach(nil), "a Close with no connection coming is not kept")

	p.beginAttach()
	p.Close(socket.Replaced)
	ask := p.endAttach(nil)
	require.NotNil(t, ask, "a Close while the connection came up is kept for it")
	assert.Equal(t, socket.Replaced, *ask)

	p.beginAttach()
	assert.Nil(t, p.endAttach(nil), "and for it alone")
}
