package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	zmq "github.com/pebbe/zmq4"
)

// ZMTP 3 wire constants used by the capture (from the ZMTP 3.0/3.1 specs).
const (
	greetingSize = 64

	flagMore    = 0x01
	flagLong    = 0x02
	flagCommand = 0x04
)

// target describes one libzmq socket to capture.
type target struct {
	name      string
	typ       zmq.Type
	routingID string
	// message, when non-nil, is sent by the libzmq socket after the
	// handshake; the raw frames it produces are written to <name>.message.
	message [][]byte
}

func main() {
	out := flag.String("out", "../testdata/libzmq", "directory to write the capture files to")
	timeout := flag.Duration("timeout", 5*time.Second, "deadline for each capture")
	flag.Parse()

	log.SetFlags(0)
	log.SetPrefix("capture: ")

	major, minor, patch := zmq.Version()
	log.Printf("libzmq %d.%d.%d", major, minor, patch)
	if major != 4 {
		log.Fatalf("need libzmq 4.x, have %d.%d.%d", major, minor, patch)
	}

	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}

	targets := []target{
		{name: "dealer", typ: zmq.DEALER, message: [][]byte{
			{},
			[]byte("hello"),
			bytes.Repeat([]byte{'x'}, 300),
		}},
		{name: "dealer-identity", typ: zmq.DEALER, routingID: "worker-1"},
		{name: "req", typ: zmq.REQ},
		{name: "router", typ: zmq.ROUTER},
	}

	for _, t := range targets {
		res, err := capture(t, *timeout)
		if err != nil {
			log.Fatalf("%s: %v", t.name, err)
		}
		files := map[string][]byte{
			t.name + ".greeting": res.greeting,
			t.name + ".ready":    res.ready,
		}
		if t.message != nil {
			files[t.name+".message"] = res.message
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(*out, name), data, 0o644); err != nil {
				log.Fatal(err)
			}
		}
		report(os.Stdout, t, res)
	}
}

// result holds the raw bytes captured from one libzmq socket.
type result struct {
	greeting []byte
	ready    []byte
	message  []byte
}

// ourGreeting returns the 64-byte ZMTP 3.0 NULL greeting the raw side sends:
// signature 0xFF, 8 padding bytes (the last one 0x01), 0x7F; version 3.0;
// mechanism "NULL" zero-padded to 20 bytes; as-server 0; 31 filler zeros.
func ourGreeting() []byte {
	g := make([]byte, greetingSize)
	g[0] = 0xFF
	g[8] = 0x01
	g[9] = 0x7F
	g[10] = 3
	g[11] = 0
	copy(g[12:32], "NULL")
	g[32] = 0
	return g
}

// ourReady returns a READY command frame announcing Socket-Type ROUTER.
func ourReady() []byte {
	var body []byte
	body = append(body, 5)
	body = append(body, "READY"...)
	body = appendProperty(body, "Socket-Type", "ROUTER")
	frame := []byte{flagCommand, byte(len(body))}
	return append(frame, body...)
}

// appendProperty appends one ZMTP metadata property: a 1-byte name length,
// the name, a 4-byte big-endian value length and the value.
func appendProperty(b []byte, name, value string) []byte {
	b = append(b, byte(len(name)))
	b = append(b, name...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(value)))
	return append(b, value...)
}

// readFrame reads one ZMTP 3 frame and returns it whole (flags, size and
// body) together with its flags and body.
func readFrame(r io.Reader) (raw []byte, flags byte, body []byte, err error) {
	var hdr [9]byte
	if _, err = io.ReadFull(r, hdr[:1]); err != nil {
		return nil, 0, nil, err
	}
	flags = hdr[0]
	var size uint64
	hdrLen := 2
	if flags&flagLong != 0 {
		hdrLen = 9
		if _, err = io.ReadFull(r, hdr[1:9]); err != nil {
			return nil, 0, nil, err
		}
		size = binary.BigEndian.Uint64(hdr[1:9])
	} else {
		if _, err = io.ReadFull(r, hdr[1:2]); err != nil {
			return nil, 0, nil, err
		}
		size = uint64(hdr[1])
	}
	if size > 1<<20 {
		return nil, 0, nil, fmt.Errorf("frame size %d is implausibly large", size)
	}
	raw = make([]byte, hdrLen+int(size))
	copy(raw, hdr[:hdrLen])
	if _, err = io.ReadFull(r, raw[hdrLen:]); err != nil {
		return nil, 0, nil, err
	}
	return raw, flags, raw[hdrLen:], nil
}

// capture runs one handshake against a fresh libzmq socket of type t.typ.
func capture(t target, timeout time.Duration) (res result, err error) {
	deadline := time.Now().Add(timeout)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	defer ln.Close()
	if err := ln.(*net.TCPListener).SetDeadline(deadline); err != nil {
		return res, err
	}

	zctx, err := zmq.NewContext()
	if err != nil {
		return res, fmt.Errorf("new context: %w", err)
	}
	defer func() {
		if terr := zctx.Term(); terr != nil && err == nil {
			err = fmt.Errorf("term context: %w", terr)
		}
	}()

	sock, err := zctx.NewSocket(t.typ)
	if err != nil {
		return res, fmt.Errorf("new socket: %w", err)
	}
	// Close before the context is terminated (defers run in reverse).
	defer sock.Close()
	if err := sock.SetLinger(0); err != nil {
		return res, err
	}
	if t.routingID != "" {
		// ZMQ_IDENTITY is the old name of ZMQ_ROUTING_ID (same option).
		if err := sock.SetIdentity(t.routingID); err != nil {
			return res, fmt.Errorf("set routing id: %w", err)
		}
	}
	if err := sock.Connect("tcp://" + ln.Addr().String()); err != nil {
		return res, fmt.Errorf("connect: %w", err)
	}

	conn, err := ln.Accept()
	if err != nil {
		return res, fmt.Errorf("accept: %w", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return res, err
	}

	if _, err := conn.Write(ourGreeting()); err != nil {
		return res, fmt.Errorf("write greeting: %w", err)
	}
	res.greeting = make([]byte, greetingSize)
	if _, err := io.ReadFull(conn, res.greeting); err != nil {
		return res, fmt.Errorf("read greeting: %w", err)
	}
	raw, flags, body, err := readFrame(conn)
	if err != nil {
		return res, fmt.Errorf("read READY: %w", err)
	}
	if flags&flagCommand == 0 || !bytes.HasPrefix(body, []byte("\x05READY")) {
		return res, fmt.Errorf("expected READY command, got % x", raw)
	}
	res.ready = raw

	if t.message == nil {
		return res, nil
	}

	if _, err := conn.Write(ourReady()); err != nil {
		return res, fmt.Errorf("write READY: %w", err)
	}
	if err := sock.SetSndtimeo(timeout); err != nil {
		return res, err
	}
	if _, err := sock.SendMessage(t.message); err != nil {
		return res, fmt.Errorf("libzmq send: %w", err)
	}
	var msg []byte
	for {
		raw, flags, _, err := readFrame(conn)
		if err != nil {
			return res, fmt.Errorf("read message frame: %w", err)
		}
		if flags&flagCommand != 0 {
			return res, fmt.Errorf("unexpected command frame % x", raw)
		}
		msg = append(msg, raw...)
		if flags&flagMore == 0 {
			break
		}
	}
	res.message = msg
	return res, nil
}

// report prints the captured bytes and what they decode to.
func report(w io.Writer, t target, res result) {
	fmt.Fprintf(w, "== %s\n", t.name)
	g := res.greeting
	fmt.Fprintf(w, "greeting (%d bytes):\n%s", len(g), hex.Dump(g))
	fmt.Fprintf(w, "  signature % x / padding % x / % x\n", g[0], g[1:9], g[9])
	fmt.Fprintf(w, "  version %d.%d, mechanism %q, as-server %d\n",
		g[10], g[11], strings.TrimRight(string(g[12:32]), "\x00"), g[32])
	fmt.Fprintf(w, "READY frame (%d bytes):\n%s", len(res.ready), hex.Dump(res.ready))
	props, err := parseReady(res.ready)
	if err != nil {
		fmt.Fprintf(w, "  cannot decode: %v\n", err)
	}
	for _, p := range props {
		fmt.Fprintf(w, "  property %q = %q\n", p[0], p[1])
	}
	if res.message != nil {
		fmt.Fprintf(w, "message (%d bytes):\n%s", len(res.message), hex.Dump(res.message))
	}
	fmt.Fprintln(w)
}

// parseReady decodes the properties of a READY command frame in order.
func parseReady(frame []byte) ([][2]string, error) {
	_, _, body, err := readFrame(bytes.NewReader(frame))
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(body, []byte("\x05READY")) {
		return nil, errors.New("not a READY command")
	}
	body = body[6:]
	var props [][2]string
	for len(body) > 0 {
		n := int(body[0])
		if len(body) < 1+n+4 {
			return props, errors.New("truncated property name")
		}
		name := string(body[1 : 1+n])
		body = body[1+n:]
		vn := binary.BigEndian.Uint32(body)
		body = body[4:]
		if uint64(len(body)) < uint64(vn) {
			return props, errors.New("truncated property value")
		}
		props = append(props, [2]string{name, string(body[:vn])})
		body = body[vn:]
	}
	return props, nil
}
