//go:build !unix

package peer

import (
	"net"

	"github.com/valyala/bytebufferpool"
)

// directWriter is not available here: WriteNow always queues.
type directWriter struct {
	big    *bytebufferpool.ByteBuffer
	inline [directInline]byte
}

func newDirect(net.Conn) *directWriter { return nil }

func (d *directWriter) write([]byte) int { return 0 }
