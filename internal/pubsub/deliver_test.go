package pubsub

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/peer"
	"github.com/zrouter/zrouter/wire"
)

// TestDeliverYieldsWhenNoneTook checks when a publisher yields its thread:
// for a message that every matching subscriber refused, and for no other.
func TestDeliverYieldsWhenNoneTook(t *testing.T) {
	yields := 0
	was := giveWay
	giveWay = func() { yields++ }
	t.Cleanup(func() { giveWay = was })

	b := NewPub(false)
	pipe := func(hwm int, topic string) *core.Pipe {
		p := &core.Pipe{Q: peer.NewQueue(hwm, 0), Endpoint: "tcp://127.0.0.1:1"}
		require.NoError(t, b.AddPipe(p))
		b.apply(p, true, []byte(topic))
		t.Cleanup(p.Q.Close)
		return p
	}
	send := func(topic string) {
		m := wire.Get()
		m.AppendFrame([]byte(topic))
		b.match(m.Frames[0])
		b.deliver(m)
	}

	one := pipe(1, "a")
	send("a")
	assert.Equal(t, 0, yields, "the queue took the message")
	send("a")
	assert.Equal(t, 1, yields, "the one subscriber refused it")
	send("z")
	assert.Equal(t, 1, yields, "a message that matched none")

	pipe(1, "b")
	pipe(1, "b")
	send("b")
	assert.Equal(t, 1, yields, "two queues took one message")
	send("b")
	assert.Equal(t, 2, yields, "both refused it")

	pipe(100, "b")
	send("b")
	send("b")
	assert.Equal(t, 2, yields, "a third took what the two full ones refused")
	assert.Equal(t, 1, one.Q.Len())
	assert.Equal(t, uint64(1), one.Q.Stats().Dropped, "the refused message counted as a drop")
}
