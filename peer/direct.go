package peer

import (
	"github.com/zrouter/zrouter/wire"
	"github.com/zrouter/zrouter/zmtp"
)

// directMax bounds the messages WriteNow writes itself: below it every frame
// is copied into the encoding buffer, as the writer would copy it.
const directMax = wire.LargeFrame

// directInline is the encoding buffer every peer carries, enough for the
// small messages that make up most replies; bigger ones borrow a pooled one.
const directInline = 256

// WriteNow writes m to the connection from the calling goroutine, with one
// write that does not wait, when nothing is queued for the peer and no write
// is under way. What the connection does not take at once goes to the
// writer, ahead of anything queued after. It reports false, keeping m with
// the caller, when m must go through the queue instead: the writer is busy,
// messages are waiting, m is large, the connection cannot be written this
// way, or it took none of m (its buffer is full, or it has failed or
// closed, so that a queue that outlives the connection keeps m for the
// next one). On true it owns m.
//
// A sender that has nothing more to send right away uses WriteNow to save
// the hand-off to the writer goroutine: the reply of a request-reply
// exchange then reaches the network one wake-up sooner. A sender with more
// to come should queue, so that the writer batches.
func (p *Peer) WriteNow(m *wire.Msg) bool {
	if p.end != nil {
		return p.inprocWriteNow(m)
	}
	size := m.Size()
	if p.direct == nil || size >= directMax {
		return false
	}
	conn, ok := p.q.acquire()
	if !ok {
		return false
	}
	d := p.direct
	frames := m.Frames
	if len(frames) > p.q.skip {
		buf := d.inline[:0]
		if size+len(frames)*p.sess.Codec.Overhead() > directInline {
			d.big = writeBufs.Get()
			buf = d.big.B[:0]
		}
		var bytes int
		buf, bytes = appendFrames(buf, frames[p.q.skip:], p.sess.Codec)
		n := d.write(buf)
		p.q.finish(conn, buf[n:], n > 0, bytes)
		if d.big != nil {
			d.big.B = buf
			writeBufs.Put(d.big)
			d.big = nil
		}
		if n == 0 {
			return false
		}
	} else {
		p.q.finish(conn, nil, true, 0)
	}
	m.Release()
	return true
}

// appendFrames appends the wire form of frames, as one message, to b, and
// returns it with the frames' bytes.
func appendFrames(b []byte, frames [][]byte, c zmtp.Codec) ([]byte, int) {
	last, n := len(frames)-1, 0
	for i, f := range frames {
		var flags byte
		if i < last {
			flags = zmtp.FlagMore
		}
		b = c.AppendFrame(b, flags, f)
		n += len(f)
	}
	return b, n
}
