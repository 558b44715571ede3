package main

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memListener is a listener of in-memory connections, which a
// testing/synctest bubble can wait on.
type memListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newMemListener() *memListener {
	return &memListener{conns: make(chan net.Conn, 16), closed: make(chan struct{})}
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error { l.once.Do(func() { close(l.closed) }); return nil }

func (l *memListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9100} }

// dial returns the client's end of a new connection, whose other end the
// listener hands out.
func (l *memListener) dial() net.Conn {
	c, s := net.Pipe()
	l.conns <- s
	return c
}

// scrape sends a GET /metrics on c, kept alive, and returns the status,
// or an error.
func scrape(c net.Conn) (int, error) {
	if _, err := io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: zrouter\r\n\r\n"); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// TestMetricsServerBounds: the metrics endpoint serves a bounded number of
// connections at once, and closes a kept-alive connection that idles. It
// once kept every idle connection for ever.
func TestMetricsServerBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		defer func(n int) { metricsMaxConns = n }(metricsMaxConns)
		metricsMaxConns = 2
		ln := newMemListener()
		m := startMetrics(ln, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
		defer func() { assert.NoError(t, m.stop()) }()

		c1, c2 := ln.dial(), ln.dial()
		defer c1.Close()
		defer c2.Close()
		for _, c := range []net.Conn{c1, c2} {
			code, err := scrape(c)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, code)
		}

		// A third connection waits while two are served.
		c3 := ln.dial()
		defer c3.Close()
		var third struct {
			sync.Mutex
			done bool
			code int
			err  error
		}
		go func() {
			code, err := scrape(c3)
			third.Lock()
			third.done, third.code, third.err = true, code, err
			third.Unlock()
		}()
		synctest.Wait()
		third.Lock()
		assert.False(t, third.done, "a third connection served while two were open")
		third.Unlock()

		// One closes: the third is served.
		require.NoError(t, c1.Close())
		synctest.Wait()
		third.Lock()
		assert.True(t, third.done)
		assert.NoError(t, third.err)
		assert.Equal(t, http.StatusOK, third.code)
		third.Unlock()

		// c2 idles past the idle timeout: the server closes it.
		eof := make(chan error, 1)
		go func() {
			_, err := c2.Read(make([]byte, 1))
			eof <- err
		}()
		time.Sleep(metricsIdleTimeout + time.Second)
		synctest.Wait()
		select {
		case err := <-eof:
			assert.ErrorIs(t, err, io.EOF)
		default:
			t.Fatal("an idle connection is still open after the idle timeout")
		}
	})
}

// TestMetricsRootLinks: / answers with a link to /metrics, and any other
// path is not found.
func TestMetricsRootLinks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := newMemListener()
		m := startMetrics(ln, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
		defer func() { assert.NoError(t, m.stop()) }()
		get := func(path string) (int, string) {
			c := ln.dial()
			defer c.Close()
			_, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: zrouter\r\n\r\n")
			require.NoError(t, err)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			return resp.StatusCode, string(body)
		}
		code, body := get("/")
		assert.Equal(t, http.StatusOK, code)
		assert.Contains(t, body, `href="/metrics"`)
		code, _ = get("/other")
		assert.Equal(t, http.StatusNotFound, code)
	})
}
