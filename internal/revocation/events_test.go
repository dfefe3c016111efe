package revocation

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// jsonEngine builds an Engine whose log is JSON, for the event tests.
func jsonEngine(t *testing.T, o Options) (*Engine, *logBuffer) {
	t.Helper()
	lb := &logBuffer{}
	o.Logger = slog.New(slog.NewJSONHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e, _ := newEngine(t, o)
	return e, lb
}

// eventsNamed decodes the JSON log and returns the entries of event name.
func eventsNamed(t *testing.T, lb *logBuffer, name string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(lb.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m[events.Key] == name {
			out = append(out, m)
		}
	}
	return out
}

// wantEvent checks that exactly one entry of event name was logged at
// Warn with source and an err containing errPart ("" for no err), and
// returns it.
func wantEvent(t *testing.T, lb *logBuffer, name, source, errPart string) map[string]any {
	t.Helper()
	got := eventsNamed(t, lb, name)
	if len(got) != 1 {
		t.Fatalf("%d %s events, want 1; log:\n%s", len(got), name, lb)
	}
	e := got[0]
	if e["level"] != "WARN" || e["source"] != source {
		t.Errorf("%s = %v; want level WARN, source %q", name, e, source)
	}
	if err, _ := e["err"].(string); errPart != "" && !strings.Contains(err, errPart) {
		t.Errorf("%s err = %q, want it to contain %q", name, err, errPart)
	}
	return e
}

// TestEventsCRL: the revocation engine's CRL warnings are events, logged
// where the fetch or load fails, whatever site uses the engine.
func TestEventsCRL(t *testing.T) {
	t.Run("crl_fetch_failed", func(t *testing.T) {
		f := newFixture(t)
		e, lb := jsonEngine(t, f.opts())
		url := f.cdp.URL("/missing.crl")
		if res := e.Check(context.Background(), f.leaf(t, url), f.sub.Cert, f.at); res.Status != Unknown {
			t.Fatalf("Status = %v, want unknown", res.Status)
		}
		wantEvent(t, lb, events.EventCRLFetchFailed, url, "404")
	})
	t.Run("crl_refresh_failed", func(t *testing.T) {
		f := newFixture(t)
		f.cdp.set("/sub.crl", f.sub.CRL(t, crlAt(f.at, 1)))
		e, lb := jsonEngine(t, f.opts())
		leaf := f.leaf(t)
		if res := e.Check(context.Background(), leaf, f.sub.Cert, f.at); res.Status != Good {
			t.Fatalf("first check: %v (%s)", res.Status, res.Reason)
		}
		f.cdp.handle("/sub.crl", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
		f.clk.Set(f.at.Add(40 * time.Minute)) // past 80% of at-1h .. at+1h
		if n := e.refreshDue(context.Background()); n != 1 {
			t.Fatalf("refreshDue started %d refreshes, want 1", n)
		}
		url := f.cdp.URL("/sub.crl")
		wantEvent(t, lb, events.EventCRLFetchFailed, url, "503")
		wantEvent(t, lb, events.EventCRLRefreshFailed, url, "503")
	})
	t.Run("crl_unusable critical extension", func(t *testing.T) {
		f := newFixture(t)
		co := crlAt(f.at, 1)
		co.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 7}, Critical: true, Value: []byte{5, 0}}}
		o := f.opts()
		o.Mode = CacheOnly
		path := pkitest.WriteFile(t, t.TempDir(), "new-extension.crl", f.sub.CRL(t, co))
		o.LocalCRLs = []string{path}
		_, lb := jsonEngine(t, o)
		if e := wantEvent(t, lb, events.EventCRLUnusable, path, "1.3.6.1.4.1.99999.7"); e["issuer"] != f.sub.Cert.Subject.String() {
			t.Errorf("issuer = %v", e["issuer"])
		}
	})
	t.Run("crl_unusable past next update", func(t *testing.T) {
		f := newFixture(t)
		o := f.opts()
		o.Mode = CacheOnly
		path := pkitest.WriteFile(t, t.TempDir(), "old.crl", f.sub.CRL(t, crlAt(f.at.Add(-3*time.Hour), 1)))
		o.LocalCRLs = []string{path}
		_, lb := jsonEngine(t, o)
		if e := wantEvent(t, lb, events.EventCRLUnusable, path, ""); e["next_update"] != f.at.Add(-2*time.Hour).UTC().Format(time.RFC3339) {
			t.Errorf("next_update = %v", e["next_update"])
		}
	})
	t.Run("crl_unusable wrong signer", func(t *testing.T) {
		f := newFixture(t)
		co := crlAt(f.at, 1)
		co.SignWith = pkitest.Key(t, "")
		o := f.opts()
		o.Mode = CacheOnly
		path := pkitest.WriteFile(t, t.TempDir(), "forged.crl", f.sub.CRL(t, co))
		o.LocalCRLs = []string{path}
		o.Issuers = []*x509.Certificate{f.root.Cert, f.sub.Cert}
		_, lb := jsonEngine(t, o)
		wantEvent(t, lb, events.EventCRLUnusable, path, "signature")
	})
	t.Run("revocation_cache_failed", func(t *testing.T) {
		f := newFixture(t)
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "junk.json"), []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		o := f.opts()
		o.CacheDir = dir
		_, lb := jsonEngine(t, o)
		wantEvent(t, lb, events.EventRevocationCache, dir, "not a certgate cache entry")
	})
}

// TestEventsOCSP: OCSP failures are events too.
func TestEventsOCSP(t *testing.T) {
	t.Run("ocsp_fetch_failed", func(t *testing.T) {
		f := newFixture(t)
		url := deadURL(t, "/ocsp")
		leaf := f.sub.Client(t, "ocsp dead", pki.WithOCSPServer(url)).Cert
		e, lb := jsonEngine(t, f.opts())
		if res := e.Check(context.Background(), leaf, f.sub.Cert, f.at); res.Status != Unknown {
			t.Fatalf("Status = %v, want unknown", res.Status)
		}
		if ev := wantEvent(t, lb, events.EventOCSPFetchFailed, url, ""); ev["serial"] != serialHex(leaf) {
			t.Errorf("serial = %v, want %s", ev["serial"], serialHex(leaf))
		}
	})
	t.Run("ocsp_refresh_failed", func(t *testing.T) {
		f := newFixture(t)
		o := newOCSP(t, f.sub, f.at)
		leaf := f.sub.Client(t, "gina", pki.WithOCSPServer(o.URL())).Cert
		o.set(leaf, ocsp.Good)
		e, lb := jsonEngine(t, f.opts())
		if res := e.Check(context.Background(), leaf, f.sub.Cert, f.at); res.Status != Good {
			t.Fatalf("first check: %v (%s)", res.Status, res.Reason)
		}
		o.mu.Lock()
		o.raw = []byte("not an OCSP response")
		o.mu.Unlock()
		f.clk.Set(f.at.Add(40 * time.Minute))
		if n := e.refreshDue(context.Background()); n != 1 {
			t.Fatalf("refreshDue started %d refreshes, want 1", n)
		}
		wantEvent(t, lb, events.EventOCSPFetchFailed, o.URL(), "")
		wantEvent(t, lb, events.EventOCSPRefreshFailed, o.URL(), "")
	})
}
