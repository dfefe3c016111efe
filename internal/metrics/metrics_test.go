package metrics

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/certgate/certgate/internal/substatus"
)

var now = time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)

// scrape fetches /metrics over real HTTP and parses it as Prometheus does.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value returns the value of the series of name whose labels include want,
// and whether exactly one such series exists.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	var found []*dto.Metric
next:
	for _, m := range f.Metric {
		for k, v := range want {
			ok := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					ok = true
				}
			}
			if !ok {
				continue next
			}
		}
		found = append(found, m)
	}
	if len(found) != 1 {
		return 0, false
	}
	m := found[0]
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue(), true
	case m.Gauge != nil:
		return m.Gauge.GetValue(), true
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount()), true
	}
	return 0, false
}

func cert(cn string, notAfter time.Time) *x509.Certificate {
	return &x509.Certificate{Subject: pkix.Name{CommonName: cn, Organization: []string{"Example"}}, NotAfter: notAfter}
}

func TestScrapeAfterScriptedSequence(t *testing.T) {
	clock := now
	m := New(Options{Version: "1.2.3", Now: func() time.Time { return clock }})

	// The script: two sites, every outcome the gateway answers.
	for i := 0; i < 3; i++ {
		m.Handshake("portal")
	}
	m.Handshake("api")
	m.Request("portal", substatus.OK)
	m.Request("portal", substatus.OK)
	m.Request("portal", substatus.CertUntrusted)
	m.Request("portal", substatus.CertUntrusted)
	m.Request("portal", substatus.CertRequired)
	m.Request("api", substatus.CertTimeInvalid)
	m.Request("api", substatus.CertRevoked)
	m.HandshakeFailure(ReasonTimeout)
	m.HandshakeFailure("something a caller made up") // counted as other
	m.ObserveVerify(2 * time.Millisecond)
	m.ObserveVerify(3 * time.Millisecond)
	m.RevocationFetch("crl", "http://ca.example/a.crl", true, 40*time.Millisecond)
	m.RevocationFetch("crl", "http://ca.example/b.crl", false, 5*time.Second)
	m.RevocationFetch("ocsp", "http://ocsp.example/", true, 10*time.Millisecond)
	m.SetCRLSource(func() []CRLDeadline {
		return []CRLDeadline{
			{Source: "http://ca.example/root.crl", NextUpdate: now.Add(6 * time.Hour)},
			{Source: "/etc/certgate/old.crl", NextUpdate: now.Add(-time.Minute)},
			// The same CRL used by a second site: one series, earliest deadline.
			{Source: "http://ca.example/root.crl", NextUpdate: now.Add(7 * time.Hour)},
			{Source: "/etc/certgate/no-next-update.crl"},
		}
	})
	m.SetCertExpiries([]CertExpiry{
		{Kind: KindServer, Site: "portal", Cert: cert("portal.example", now.Add(30*24*time.Hour))},
		{Kind: KindCA, Site: "portal", Cert: cert("Example Root", now.Add(365*24*time.Hour))},
	})
	m.AccessLogDropped()
	m.ChainRefused("signature_budget")
	m.ChainRefused("made up") // ignored
	m.Connection(true, "")
	m.Connection(true, "max_connections_per_ip")
	m.Connection(true, "")
	m.Connection(false, "")
	m.ClientTimeout("read_body")
	m.ClientTimeout("whatever") // ignored
	m.Reload(true)
	m.Reload(false)
	m.Reload(true)
	m.SetDirectorySource(func() []DirectoryStats {
		return []DirectoryStats{{Site: "portal", Found: 5, NotFound: 2, Unavailable: 3, CacheHits: 40, Stale: 1, Weak: 2, Seconds: 0.25}}
	})

	fams := scrape(t, m.Handler())
	tests := []struct {
		name   string
		metric string
		labels map[string]string
		want   float64
	}{
		{"portal 200", "certgate_requests_total", map[string]string{"site": "portal", "status": "200", "substatus": "0"}, 2},
		{"portal 403.16", "certgate_requests_total", map[string]string{"site": "portal", "status": "403", "substatus": "16"}, 2},
		{"portal 403.7", "certgate_requests_total", map[string]string{"site": "portal", "status": "403", "substatus": "7"}, 1},
		{"api 403.17", "certgate_requests_total", map[string]string{"site": "api", "status": "403", "substatus": "17"}, 1},
		{"api 403.13", "certgate_requests_total", map[string]string{"site": "api", "status": "403", "substatus": "13"}, 1},
		{"handshakes portal", "certgate_handshakes_total", map[string]string{"site": "portal"}, 3},
		{"handshakes api", "certgate_handshakes_total", map[string]string{"site": "api"}, 1},
		{"failure timeout", "certgate_handshake_failures_total", map[string]string{"reason": "timeout"}, 1},
		{"failure other", "certgate_handshake_failures_total", map[string]string{"reason": "other"}, 1},
		{"failure not_tls is zero, not absent", "certgate_handshake_failures_total", map[string]string{"reason": "not_tls"}, 0},
		{"verify count", "certgate_verify_duration_seconds", nil, 2},
		{"crl ok", "certgate_revocation_fetches_total", map[string]string{"kind": "crl", "outcome": "ok"}, 1},
		{"crl error", "certgate_revocation_fetches_total", map[string]string{"kind": "crl", "outcome": "error"}, 1},
		{"ocsp ok", "certgate_revocation_fetches_total", map[string]string{"kind": "ocsp", "outcome": "ok"}, 1},
		{"crl fetch durations", "certgate_revocation_fetch_duration_seconds", map[string]string{"kind": "crl"}, 2},
		{"crl next update", "certgate_crl_next_update_seconds", map[string]string{"source": "http://ca.example/root.crl"}, 6 * 3600},
		{"crl past next update", "certgate_crl_next_update_seconds", map[string]string{"source": "/etc/certgate/old.crl"}, -60},
		{"server cert expiry", "certgate_cert_expiry_seconds", map[string]string{"kind": "server", "site": "portal", "subject": "CN=portal.example,O=Example"}, 30 * 24 * 3600},
		{"ca expiry", "certgate_cert_expiry_seconds", map[string]string{"kind": "ca", "site": "portal", "subject": "CN=Example Root,O=Example"}, 365 * 24 * 3600},
		{"access log drops", "certgate_access_log_dropped_total", nil, 1},
		{"connections open", "certgate_connections_open", nil, 2},
		{"connection refused per ip", "certgate_connections_refused_total", map[string]string{"reason": "max_connections_per_ip"}, 1},
		{"connection refused global zero", "certgate_connections_refused_total", map[string]string{"reason": "max_connections"}, 0},
		{"read body timeout", "certgate_client_timeouts_total", map[string]string{"kind": "read_body"}, 1},
		{"chain refused by budget", "certgate_chain_refusals_total", map[string]string{"reason": "signature_budget"}, 1},
		{"chain refusal too long is zero, not absent", "certgate_chain_refusals_total", map[string]string{"reason": "chain_too_long"}, 0},
		{"reloads ok", "certgate_reloads_total", map[string]string{"outcome": "ok"}, 2},
		{"reloads error", "certgate_reloads_total", map[string]string{"outcome": "error"}, 1},
		{"directory found", "certgate_directory_lookups_total", map[string]string{"site": "portal", "outcome": "found"}, 5},
		{"directory no account", "certgate_directory_lookups_total", map[string]string{"site": "portal", "outcome": "not_found"}, 2},
		{"directory unavailable, apart from no account", "certgate_directory_lookups_total", map[string]string{"site": "portal", "outcome": "unavailable"}, 3},
		{"directory cache hits", "certgate_directory_lookups_total", map[string]string{"site": "portal", "outcome": "cache_hit"}, 40},
		{"directory stale", "certgate_directory_lookups_total", map[string]string{"site": "portal", "outcome": "stale"}, 1},
		{"directory latency", "certgate_directory_lookup_seconds_total", map[string]string{"site": "portal"}, 0.25},
		{"directory weak", "certgate_directory_weak_mappings_total", map[string]string{"site": "portal"}, 2},
		{"build info", "certgate_build_info", map[string]string{"version": "1.2.3"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := value(fams, tt.metric, tt.labels)
			if !ok {
				t.Fatalf("%s%v: no single series in the scrape", tt.metric, tt.labels)
			}
			if got != tt.want {
				t.Errorf("%s%v = %v, want %v", tt.metric, tt.labels, got, tt.want)
			}
		})
	}
	if h := fams["certgate_verify_duration_seconds"].Metric[0].Histogram; h.GetSampleSum() < 0.0049 || h.GetSampleSum() > 0.0051 {
		t.Errorf("verify histogram sum = %v, want 0.005", h.GetSampleSum())
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("Go runtime collector missing")
	}
	if n := len(fams["certgate_crl_next_update_seconds"].GetMetric()); n != 2 {
		t.Errorf("%d crl_next_update series, want 2 (a duplicate source once, none without nextUpdate)", n)
	}

	// The countdown is computed at scrape time: an hour later it is an
	// hour shorter without anyone calling Set again.
	clock = clock.Add(time.Hour)
	fams = scrape(t, m.Handler())
	if got, _ := value(fams, "certgate_crl_next_update_seconds", map[string]string{"source": "http://ca.example/root.crl"}); got != 5*3600 {
		t.Errorf("an hour later crl_next_update_seconds = %v, want %v", got, 5*3600)
	}
}

func TestSetCertExpiriesReplaces(t *testing.T) {
	m := New(Options{Now: func() time.Time { return now }, NoRuntime: true})
	old := cert("Old CA", now.Add(time.Hour))
	m.SetCertExpiries([]CertExpiry{{Kind: KindCA, Site: "a", Cert: old}})
	// After a reload the old CA is gone; a renewed CA with the same subject
	// next to the old one reports the earlier expiry.
	m.SetCertExpiries([]CertExpiry{
		{Kind: KindCA, Site: "a", Cert: cert("New CA", now.Add(48*time.Hour))},
		{Kind: KindCA, Site: "a", Cert: cert("New CA", now.Add(24*time.Hour))},
		{Kind: KindCA, Site: "a", Cert: nil},
	})
	m.SetCRLSource(func() []CRLDeadline { return nil }) // after a reload dropped every CRL
	fams := scrape(t, m.Handler())
	series := fams["certgate_cert_expiry_seconds"].GetMetric()
	if len(series) != 1 {
		t.Fatalf("%d expiry series, want 1", len(series))
	}
	if got, _ := value(fams, "certgate_cert_expiry_seconds", map[string]string{"subject": "CN=New CA,O=Example"}); got != 24*3600 {
		t.Errorf("expiry = %v, want the earlier notAfter (%v)", got, 24*3600)
	}
	if f := fams["certgate_crl_next_update_seconds"]; f != nil && len(f.Metric) != 0 {
		t.Errorf("removed CRL still exported: %v", f.Metric)
	}
	if _, ok := fams["go_goroutines"]; ok {
		t.Error("NoRuntime still registers the Go collector")
	}
}

func TestInvalidUTF8LabelsDoNotBreakTheScrape(t *testing.T) {
	m := New(Options{Now: func() time.Time { return now }, NoRuntime: true})
	m.SetCRLSource(func() []CRLDeadline {
		return []CRLDeadline{{Source: "http://ca.example/\xff.crl", NextUpdate: now.Add(time.Hour)}}
	})
	m.SetCertExpiries([]CertExpiry{{Kind: KindCA, Site: "a", Cert: cert("bad \xfe name", now.Add(time.Hour))}})
	fams := scrape(t, m.Handler())
	if len(fams["certgate_crl_next_update_seconds"].GetMetric()) != 1 || len(fams["certgate_cert_expiry_seconds"].GetMetric()) != 1 {
		t.Errorf("series with sanitized labels missing: %v", fams)
	}
}

func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.Request("a", substatus.OK)
	m.Handshake("a")
	m.HandshakeFailure(ReasonOther)
	m.ObserveVerify(time.Second)
	m.RevocationFetch("crl", "u", true, time.Second)
	m.SetCRLSource(nil)
	m.SetCertExpiries(nil)
	m.AccessLogDropped()
	m.Reload(true)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusNotFound || m.Registry() != nil {
		t.Errorf("nil Metrics handler answered %d", rec.Code)
	}
}

// handshakeErr runs a real crypto/tls server handshake over net.Pipe with
// the given client behaviour and returns the server's error.
func handshakeErr(t *testing.T, client func(net.Conn)) error {
	t.Helper()
	srvConn, cliConn := net.Pipe()
	defer srvConn.Close()
	go func() {
		client(cliConn)
	}()
	srvConn.SetDeadline(time.Now().Add(10 * time.Second))
	err := tls.Server(srvConn, &tls.Config{}).Handshake()
	cliConn.Close()
	return err
}

func TestHandshakeReason(t *testing.T) {
	tests := []struct {
		name string
		err  func(t *testing.T) error
		want string
	}{
		{"nil", func(*testing.T) error { return nil }, ""},
		{"plain http to the tls port", func(t *testing.T) error {
			return handshakeErr(t, func(c net.Conn) { io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") })
		}, ReasonNotTLS},
		{"client hangs up", func(t *testing.T) error {
			return handshakeErr(t, func(c net.Conn) { c.Close() })
		}, ReasonClientClosed},
		{"deadline", func(t *testing.T) error {
			srv, cli := net.Pipe()
			defer cli.Close()
			defer srv.Close()
			srv.SetDeadline(time.Now().Add(-time.Second))
			return tls.Server(srv, &tls.Config{}).Handshake()
		}, ReasonTimeout},
		{"alert from the client", func(*testing.T) error {
			return &net.OpError{Op: "remote error", Err: errors.New("tls: unknown certificate authority")}
		}, ReasonClientAlert},
		{"version mismatch", func(*testing.T) error {
			return fmt.Errorf("tls: client offered only unsupported versions: [301]")
		}, ReasonProtocol},
		{"certificate verification", func(*testing.T) error {
			return &tls.CertificateVerificationError{Err: errors.New("x509: unknown authority")}
		}, ReasonClientCert},
		{"wrapped deadline", func(*testing.T) error { return fmt.Errorf("handshake: %w", os.ErrDeadlineExceeded) }, ReasonTimeout},
		{"unknown", func(*testing.T) error { return errors.New("something new") }, ReasonOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err(t)
			if got := HandshakeReason(err); got != tt.want {
				t.Errorf("HandshakeReason(%v) = %q, want %q", err, got, tt.want)
			}
		})
	}
}

// TestNamesInOneFile guards the rule that every exported metric is named in
// names.go: the scrape holds only certgate_ series declared there (plus the
// Go runtime's own).
func TestNamesInOneFile(t *testing.T) {
	m := New(Options{Now: func() time.Time { return now }, NoRuntime: true})
	m.Request("a", substatus.OK)
	m.Handshake("a")
	m.ObserveVerify(time.Millisecond)
	m.RevocationFetch("crl", "u", true, time.Millisecond)
	m.SetCRLSource(func() []CRLDeadline { return []CRLDeadline{{Source: "x", NextUpdate: now}} })
	m.SetCertExpiries([]CertExpiry{{Kind: KindCA, Site: "a", Cert: cert("x", now)}})
	m.AccessLogDropped()
	declared := map[string]bool{}
	for _, n := range []string{nameRequests, nameHandshakes, nameHandshakeFail, nameVerify, nameRevFetches,
		nameRevFetchDur, nameCRLNext, nameCertExpiry, nameLogDropped, nameReloads, nameChainRefused, nameConnsOpen, nameConnsRefused, nameTimeouts, nameBuildInfo} {
		declared[namespace+"_"+n] = true
	}
	var got []string
	for name := range scrape(t, m.Handler()) {
		got = append(got, name)
		if !declared[name] {
			t.Errorf("%s is exported but not declared in names.go", name)
		}
	}
	sort.Strings(got)
	if len(got) != len(declared) {
		t.Errorf("scrape has %d families %s, names.go declares %d", len(got), strings.Join(got, ","), len(declared))
	}
}
