package gateway

import (
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/verify"
)

// eventsNamed returns the log entries of event name.
func eventsNamed(t testing.TB, logs *syncBuffer, name string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range logs.records(t) {
		if r[events.Key] == name {
			out = append(out, r)
		}
	}
	return out
}

// oneEvent waits briefly for exactly one entry of event name (some are
// logged after the client has its answer) and checks its attributes.
func oneEvent(t testing.TB, logs *syncBuffer, name string, want map[string]any) map[string]any {
	t.Helper()
	var got []map[string]any
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got = eventsNamed(t, logs, name); len(got) > 0 {
			break
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d %s events, want 1; log:\n%s", len(got), name, logs)
	}
	for k, v := range want {
		if g := getPath(got[0], k); g != v {
			t.Errorf("%s: %s = %v, want %v", name, k, g, v)
		}
	}
	return got[0]
}

// getPath walks a dotted path ("cert.sha256") in a decoded entry.
func getPath(m map[string]any, path string) any {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

// TestEventsOfRequests triggers each request-time event through the
// gateway over real TLS and reads it from the JSON event log.
func TestEventsOfRequests(t *testing.T) {
	p := newTestPKI(t)
	mallory := pkitest.NewRoot(t, "Other Root").Client(t, "mallory")

	t.Run("client_cert_rejected", func(t *testing.T) {
		g := startGateway(t, p, fmt.Sprintf(siteYAML, "echo"))
		res := g.do(t, request{sni: "a.example.test", path: "/", cert: mallory})
		if res.status != http.StatusForbidden {
			t.Fatalf("status %d, want 403", res.status)
		}
		oneEvent(t, g.logs, events.EventClientCertRejected, map[string]any{
			"level": "INFO", "site": "a", "substatus": "403.16", "code": "CERT_E_CHAINING",
			"request_id": res.header.Get(HeaderRequestID), "path": "/", "cert.sha256": verify.Fingerprint(mallory.Cert),
		})
	})
	t.Run("anonymous_downgrade", func(t *testing.T) {
		g := startGateway(t, p, fmt.Sprintf(siteYAML, "echo"))
		if res := g.do(t, request{sni: "a.example.test", path: "/maybe", cert: mallory}); res.status != http.StatusOK {
			t.Fatalf("status %d, want 200", res.status)
		}
		oneEvent(t, g.logs, events.EventAnonymousDowngrade, map[string]any{
			"level": "INFO", "site": "a", "substatus": "403.16", "path": "/maybe", "cert.sha256": verify.Fingerprint(mallory.Cert),
		})
	})
	t.Run("request_refused", func(t *testing.T) {
		g := startGateway(t, p, fmt.Sprintf(siteYAML, "echo"))
		res := g.do(t, request{sni: "a.example.test", path: "/public/../admin", cert: p.alice})
		if res.status != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", res.status)
		}
		e := oneEvent(t, g.logs, events.EventRequestRefused, map[string]any{
			"level": "INFO", "site": "a", "substatus": "400", "request_id": res.header.Get(HeaderRequestID),
		})
		if r, _ := e["reason"].(string); !strings.Contains(r, "dot_segment") {
			t.Errorf("reason = %q", r)
		}
	})
	t.Run("request_refused internal error", func(t *testing.T) {
		// A request that reached the handler without its connection state
		// (not through the gateway's listener) is a 500, logged at Error.
		g := startGateway(t, p, fmt.Sprintf(siteYAML, "echo"))
		rec := httptest.NewRecorder()
		g.srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://a.example.test/", nil))
		if rec.Code != http.StatusInternalServerError {
			t.Fatalf("status %d, want 500", rec.Code)
		}
		oneEvent(t, g.logs, events.EventRequestRefused, map[string]any{
			"level": "ERROR", "substatus": "500", "reason": ErrNoConnState.Error(),
			"request_id": rec.Header().Get(HeaderRequestID),
		})
	})
	t.Run("upstream_failed", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := "http://" + ln.Addr().String()
		ln.Close()
		g := startGateway(t, p, fmt.Sprintf(siteYAML, dead))
		res := g.do(t, request{sni: "a.example.test", path: "/", cert: p.alice})
		if res.status != http.StatusBadGateway {
			t.Fatalf("status %d, want 502", res.status)
		}
		e := oneEvent(t, g.logs, events.EventUpstreamFailed, map[string]any{
			"level": "ERROR", "site": "a", "upstream": dead, "method": "GET", "path": "/",
			"request_id": res.header.Get(HeaderRequestID),
		})
		if e["err"] == nil || e["err"] == "" {
			t.Errorf("no err: %v", e)
		}
	})
	t.Run("upstream_failed mid-body", func(t *testing.T) {
		// The upstream promises 100 bytes and hangs up after 10: the proxy
		// logs the broken copy itself (ReverseProxy.ErrorLog).
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, "0123456789")
			w.(http.Flusher).Flush()
			c, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				c.Close()
			}
		}))
		t.Cleanup(up.Close)
		g := startGateway(t, p, fmt.Sprintf(siteYAML, up.URL))
		if res, err := g.try(request{sni: "a.example.test", path: "/", cert: p.alice}); err == nil && len(res.body) == 100 {
			t.Fatalf("the client got the whole body")
		}
		e := oneEvent(t, g.logs, events.EventUpstreamFailed, map[string]any{"level": "ERROR", "site": "a"})
		if m, _ := e["msg"].(string); !strings.Contains(m, "body copy") {
			t.Errorf("msg = %q", m)
		}
	})
	t.Run("tls_handshake_failed", func(t *testing.T) {
		g := startGateway(t, p, fmt.Sprintf(siteYAML, "echo"))
		c, err := net.Dial("tcp", g.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a.example.test\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if b, _ := io.ReadAll(c); !strings.HasPrefix(string(b), "HTTP/1.0 400") {
			t.Errorf("plain HTTP answered %q", b)
		}
		e := oneEvent(t, g.logs, events.EventTLSHandshakeFailed, map[string]any{"level": "INFO", "client": c.LocalAddr().String()})
		if e["err"] == nil || e["duration"] == nil {
			t.Errorf("tls_handshake_failed = %v", e)
		}
	})
}

// TestEventsOfSiteBuild: non_self_signed_root is logged by the site build
// for an intermediate configured among the roots. (The issuer list events
// are read by TestIssuerListSizeLimits.)
func TestEventsOfSiteBuild(t *testing.T) {
	p := newTestPKI(t)
	g := startGateway(t, p, fmt.Sprintf(siteYAML, "echo"), func(dir string) {
		pkitest.WriteCerts(t, dir, "roots.pem", p.root.Cert, p.sub.Cert)
	})
	oneEvent(t, g.logs, events.EventNonSelfSignedRoot, map[string]any{
		"level": "WARN", "site": "a", "field": "sites[0].client_auth.trust.roots",
		"cert.subject": p.sub.Cert.Subject.String(), "cert.issuer": p.root.Cert.Subject.String(),
		"cert.sha256": verify.Fingerprint(p.sub.Cert),
	})
}

// TestRevocationEventsCarryTheSite: the gateway gives each site's
// revocation engine the site's logger, so engine events name the site.
func TestRevocationEventsCarryTheSite(t *testing.T) {
	p := newTestPKI(t)
	now := time.Now()
	var path string
	g := startGateway(t, p, opsConfig("server", 16384), func(dir string) {
		crls := filepath.Join(dir, "crls")
		if err := os.MkdirAll(crls, 0o755); err != nil {
			t.Fatal(err)
		}
		path = pkitest.WriteFile(t, crls, "sub.crl", p.sub.CRL(t, pki.CRLOptions{ThisUpdate: now.Add(-3 * time.Hour), NextUpdate: now.Add(-2 * time.Hour)}))
	})
	oneEvent(t, g.logs, events.EventCRLUnusable, map[string]any{
		"level": "WARN", "site": "a", "source": path, "issuer": p.sub.Cert.Subject.String(),
	})
}

// flakyListener fails its first Accept with a temporary error, then
// blocks until closed.
type flakyListener struct {
	net.Listener
	once sync.Once
}

type tempErr struct{}

func (tempErr) Error() string   { return "accept: too many open files" }
func (tempErr) Timeout() bool   { return false }
func (tempErr) Temporary() bool { return true }

func (l *flakyListener) Accept() (net.Conn, error) {
	var first bool
	l.once.Do(func() { first = true })
	if first {
		return nil, tempErr{}
	}
	return l.Listener.Accept()
}

// TestEventAcceptFailed: a temporary accept error (EMFILE) is logged and
// the listener keeps accepting.
func TestEventAcceptFailed(t *testing.T) {
	p := newTestPKI(t)
	g := startGateway(t, p, fmt.Sprintf(siteYAML, "echo"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hl := newHandshakeListener(&flakyListener{Listener: ln}, g.srv)
	defer hl.Close()
	e := oneEvent(t, g.logs, events.EventAcceptFailed, map[string]any{"level": "ERROR", "err": tempErr{}.Error()})
	if e["retry_in"] == nil {
		t.Errorf("accept_failed = %v", e)
	}
}

// TestEventsOfOperations drives reloads through POST /reload on a gateway
// wired like `certgate serve`: a refused reload, then one that changes a
// restart-only setting and moves the access log away from a directory
// that became unwritable.
func TestEventsOfOperations(t *testing.T) {
	p := newTestPKI(t)
	o := startObserved(t, p, opsConfig("server", 16384))

	writeConfig(t, o.cfgPath, "sites: [")
	if status, _ := o.post(t, "/reload"); status != http.StatusInternalServerError {
		t.Fatalf("broken reload: status %d, want 500", status)
	}
	e := oneEvent(t, o.logs, events.EventReloadFailed, map[string]any{"level": "ERROR", "config": o.cfgPath})
	if err, _ := e["err"].(string); !strings.Contains(err, "certgate.yaml") {
		t.Errorf("reload_failed err = %q, want the file named", err)
	}

	// The access log directory is replaced by a file: the next line cannot
	// be written.
	logDir := filepath.Join(o.dir, "logs")
	if err := os.RemoveAll(logDir); err != nil {
		t.Fatal(err)
	}
	pkitest.WriteFile(t, o.dir, "logs", []byte("not a directory"))
	if res := o.do(t, request{sni: "a.example.test", path: "/", cert: p.alice}); res.status != http.StatusOK {
		t.Fatalf("status %d", res.status)
	}
	<-o.requests

	// The admin listener keeps the running address; only listen changes.
	moved := "admin: {listen: \"localhost:0\"}\n" + strings.Replace(opsConfig("server", 16384), "dir: logs", "dir: logs2", 1)
	moved = strings.Replace(moved, "listen: 127.0.0.1:0", "listen: 127.0.0.1:1", 1)
	writeConfig(t, o.cfgPath, moved)
	if status, body := o.post(t, "/reload"); status != http.StatusOK {
		t.Fatalf("reload: %d %s", status, body)
	}
	oneEvent(t, o.logs, events.EventRestartRequired, map[string]any{
		"level": "WARN", "field": "listen", "running": "127.0.0.1:0", "configured": "127.0.0.1:1",
	})
	oneEvent(t, o.logs, events.EventAccessLogWriteFailed, map[string]any{"level": "ERROR", "dir": logDir})
	e = oneEvent(t, o.logs, events.EventAccessLogCloseFailed, map[string]any{"level": "WARN"})
	if err, _ := e["err"].(string); !strings.Contains(err, "logs") {
		t.Errorf("access_log_close_failed err = %q", err)
	}
}

// TestEventVerifyWarning: a certificate accepted although its revocation
// status is unknown (on_unavailable: allow) is logged as verify_warning by
// the observer wired like `certgate serve`.
func TestEventVerifyWarning(t *testing.T) {
	p := newTestPKI(t)
	yaml := strings.Replace(opsConfig("server", 16384), "revocation: {mode: cache-only, crls: crls}",
		"revocation: {mode: cache-only, crls: crls, on_unavailable: allow}", 1)
	o := startObserved(t, p, yaml)
	// An issuing CA without a CRL: its leaf's status is unknown.
	other := p.root.Intermediate(t, "Issuing CA Without CRL")
	carol := other.Client(t, "carol")
	res := o.do(t, request{sni: "a.example.test", path: "/", cert: carol, chain: []*x509.Certificate{other.Cert}})
	if res.status != http.StatusOK {
		t.Fatalf("status %d, want 200 (allowed while unavailable)", res.status)
	}
	e := oneEvent(t, o.logs, events.EventVerifyWarning, map[string]any{
		"level": "WARN", "site": "a", "cert.sha256": verify.Fingerprint(carol.Cert),
	})
	if w, _ := e["warning"].(string); !strings.Contains(w, "on_unavailable is allow") {
		t.Errorf("warning = %q", w)
	}
}

// TestJSONEventDurations: the JSON event log of `certgate serve` writes
// durations as strings with their unit, not as integer nanoseconds.
func TestJSONEventDurations(t *testing.T) {
	dir := t.TempDir()
	cfg := loadConfig(t, dir, "log: {format: json, file: events.log}\nsites:\n  - {name: a, hosts: [a.example.test], certificate: {cert: s.pem, key: s.key}, upstream: echo}\n")
	logger, closeFn, err := NewLogger(cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logger.Warn("x", slog.Duration("remaining", 36*time.Hour), slog.Group("g", slog.Duration("retry_in", 1500*time.Millisecond)))
	if err := closeFn(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "events.log"))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(data); !strings.Contains(s, `"remaining":"36h0m0s"`) || !strings.Contains(s, `"retry_in":"1.5s"`) {
		t.Errorf("event line %s: want durations as strings", s)
	}
}
