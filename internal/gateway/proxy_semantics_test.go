package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// semanticsUpstream records the requests that reach it and answers by
// path: /hop with connection-scoped headers, /trailer with a trailer,
// /early with a 103 first, /sized with 200 bytes (none for HEAD); any
// other path with "got N", N the body bytes it read.
type semanticsUpstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []proxiedRequest
}

type proxiedRequest struct {
	method, path string
	header       http.Header
	te           []string
	body         string
}

func newSemanticsUpstream(t *testing.T) *semanticsUpstream {
	u := &semanticsUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.seen = append(u.seen, proxiedRequest{r.Method, r.URL.Path, r.Header.Clone(), r.TransferEncoding, string(body)})
		u.mu.Unlock()
		h := w.Header()
		switch r.URL.Path {
		case "/hop":
			h.Set("Connection", "X-Resp-Hop")
			h.Set("X-Resp-Hop", "secret")
			h.Set("Keep-Alive", "timeout=1")
		case "/trailer":
			h.Set("Trailer", "X-Sum")
			io.WriteString(w, "abc")
			w.(http.Flusher).Flush()
			h.Set("X-Sum", "42")
			return
		case "/early":
			h.Set("Link", "</s.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			h.Del("Link")
		case "/sized":
			h.Set("Content-Length", "200")
			if r.Method != http.MethodHead {
				io.WriteString(w, strings.Repeat("x", 200))
			}
			return
		}
		fmt.Fprintf(w, "got %d", len(body))
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *semanticsUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.seen)
}

func (u *semanticsUpstream) last(t *testing.T) proxiedRequest {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.seen) == 0 {
		t.Fatal("no request reached the upstream")
	}
	return u.seen[len(u.seen)-1]
}

// TestProxySemantics: HTTP/1.1 through the proxy over real TLS, byte for
// byte from the client: hop-by-hop headers and Connection tokens dropped
// both ways, chunked request bodies, response trailers, HEAD, Expect:
// 100-continue, 1xx interim responses, and the framing attacks (CL+TE,
// differing duplicate Content-Length) that must never reach the upstream
// as something other than what the gateway parsed. Each case is one
// connection, followed by a plain request on it, so a framing mistake
// shows as a broken next response.
func TestProxySemantics(t *testing.T) {
	p := newTestPKI(t)
	up := newSemanticsUpstream(t)
	g := startGateway(t, p, fmt.Sprintf(siteYAML, up.URL))
	const host = "Host: a.example.test\n"

	for _, tt := range []struct {
		name  string
		run   func(t *testing.T, send func(string), read func(method string) (*http.Response, string))
		plain bool // the connection still serves a request afterwards
	}{
		{name: "hop-by-hop request headers and Connection tokens", plain: true, run: func(t *testing.T, send func(string), read func(string) (*http.Response, string)) {
			send("GET /echo HTTP/1.1\n" + host + "Connection: X-Hop, keep-alive\nX-Hop: 1\nKeep-Alive: timeout=5\nProxy-Authorization: Basic eDp5\nTE: trailers\nX-Keep-Me: yes\n\n")
			if resp, body := read("GET"); resp.StatusCode != 200 || body != "got 0" {
				t.Fatalf("status %d body %q", resp.StatusCode, body)
			}
			h := up.last(t).header
			for _, k := range []string{"X-Hop", "Keep-Alive", "Proxy-Authorization", "Connection"} {
				if h[k] != nil {
					t.Errorf("upstream received %s: %q", k, h[k])
				}
			}
			if h.Get("X-Keep-Me") != "yes" || h.Get("Te") != "trailers" {
				t.Errorf("upstream headers X-Keep-Me %q Te %q, want yes, trailers", h.Get("X-Keep-Me"), h.Get("Te"))
			}
		}},
		{name: "hop-by-hop response headers", plain: true, run: func(t *testing.T, send func(string), read func(string) (*http.Response, string)) {
			send("GET /hop HTTP/1.1\n" + host + "\n")
			resp, _ := read("GET")
			if resp.StatusCode != 200 || resp.Header.Get("X-Resp-Hop") != "" || resp.Header.Get("Keep-Alive") != "" {
				t.Errorf("status %d headers %v: the upstream's connection-scoped headers reached the client", resp.StatusCode, resp.Header)
			}
		}},
		{name: "chunked request body", plain: true, run: func(t *testing.T, send func(string), read func(string) (*http.Response, string)) {
			send("POST /echo HTTP/1.1\n" + host + "Transfer-Encoding: chunked\n\n5\nhello\n6\n world\n0\n\n")
			if resp, body := read("POST"); resp.StatusCode != 200 || body != "got 11" || up.last(t).body != "hello world" {
				t.Errorf("status %d body %q, upstream body %q", resp.StatusCode, body, up.last(t).body)
			}
		}},
		{name: "response trailers", plain: true, run: func(t *testing.T, send func(string), read func(string) (*http.Response, string)) {
			send("GET /trailer HTTP/1.1\n" + host + "TE: trailers\n\n")
			resp, body := read("GET")
			if resp.StatusCode != 200 || body != "abc" || resp.Trailer.Get("X-Sum") != "42" {
				t.Errorf("status %d body %q trailer %v", resp.StatusCode, body, resp.Trailer)
			}
		}},
		{name: "HEAD", plain: true, run: func(t *testing.T, send func(string), read func(string) (*http.Response, string)) {
			send("HEAD /sized HTTP/1.1\n" + host + "\n")
			resp, body := read("HEAD")
			if resp.StatusCode != 200 || resp.ContentLength != 200 || body != "" || up.last(t).method != "HEAD" {
				t.Errorf("status %d Content-Length %d body %q upstream method %s", resp.StatusCode, resp.ContentLength, body, up.last(t).method)
			}
		}},
		{name: "Expect: 100-continue", plain: true, run: func(t *testing.T, send func(string), read func(string) (*http.Response, string)) {
			send("POST /echo HTTP/1.1\n" + host + "Content-Length: 5\nExpect: 100-continue\n\n")
			if resp, _ := read("POST"); resp.StatusCode != http.StatusContinue {
				t.Fatalf("status %d before the body, want 100", resp.StatusCode)
			}
			send("hello")
			if resp, body := read("POST"); resp.StatusCode != 200 || body != "got 5" {
				t.Errorf("status %d body %q", resp.StatusCode, body)
			}
		}},
		{name: "1xx interim response", plain: true, run: func(t *testing.T, send func(string), read func(string) (*http.Response, string)) {
			send("GET /early HTTP/1.1\n" + host + "\n")
			if resp, _ := read("GET"); resp.StatusCode != http.StatusEarlyHints || resp.Header.Get("Link") == "" {
				t.Fatalf("first response %d %v, want 103 with Link", resp.StatusCode, resp.Header)
			}
			if resp, body := read("GET"); resp.StatusCode != 200 || body != "got 0" {
				t.Errorf("final response %d %q", resp.StatusCode, body)
			}
		}},
		{name: "Content-Length and Transfer-Encoding together", run: func(t *testing.T, send func(string), read func(string) (*http.Response, string)) {
			before := up.count()
			// Framed by Content-Length, the body would end after "5\nhe"
			// and "llo..." would be the next request.
			send("POST /echo HTTP/1.1\n" + host + "Content-Length: 4\nTransfer-Encoding: chunked\n\n5\nhello\n0\n\n")
			resp, body := read("POST")
			switch {
			case resp.StatusCode == http.StatusBadRequest:
				if up.count() != before {
					t.Errorf("refused with 400, yet the upstream received a request")
				}
			case resp.StatusCode == 200:
				// Transfer-Encoding wins (RFC 9112 section 6.3): the upstream
				// must get the chunked body, framed one way only.
				last := up.last(t)
				if body != "got 5" || last.body != "hello" || (last.header.Get("Content-Length") != "" && len(last.te) > 0) {
					t.Errorf("body %q; upstream body %q Content-Length %q Transfer-Encoding %v", body, last.body, last.header.Get("Content-Length"), last.te)
				}
			default:
				t.Errorf("status %d", resp.StatusCode)
			}
		}},
		{name: "two different Content-Length values", run: func(t *testing.T, send func(string), read func(string) (*http.Response, string)) {
			before := up.count()
			send("POST /echo HTTP/1.1\n" + host + "Content-Length: 5\nContent-Length: 6\n\nhello!")
			if resp, _ := read("POST"); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
			if up.count() != before {
				t.Errorf("the upstream received the request")
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn := rawTLS(t, g, "a.example.test", p.alice)
			br := bufio.NewReader(conn)
			send := func(s string) {
				t.Helper()
				if _, err := io.WriteString(conn, strings.ReplaceAll(s, "\n", "\r\n")); err != nil {
					t.Fatalf("write: %v", err)
				}
			}
			read := func(method string) (*http.Response, string) {
				t.Helper()
				resp, err := http.ReadResponse(br, &http.Request{Method: method})
				if err != nil {
					t.Fatalf("read response: %v", err)
				}
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatalf("read body: %v", err)
				}
				resp.Body.Close()
				return resp, string(body)
			}
			tt.run(t, send, read)
			if tt.plain {
				send("GET /echo HTTP/1.1\n" + host + "\n")
				if resp, body := read("GET"); resp.StatusCode != 200 || body != "got 0" {
					t.Errorf("next request on the connection: status %d body %q", resp.StatusCode, body)
				}
			}
		})
	}
}
