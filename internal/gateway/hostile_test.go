package gateway

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// Helpers of the hostile-client tests: an upstream that dumps what reaches
// it and, like a careless backend, switches protocols whenever asked and
// then reads HTTP requests from the tunnel; and clients that send bytes
// Go's own client would never put on the wire (raw HTTP/1.1 over TLS, raw
// HTTP/2 frames).

// dumpedRequest is one request the hostile upstream read.
type dumpedRequest struct {
	method, uri string
	header      http.Header
	tunnelled   bool // read from inside a 101 tunnel
}

// hostileUpstream records every request. A request with an Upgrade header
// gets a 101 for that protocol (or for the protocol in X-Answer-Upgrade),
// after which the upstream reads plain HTTP/1.1 requests from the tunnel
// and answers each with the user header it saw: the behaviour that turns
// an unchecked upgrade into a way around every location rule. A request
// for a path ending in /always101 gets a 101 even without asking.
type hostileUpstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []dumpedRequest
}

func newHostileUpstream(t testing.TB) *hostileUpstream {
	u := &hostileUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.record(r, false)
		proto := r.Header.Get("X-Answer-Upgrade")
		if proto == "" {
			proto = r.Header.Get("Upgrade")
		}
		if strings.HasSuffix(r.URL.Path, "/always101") && proto == "" {
			proto = "h2c"
		}
		if proto == "" {
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintf(w, "upstream saw %s %s user=%q\n", r.Method, r.RequestURI, r.Header.Get("X-Remote-User"))
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", proto)
		if err := brw.Flush(); err != nil {
			return
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		for {
			tr, err := http.ReadRequest(brw.Reader)
			if err != nil {
				return
			}
			u.record(tr, true)
			body := fmt.Sprintf("tunnelled %s %s user=%q\n", tr.Method, tr.RequestURI, tr.Header.Get("X-Remote-User"))
			fmt.Fprintf(brw, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			if brw.Flush() != nil {
				return
			}
		}
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *hostileUpstream) record(r *http.Request, tunnelled bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.seen = append(u.seen, dumpedRequest{method: r.Method, uri: r.RequestURI, header: r.Header.Clone(), tunnelled: tunnelled})
}

// take returns and forgets what the upstream saw.
func (u *hostileUpstream) take() []dumpedRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.seen
	u.seen = nil
	return s
}

// rawTLS dials the gateway over TLS with ALPN http/1.1 only, presenting
// cert (nil: none).
func rawTLS(t testing.TB, g *gatewayUnderTest, sni string, cert *pki.Leaf, alpn ...string) *tls.Conn {
	t.Helper()
	if len(alpn) == 0 {
		alpn = []string{"http/1.1"}
	}
	tc := &tls.Config{ServerName: sni, RootCAs: pkitest.Pool(g.pki.serverRoot.Cert), NextProtos: alpn,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if cert == nil {
				return &tls.Certificate{}, nil
			}
			c := cert.TLSCertificate()
			return &c, nil
		}}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", g.addr, tc)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { conn.Close() })
	return conn
}

// rawExchange writes req (CRLF line ends added) and reads one response.
func rawExchange(t testing.TB, conn net.Conn, br *bufio.Reader, req string) (*http.Response, string) {
	t.Helper()
	if _, err := io.WriteString(conn, strings.ReplaceAll(req, "\n", "\r\n")); err != nil {
		t.Fatalf("write: %v", err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return resp, ""
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// h2Raw is a minimal HTTP/2 client over TLS: it sends one HEADERS frame
// with whatever fields it is given (HPACK literals, no Huffman), then
// reads frames until the stream is answered or reset.
type h2Raw struct {
	conn *tls.Conn
}

func dialH2Raw(t testing.TB, g *gatewayUnderTest, sni string, cert *pki.Leaf) *h2Raw {
	t.Helper()
	conn := rawTLS(t, g, sni, cert, "h2")
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN %q, want h2", p)
	}
	if _, err := io.WriteString(conn, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	h := &h2Raw{conn: conn}
	h.frame(t, 0x4, 0, 0, nil) // SETTINGS
	return h
}

func (h *h2Raw) frame(t testing.TB, typ, flags byte, stream uint32, payload []byte) {
	t.Helper()
	var hdr [9]byte
	hdr[0], hdr[1], hdr[2] = byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload))
	hdr[3], hdr[4] = typ, flags
	binary.BigEndian.PutUint32(hdr[5:], stream)
	if _, err := h.conn.Write(append(hdr[:], payload...)); err != nil {
		t.Fatalf("write frame: %v", err)
	}
}

// request sends fields (pairs of name, value, pseudo-headers first) on
// stream 1 with END_STREAM and returns the response status, or 0 when the
// stream or connection was reset instead.
func (h *h2Raw) request(t testing.TB, fields ...string) int {
	t.Helper()
	var block []byte
	for i := 0; i+1 < len(fields); i += 2 {
		// Literal header field without indexing, new name (RFC 7541
		// section 6.2.2); lengths below 127 fit the 7-bit prefix.
		block = append(block, 0x00, byte(len(fields[i])))
		block = append(block, fields[i]...)
		block = append(block, byte(len(fields[i+1])))
		block = append(block, fields[i+1]...)
	}
	h.frame(t, 0x1, 0x1|0x4, 1, block) // HEADERS, END_STREAM|END_HEADERS
	br := bufio.NewReader(h.conn)
	for {
		var hdr [9]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return 0 // connection closed
		}
		n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			return 0
		}
		typ, flags, stream := hdr[3], hdr[4], binary.BigEndian.Uint32(hdr[5:])&0x7fffffff
		switch {
		case typ == 0x4 && flags&0x1 == 0: // SETTINGS: acknowledge
			h.frame(t, 0x4, 0x1, 0, nil)
		case typ == 0x7: // GOAWAY
			return 0
		case typ == 0x3 && stream == 1: // RST_STREAM
			return 0
		case typ == 0x1 && stream == 1: // HEADERS
			return h2Status(t, payload, flags)
		}
	}
}

// h2Status reads :status from a response header block. Go's HPACK encoder
// sends the common statuses as indexed static-table entries (RFC 7541
// appendix A, indices 8 to 14).
func h2Status(t testing.TB, block []byte, flags byte) int {
	t.Helper()
	if flags&0x8 != 0 { // PADDED
		block = block[1 : len(block)-int(block[0])]
	}
	if flags&0x20 != 0 { // PRIORITY
		block = block[5:]
	}
	for len(block) > 0 && block[0]&0xe0 == 0x20 { // dynamic table size update
		block = block[1:]
	}
	statuses := map[byte]int{8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500}
	if len(block) == 0 || block[0]&0x80 == 0 || statuses[block[0]&0x7f] == 0 {
		t.Fatalf("response :status not an indexed static entry: % x", block[:min(len(block), 8)])
	}
	return statuses[block[0]&0x7f]
}

// noUpstreamHit fails when anything reached the upstream.
func noUpstreamHit(t testing.TB, u *hostileUpstream) {
	t.Helper()
	if seen := u.take(); len(seen) > 0 {
		for _, s := range seen {
			t.Errorf("upstream saw %s %s (tunnelled %v) user %q", s.method, s.uri, s.tunnelled, s.header.Get("X-Remote-User"))
		}
	}
}
