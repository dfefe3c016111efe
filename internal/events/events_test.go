package events_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/issuerlist"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

var now = time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)

// capture returns a JSON logger at Debug and a function that parses what it
// wrote, one map per entry.
func capture(t *testing.T) (*slog.Logger, func() []map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: events.JSONDurations}))
	return l, func() []map[string]any {
		t.Helper()
		var out []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if line == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("log line %q is not JSON: %v", line, err)
			}
			out = append(out, m)
		}
		return out
	}
}

// get walks a dotted path ("cert.sha256") in a decoded entry.
func get(m map[string]any, path string) any {
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

// noKeyMaterial fails if an entry holds PEM, or the DER of cert in base64.
func noKeyMaterial(t *testing.T, entries []map[string]any, certs ...*x509.Certificate) {
	t.Helper()
	b, _ := json.Marshal(entries)
	s := string(b)
	if strings.Contains(s, "BEGIN") || strings.Contains(s, "PRIVATE") {
		t.Errorf("log holds PEM: %s", s)
	}
	for _, c := range certs {
		if strings.Contains(s, base64.StdEncoding.EncodeToString(c.Raw)[:40]) {
			t.Errorf("log holds the DER of %s", c.Subject)
		}
	}
}

type fixture struct {
	root, other *pkitest.CA
	inter       *pkitest.CA
	alice       *pki.Leaf // under root via inter
	mallory     *pki.Leaf // under other, untrusted
}

func newFixture(t *testing.T) fixture {
	root := pkitest.NewRoot(t, "Example Root")
	inter := root.Intermediate(t, "Example Issuing CA")
	other := pkitest.NewRoot(t, "Other Root")
	return fixture{
		root: root, other: other, inter: inter,
		alice:   inter.Client(t, "alice"),
		mallory: other.Client(t, "mallory"),
	}
}

func TestClientCertRejected(t *testing.T) {
	f := newFixture(t)
	v, err := verify.New(verify.Options{Roots: []*x509.Certificate{f.root.Cert}, Intermediates: []*x509.Certificate{f.inter.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	untrusted := v.Verify(context.Background(), append(f.mallory.Chain(), f.other.Cert), time.Now())
	if untrusted.Sub != substatus.CertUntrusted {
		t.Fatalf("fixture: want 403.16, got %v", untrusted)
	}
	expired := v.Verify(context.Background(), f.alice.Chain(), f.alice.Cert.NotAfter.Add(time.Hour))
	if expired.Sub != substatus.CertTimeInvalid {
		t.Fatalf("fixture: want 403.17, got %v", expired)
	}
	offline := &verify.Outcome{Sub: substatus.CertRevoked, Code: substatus.CryptERevocationOffline,
		Element: &verify.Element{Index: 1, Role: verify.RoleIntermediate, Cert: f.inter.Cert},
		Reason:  "crl http://ca.example/inter.crl unreachable", Chain: []*x509.Certificate{f.alice.Cert, f.inter.Cert, f.root.Cert},
		Err: errors.New("fetch crl: timeout")}

	tests := []struct {
		name    string
		o       *verify.Outcome
		level   string
		sub     string
		code    string
		win32   string
		leaf    *x509.Certificate
		element float64
	}{
		{"403.16 untrusted", untrusted, "INFO", "403.16", substatus.CertEUntrustedRoot.Name(), "2148204809", f.mallory.Cert, -1},
		{"403.17 expired", expired, "INFO", "403.17", substatus.CertEExpired.Name(), substatus.CertEExpired.Decimal(), f.alice.Cert, -1},
		{"403.13 offline is the operator's", offline, "WARN", "403.13", "CRYPT_E_REVOCATION_OFFLINE", substatus.CryptERevocationOffline.Decimal(), f.alice.Cert, 1},
		{"403.7 no certificate", verify.NoCertificate(), "INFO", "403.7", "SEC_E_NO_CREDENTIALS", substatus.SecENoCredentials.Decimal(), nil, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, read := capture(t)
			events.ClientCertRejected(l, "portal", tt.o, slog.String("request_id", "abc123"))
			entries := read()
			if len(entries) != 1 {
				t.Fatalf("%d entries, want 1", len(entries))
			}
			e := entries[0]
			want := map[string]any{
				"level": tt.level, "event": events.EventClientCertRejected, "site": "portal", "substatus": tt.sub,
				"code": tt.code, "win32": tt.win32, "request_id": "abc123",
			}
			for k, v := range want {
				if got := get(e, k); got != v {
					t.Errorf("%s = %v, want %v", k, got, v)
				}
			}
			if get(e, "reason") == "" || get(e, "reason") == nil {
				t.Error("reason missing")
			}
			if tt.leaf != nil {
				if get(e, "cert.sha256") != verify.Fingerprint(tt.leaf) || get(e, "cert.subject") != tt.leaf.Subject.String() ||
					get(e, "cert.issuer") != tt.leaf.Issuer.String() || get(e, "cert.serial") == nil {
					t.Errorf("cert = %v, want subject, issuer, serial and sha256 of %s", get(e, "cert"), tt.leaf.Subject)
				}
			} else if get(e, "cert") != nil {
				t.Errorf("403.7 logged a certificate: %v", get(e, "cert"))
			}
			if tt.element >= 0 {
				if get(e, "element.index") != tt.element || get(e, "element.role") != "intermediate" ||
					get(e, "element_cert.sha256") != verify.Fingerprint(f.inter.Cert) {
					t.Errorf("element = %v / %v, want intermediate %v", get(e, "element"), get(e, "element_cert"), tt.element)
				}
			} else if tt.o.Element != nil && get(e, "element.index") != float64(tt.o.Element.Index) {
				t.Errorf("element = %v, want index %d", get(e, "element"), tt.o.Element.Index)
			}
			noKeyMaterial(t, entries, f.alice.Cert, f.mallory.Cert, f.inter.Cert)
		})
	}
}

func TestDowngradeAndWarnings(t *testing.T) {
	f := newFixture(t)
	o := &verify.Outcome{Sub: substatus.OK, Chain: []*x509.Certificate{f.alice.Cert, f.inter.Cert, f.root.Cert},
		Warnings: []string{"revocation unavailable for intermediate 1, allowed by on_unavailable: allow", "anchor not self-signed"}}
	l, read := capture(t)
	events.VerifyWarnings(l, "portal", o.Warnings, o.Leaf())
	rejected := &verify.Outcome{Sub: substatus.CertUntrusted, Code: substatus.CertEUntrustedRoot, Reason: "untrusted", Chain: []*x509.Certificate{f.mallory.Cert}}
	events.AnonymousDowngrade(l, "portal", rejected, slog.String("path", "/public"))
	entries := read()
	if len(entries) != 3 {
		t.Fatalf("%d entries, want 2 warnings and 1 downgrade", len(entries))
	}
	for i := 0; i < 2; i++ {
		if entries[i]["level"] != "WARN" || entries[i]["event"] != events.EventVerifyWarning || entries[i]["warning"] != o.Warnings[i] {
			t.Errorf("warning %d = %v", i, entries[i])
		}
	}
	d := entries[2]
	if d["level"] != "INFO" || d["event"] != events.EventAnonymousDowngrade || d["substatus"] != "403.16" || d["path"] != "/public" ||
		get(d, "cert.sha256") != verify.Fingerprint(f.mallory.Cert) {
		t.Errorf("downgrade = %v", d)
	}
}

func TestIssuerListEvents(t *testing.T) {
	var cas []*x509.Certificate
	for _, cn := range []string{"Root A", "Root B", "Root C", "Root D"} {
		cas = append(cas, pkitest.NewRoot(t, cn).Cert)
	}
	max := issuerlist.NameSize(cas[0]) + issuerlist.NameSize(cas[1])
	r := issuerlist.Truncate(cas, max)
	if len(r.Dropped) != 2 {
		t.Fatalf("fixture: %d dropped, want 2", len(r.Dropped))
	}
	l, read := capture(t)
	events.IssuerListTruncated(l, max, r.Bytes, r.TotalBytes, len(r.Kept), r.Dropped)
	events.IssuerListTruncated(l, max, 0, 0, 0, issuerlist.Truncate(cas, 0).Dropped) // nothing dropped: no event
	events.IssuerListLarge(l, 20000, 16384, 140)
	entries := read()
	if len(entries) != 2 {
		t.Fatalf("%d entries, want 2", len(entries))
	}
	e := entries[0]
	subjects, _ := e["dropped_subjects"].([]any)
	sums, _ := e["dropped_sha256"].([]any)
	if e["level"] != "WARN" || e["event"] != events.EventIssuerListTruncated || e["dropped"] != 2.0 || e["kept"] != 2.0 ||
		len(subjects) != 2 || subjects[0] != cas[2].Subject.String() || subjects[1] != cas[3].Subject.String() ||
		len(sums) != 2 || sums[1] != verify.Fingerprint(cas[3]) {
		t.Errorf("truncation event = %v", e)
	}
	if !strings.Contains(e["msg"].(string), "2 of 4 CAs not sent") {
		t.Errorf("msg = %q", e["msg"])
	}
	if g := entries[1]; g["event"] != events.EventIssuerListLarge || g["bytes"] != 20000.0 || g["warn_bytes"] != 16384.0 {
		t.Errorf("large event = %v", g)
	}
}

func TestOperatorWarnings(t *testing.T) {
	f := newFixture(t)
	server := f.root.Server(t, "portal.example", []string{"portal.example"},
		pki.WithValidity(now.Add(-24*time.Hour), now.Add(10*24*time.Hour)))
	tests := []struct {
		name  string
		log   func(*slog.Logger)
		level string
		event string
		attrs map[string]any
	}{
		{"non self-signed root", func(l *slog.Logger) { events.NonSelfSignedRoot(l, f.inter.Cert) },
			"WARN", events.EventNonSelfSignedRoot, map[string]any{"cert.subject": f.inter.Cert.Subject.String(), "cert.issuer": f.root.Cert.Subject.String()}},
		{"crl fetch failed", func(l *slog.Logger) {
			events.CRLFetchFailed(l, "http://ca.example/inter.crl", errors.New("status 404"), slog.String("issuer", "CN=Example Issuing CA"))
		}, "WARN", events.EventCRLFetchFailed, map[string]any{"source": "http://ca.example/inter.crl", "err": "status 404", "issuer": "CN=Example Issuing CA"}},
		{"crl near next update", func(l *slog.Logger) {
			events.CRLNearNextUpdate(l, "/etc/certgate/root.crl", now.Add(90*time.Minute), now)
		},
			"WARN", events.EventCRLNearNextUpdate, map[string]any{"source": "/etc/certgate/root.crl", "remaining": "1h30m0s", "next_update": "2026-11-23T19:30:00Z"}},
		{"crl past next update", func(l *slog.Logger) {
			events.CRLNearNextUpdate(l, "/etc/certgate/root.crl", now.Add(-time.Minute), now)
		},
			"ERROR", events.EventCRLNearNextUpdate, map[string]any{"msg": "crl past its next update"}},
		{"server cert near expiry", func(l *slog.Logger) { events.CertNearExpiry(l, "server", "portal", server.Cert, now) },
			"WARN", events.EventCertNearExpiry, map[string]any{"kind": "server", "site": "portal", "cert.sha256": verify.Fingerprint(server.Cert), "remaining": "240h0m0s"}},
		{"ca expired", func(l *slog.Logger) {
			events.CertNearExpiry(l, "ca", "portal", f.root.Cert, f.root.Cert.NotAfter.Add(time.Hour))
		},
			"ERROR", events.EventCertNearExpiry, map[string]any{"kind": "ca", "msg": "ca certificate expired"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, read := capture(t)
			tt.log(l)
			entries := read()
			if len(entries) != 1 {
				t.Fatalf("%d entries, want 1", len(entries))
			}
			e := entries[0]
			if e["level"] != tt.level || e["event"] != tt.event {
				t.Errorf("level/event = %v/%v, want %s/%s", e["level"], e["event"], tt.level, tt.event)
			}
			for k, v := range tt.attrs {
				if got := get(e, k); got != v {
					t.Errorf("%s = %v, want %v", k, got, v)
				}
			}
			noKeyMaterial(t, entries, f.inter.Cert, f.root.Cert, server.Cert)
		})
	}
}

func TestNilAndDisabled(t *testing.T) {
	// A nil logger and a level filter both cost nothing and never panic.
	events.ClientCertRejected(nil, "s", verify.NoCertificate())
	events.CertNearExpiry(nil, "ca", "s", nil, now)
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError}))
	events.ClientCertRejected(l, "s", verify.NoCertificate())
	events.VerifyWarnings(l, "s", nil, nil)
	if buf.Len() != 0 {
		t.Errorf("Info event written at level Error: %s", buf.String())
	}
	if a := events.Cert("cert", nil); a.Value.String() != "none" {
		t.Errorf("events.Cert(nil) = %v", a)
	}
}
