package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/certgate/certgate/internal/accesslog"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/logs"
	"github.com/certgate/certgate/internal/metrics"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// opsYAML is one site with every policy, the echo upstream and a shared
// access log. %s is extra YAML appended to the site (for reload variants).
const opsYAML = `
listen: 127.0.0.1:0
access_log:
  dir: logs
sites:
  - name: a
    hosts: [a.example.test]
    certificate: {cert: %s.pem, key: %s.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem, intermediates: intermediates.pem}
      issuer_list: {warn_bytes: %d}
      # Local CRLs only: revocation is really checked, without network.
      revocation: {mode: cache-only, crls: crls}
    mapping:
      many_to_one:
        - {name: everyone, user: "user-{CN}"}
    locations:
      - {path: /, client_cert: require}
      - {path: /public, client_cert: ignore}
      - {path: /maybe, client_cert: accept}
`

func opsConfig(server string, warnBytes int) string {
	return fmt.Sprintf(opsYAML, server, server, warnBytes)
}

// observed is a gateway wired as `certgate serve` wires it (Service):
// Observer hooks, access logs, metrics, a Reloader and the admin listener
// on loopback.
type observed struct {
	*gatewayUnderTest
	svc      *Service
	adminURL string
	cfgPath  string
	// requests and handshakes receive one value per hook call: the hooks
	// run after the client already has its answer, so tests wait on these
	// instead of sleeping.
	requests, handshakes chan struct{}
	// sighup is the service's reload signal channel.
	sighup chan os.Signal
}

// writeCRLs writes current CRLs of both client CAs into dir/crls, the
// issuing CA's revoking revoked.
func writeCRLs(t testing.TB, dir string, p *testPKI, revoked ...*x509.Certificate) {
	t.Helper()
	crls := filepath.Join(dir, "crls")
	if err := os.MkdirAll(crls, 0o755); err != nil {
		t.Fatal(err)
	}
	pkitest.WriteFile(t, crls, "root.crl", p.root.CRL(t, pki.CRLOptions{}))
	pkitest.WriteFile(t, crls, "sub.crl", p.sub.CRL(t, pki.CRLOptions{}, revoked...))
}

func startObserved(t *testing.T, p *testPKI, yaml string, revoked ...*x509.Certificate) *observed {
	t.Helper()
	dir := t.TempDir()
	p.writeFiles(t, dir)
	writeCRLs(t, dir, p, revoked...)
	o := &observed{
		gatewayUnderTest: &gatewayUnderTest{pki: p, dir: dir, logs: &syncBuffer{}},
		requests:         make(chan struct{}, 1024),
		handshakes:       make(chan struct{}, 1024),
	}
	o.sighup = make(chan os.Signal)
	// The admin listener on a free loopback port (the default would be
	// 127.0.0.1:9443 for every test), spelled unlike listen as config
	// requires.
	cfg := loadConfig(t, dir, "admin: {listen: \"localhost:0\"}\n"+yaml)
	o.cfgPath = cfg.Path
	svc, err := NewService(cfg, ServiceOptions{
		Logger: jsonLogger(o.logs), Version: "test", Reload: o.sighup,
		Hooks: Hooks{
			Request:   func(*RequestEvent) { o.requests <- struct{}{} },
			Handshake: func(*HandshakeEvent) { o.handshakes <- struct{}{} },
		},
	})
	if err != nil {
		t.Fatalf("new service: %v", err)
	}
	o.svc, o.srv, o.snap = svc, svc.Server(), svc.Server().Snapshot()
	o.addr, o.adminURL = svc.Addr().String(), "http://"+svc.AdminAddr().String()
	done := make(chan error, 1)
	go func() { done <- svc.Serve(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := svc.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-done
	})
	return o
}

func wait(ch chan struct{}, n int) {
	for i := 0; i < n; i++ {
		<-ch
	}
}

func (o *observed) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(o.adminURL + "/metrics")
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

// series returns the value of the one series of name with the given
// labels (a subset), or -1 when there is not exactly one.
func series(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	var found []*dto.Metric
	for _, m := range fams[name].GetMetric() {
		ok := true
		for i := 0; i+1 < len(labels); i += 2 {
			match := false
			for _, l := range m.GetLabel() {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					match = true
				}
			}
			ok = ok && match
		}
		if ok {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		return -1
	}
	m := found[0]
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return -1
}

func (o *observed) post(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Post(o.adminURL+path, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMetricsAndAccessLogAfterScriptedRequests(t *testing.T) {
	p := newTestPKI(t)
	now := time.Now()
	otherRoot := pkitest.NewRoot(t, "Other Root")
	stranger := otherRoot.Client(t, "stranger")
	expired := p.sub.Client(t, "old alice", pki.WithValidity(now.Add(-48*time.Hour), now.Add(-time.Hour)))
	bob := p.sub.Client(t, "bob")
	o := startObserved(t, p, opsConfig("server", 16384), bob.Cert)

	script := []struct {
		path string
		cert *pki.Leaf
		sub  substatus.Sub
		code substatus.Code
		user string // cs-username: the mapped user
	}{
		{"/", p.alice, substatus.OK, substatus.NoError, "user-alice"},
		{"/", nil, substatus.CertRequired, substatus.SecENoCredentials, "-"},
		{"/", stranger, substatus.CertUntrusted, substatus.CertEUntrustedRoot, "-"},
		{"/", expired, substatus.CertTimeInvalid, substatus.CertEExpired, "-"},
		{"/", bob, substatus.CertRevoked, substatus.CryptERevoked, "-"},
		{"/public", nil, substatus.OK, substatus.NoError, "-"},
		{"/maybe?x=1 2", stranger, substatus.OK, substatus.NoError, "-"}, // downgraded to anonymous
	}
	for _, s := range script {
		rq := request{sni: "a.example.test", path: strings.ReplaceAll(s.path, " ", "%20"), cert: s.cert, header: http.Header{"User-Agent": {"ops test/1.0 (scripted)"}}}
		if s.cert == stranger {
			// With its own root, so that the verdict is "untrusted root"
			// rather than "cannot build a chain".
			rq.chain = []*x509.Certificate{otherRoot.Cert}
		}
		res := o.do(t, rq)
		if res.status != s.sub.Status {
			t.Fatalf("%s with %v: status %d, want %d\n%s", s.path, s.cert != nil, res.status, s.sub.Status, res.body)
		}
	}
	// Plain HTTP on the TLS port: a failed handshake.
	c, err := net.Dial("tcp", o.addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: a.example.test\r\n\r\n")
	io.Copy(io.Discard, c)
	c.Close()
	wait(o.requests, len(script))
	wait(o.handshakes, len(script)+1)

	fams := o.scrape(t)
	checks := []struct {
		name   string
		metric string
		labels []string
		want   float64
	}{
		{"200s", "certgate_requests_total", []string{"site", "a", "status", "200", "substatus", "0"}, 3},
		{"403.7", "certgate_requests_total", []string{"site", "a", "status", "403", "substatus", "7"}, 1},
		{"403.16", "certgate_requests_total", []string{"site", "a", "status", "403", "substatus", "16"}, 1},
		{"403.17", "certgate_requests_total", []string{"site", "a", "status", "403", "substatus", "17"}, 1},
		{"403.13", "certgate_requests_total", []string{"site", "a", "status", "403", "substatus", "13"}, 1},
		{"handshakes", "certgate_handshakes_total", []string{"site", "a"}, float64(len(script))},
		{"not tls", "certgate_handshake_failures_total", []string{"reason", "not_tls"}, 1},
		// Every presented certificate is verified once; no certificate
		// is not a verification.
		{"verifications", "certgate_verify_duration_seconds", nil, 5},
		{"server expiry", "certgate_cert_expiry_seconds", []string{"kind", "server", "site", "a"}, -2},
		{"ca expiry", "certgate_cert_expiry_seconds", []string{"kind", "ca", "site", "a", "subject", p.root.Cert.Subject.String()}, -2},
		{"no drops", "certgate_access_log_dropped_total", nil, 0},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			got := series(fams, c.metric, c.labels...)
			if c.want == -2 { // a countdown: present and positive
				if got <= 0 {
					t.Errorf("%s%v = %v, want a positive countdown", c.metric, c.labels, got)
				}
				return
			}
			if got != c.want {
				t.Errorf("%s%v = %v, want %v", c.metric, c.labels, got, c.want)
			}
		})
	}

	// The access log has the same story, line for line.
	if err := o.svc.AccessLogs().For("a").Flush(); err != nil {
		t.Fatal(err)
	}
	lines := readW3C(t, filepath.Join(o.dir, "logs"))
	if len(lines) != len(script) {
		t.Fatalf("%d access log lines, want %d:\n%s", len(lines), len(script), strings.Join(lines, "\n"))
	}
	fields := strings.Fields(accesslog.Fields)
	col := func(f []string, name string) string {
		for i, n := range fields {
			if n == name {
				return f[i]
			}
		}
		return ""
	}
	for i, s := range script {
		f := strings.Fields(lines[i])
		if len(f) != len(fields) {
			t.Fatalf("line %q: %d fields, want %d", lines[i], len(f), len(fields))
		}
		want := map[string]string{
			"sc-status": fmt.Sprint(s.sub.Status), "sc-substatus": fmt.Sprint(s.sub.Sub),
			"sc-win32-status": s.code.W3C().Decimal(), "cs-uri-stem": strings.SplitN(s.path, "?", 2)[0],
			"cs(User-Agent)": "ops+test/1.0+(scripted)", "c-ip": "127.0.0.1", "s-ip": "127.0.0.1",
			"s-port": o.addr[strings.LastIndex(o.addr, ":")+1:], "cs-username": s.user,
		}
		if s.path == "/maybe?x=1 2" {
			want["cs-uri-query"] = "x=1%202"
		}
		for k, v := range want {
			if got := col(f, k); got != v {
				t.Errorf("line %d %s = %q, want %q (%s)", i, k, got, v, lines[i])
			}
		}
	}

	// `certgate logs analyze` reads the same file back: every failure of
	// the script under its class, with the code the gateway decided with,
	// whatever sc-win32-status carries (403.7 is logged as 5, as IIS does).
	rep, err := logs.AnalyzeFiles([]string{filepath.Join(o.dir, "logs")}, logs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.MalformedLines != 0 || rep.MatchedLines != int64(len(script)) || rep.ByStatus["200"] != 3 {
		t.Errorf("analyze: matched %d malformed %d by_status %v", rep.MatchedLines, rep.MalformedLines, rep.ByStatus)
	}
	for _, s := range script {
		if s.sub == substatus.OK {
			continue
		}
		key := s.sub.String() + " " + s.code.W3C().Decimal()
		if rep.ByStatusWin32[key] != 1 {
			t.Errorf("analyze: by_status_win32[%s] = %d, want 1 (%v)", key, rep.ByStatusWin32[key], rep.ByStatusWin32)
		}
		found := false
		for _, f := range rep.Failures {
			if f.Status == s.sub.String() && f.Code == s.code.Name() {
				found = true
			}
		}
		if !found {
			t.Errorf("analyze: no failure class %s %s in %+v", s.sub, s.code.Name(), rep.Failures)
		}
	}
}

// readW3C returns the entry lines of every file in dir, in file order.
func readW3C(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
				out = append(out, l)
			}
		}
		f.Close()
	}
	return out
}

// TestReloadUnderLoad reloads 20 times while 4 workers keep making
// requests that need a client certificate; not one may fail. Reloads are
// paced by completed requests, not by time, so the test is as strict on a
// slow machine as on a fast one.
func TestReloadUnderLoad(t *testing.T) {
	p := newTestPKI(t)
	o := startObserved(t, p, opsConfig("server", 16384))
	first := o.srv.Snapshot()
	// Every other reload rotates the server certificate.
	pkitest.WriteLeaf(t, o.dir, "renewed", p.serverRoot.Server(t, "gateway renewed", testHosts))
	servers := []string{"server", "renewed"}

	const workers, perWorker, reloads, every = 4, 40, 20, 6
	progress := make(chan struct{}, workers*perWorker)
	var failures atomic.Int64
	var failMu sync.Mutex
	var failed []string
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				res, err := o.try(request{sni: "a.example.test", path: "/", cert: p.alice})
				if err != nil || res.status != http.StatusOK {
					failures.Add(1)
					failMu.Lock()
					failed = append(failed, fmt.Sprintf("status %d err %v", res.status, err))
					failMu.Unlock()
				}
				progress <- struct{}{}
			}
		}()
	}
	for i := 0; i < reloads; i++ {
		wait(progress, every)
		// Every reload changes the config (and every other one the
		// server certificate).
		writeConfig(t, o.cfgPath, opsConfig(servers[i%2], 16384+i))
		if err := o.svc.Reload(); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
	}
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed during %d reloads: %v", n, workers*perWorker, reloads, failed)
	}
	snap := o.srv.Snapshot()
	if snap == first || *snap.Sites[0].Config.ClientAuth.IssuerList.WarnBytes != 16384+reloads-1 {
		t.Errorf("the last reload is not the snapshot in use")
	}
	if got := series(o.scrape(t), "certgate_reloads_total", "outcome", "ok"); got != reloads {
		t.Errorf("reloads_total{ok} = %v, want %d", got, reloads)
	}
	// The shared access log writer survived every reload: same writer,
	// one header block, every request logged.
	wait(o.requests, workers*perWorker)
	w := o.svc.AccessLogs().For("a")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := len(readW3C(t, filepath.Join(o.dir, "logs"))); got != workers*perWorker {
		t.Errorf("%d access log lines, want %d", got, workers*perWorker)
	}
}

func writeConfig(t *testing.T, path, yaml string) {
	t.Helper()
	// Write and rename, as editors and config management do, so that a
	// reload never reads half a file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestInvalidReloadKeepsOldConfig sends broken configs through POST
// /reload: each is refused with the field named, the old snapshot keeps
// serving. Then a valid reload with a new server certificate is seen by
// the next handshake.
func TestInvalidReloadKeepsOldConfig(t *testing.T) {
	p := newTestPKI(t)
	o := startObserved(t, p, opsConfig("server", 16384))
	old := o.srv.Snapshot()

	bad := []struct {
		name, yaml, field string
		setup             func(t *testing.T)
	}{
		{"missing key file", opsConfig("nosuch", 16384), "sites[0].certificate", nil},
		{"bad policy", strings.Replace(opsConfig("server", 16384), "client_cert: accept", "client_cert: maybe", 1), "sites[0].locations[2].client_cert", nil},
		{"unknown key", strings.Replace(opsConfig("server", 16384), "upstream: echo", "upstream: echo\n    upstreams: x", 1), "upstreams", nil},
		{"not yaml", "sites: [", "certgate.yaml", nil},
		{"access log dir is a file", strings.Replace(opsConfig("server", 16384), "dir: logs", "dir: roots.pem", 1), "access_log.dir", nil},
		{"corrupt crl file", opsConfig("server", 16384), "sites[0].client_auth.revocation", func(t *testing.T) {
			pkitest.WriteFile(t, filepath.Join(o.dir, "crls"), "sub.crl", []byte("not a CRL"))
			t.Cleanup(func() { writeCRLs(t, o.dir, p) })
		}},
	}
	for i, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			if b.setup != nil {
				b.setup(t)
			}
			writeConfig(t, o.cfgPath, b.yaml)
			status, body := o.post(t, "/reload")
			if status != http.StatusInternalServerError || !strings.Contains(body, b.field) {
				t.Errorf("POST /reload = %d %q, want 500 naming %q", status, body, b.field)
			}
			if o.srv.Snapshot() != old {
				t.Fatal("a refused reload replaced the snapshot")
			}
			if res := o.do(t, request{sni: "a.example.test", path: "/", cert: p.alice}); res.status != http.StatusOK {
				t.Errorf("after refused reload: status %d", res.status)
			}
			if got := series(o.scrape(t), "certgate_reloads_total", "outcome", "error"); got != float64(i+1) {
				t.Errorf("reloads_total{error} = %v, want %d", got, i+1)
			}
		})
	}
	if !strings.Contains(o.logs.String(), "reload refused") {
		t.Error("refused reloads were not logged")
	}

	// A valid reload: a renewed server certificate, served to new handshakes.
	renewed := p.serverRoot.Server(t, "gateway renewed", testHosts)
	pkitest.WriteLeaf(t, o.dir, "renewed", renewed)
	writeConfig(t, o.cfgPath, opsConfig("renewed", 16384))
	if status, body := o.post(t, "/reload"); status != http.StatusOK {
		t.Fatalf("valid reload: %d %s", status, body)
	}
	conn, err := tls.Dial("tcp", o.addr, &tls.Config{ServerName: "a.example.test", RootCAs: p.serverRoot.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := conn.ConnectionState().PeerCertificates[0]; !got.Equal(renewed.Cert) {
		t.Errorf("after reload the server presents %s, want the renewed certificate", got.Subject)
	}

	// CRL files are reloaded too: a newly published CRL revoking alice
	// applies to the next connection.
	writeCRLs(t, o.dir, p, p.alice.Cert)
	if status, body := o.post(t, "/reload"); status != http.StatusOK {
		t.Fatalf("reload with new CRLs: %d %s", status, body)
	}
	res := o.do(t, request{sni: "a.example.test", path: "/", cert: p.alice, accept: "application/problem+json"})
	if res.status != http.StatusForbidden || res.problem(t).Substatus != "403.13" {
		t.Errorf("alice after her certificate was revoked and CRLs reloaded: %d %s", res.status, res.body)
	}
}

func TestReloaderWatchesSignals(t *testing.T) {
	p := newTestPKI(t)
	o := startObserved(t, p, opsConfig("server", 16384))
	old := o.srv.Snapshot()
	writeConfig(t, o.cfgPath, opsConfig("server", 20000))
	o.sighup <- syscall.SIGHUP
	o.sighup <- syscall.SIGHUP // accepted only once the first reload is done
	if o.srv.Snapshot() == old || *o.srv.Snapshot().Sites[0].Config.ClientAuth.IssuerList.WarnBytes != 20000 {
		t.Error("SIGHUP did not reload the config")
	}
}

func TestAdminHandler(t *testing.T) {
	notReady := fmt.Errorf("crl for %q not loaded", "CN=Example Root")
	ready := notReady
	h := NewAdminHandler(AdminOptions{
		Reload: func() error { return nil },
		Ready:  func() error { return ready },
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name, method, path string
		status             int
		body               string
		before             func()
	}{
		{"healthz", "GET", "/healthz", 200, "ok", nil},
		{"not ready names why", "GET", "/readyz", 503, "crl for", nil},
		{"ready", "GET", "/readyz", 200, "ready", func() { ready = nil }},
		{"reload needs POST", "GET", "/reload", 405, "", nil},
		{"reload", "POST", "/reload", 200, "reloaded", nil},
		{"pprof off by default", "GET", "/debug/pprof/", 404, "", nil},
		{"no metrics without a registry", "GET", "/metrics", 404, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.before != nil {
				tt.before()
			}
			status, body := get(tt.method, tt.path)
			if status != tt.status || !strings.Contains(body, tt.body) {
				t.Errorf("%s %s = %d %q, want %d containing %q", tt.method, tt.path, status, body, tt.status, tt.body)
			}
		})
	}
}

func TestAdminPprofWhenEnabled(t *testing.T) {
	srv := httptest.NewServer(NewAdminHandler(AdminOptions{Pprof: true}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "goroutine profile") {
		t.Errorf("GET /debug/pprof/goroutine = %d %.80q, want 200 with a goroutine profile", resp.StatusCode, b)
	}
}

func TestOpenAccessLogsSharedPerSiteAndReuse(t *testing.T) {
	dir := t.TempDir()
	yaml := `
access_log: {dir: shared}
sites:
  - {name: a, hosts: [a.test], certificate: {cert: s.pem, key: s.key}, upstream: echo}
  - {name: b, hosts: [b.test], certificate: {cert: s.pem, key: s.key}, upstream: echo, access_log: {dir: b-logs, rollover: size}}
  - {name: c, hosts: [c.test], certificate: {cert: s.pem, key: s.key}, upstream: echo, access_log: {dir: shared}}
`
	cfg, err := config.Parse([]byte(yaml), filepath.Join(dir, "certgate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	logs, err := OpenAccessLogs(cfg, nil, AccessLogOptions{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if logs.For("a") == nil || logs.For("a") != logs.For("c") || logs.For("b") == logs.For("a") || logs.For("nosuch") != nil {
		t.Fatalf("routing: a=%p b=%p c=%p", logs.For("a"), logs.For("b"), logs.For("c"))
	}
	if logs.For("b").Dir() != filepath.Join(dir, "b-logs") {
		t.Errorf("site b writes to %s", logs.For("b").Dir())
	}

	// Reload: b moves, the shared writer is reused as is.
	cfg2, err := config.Parse([]byte(strings.Replace(yaml, "b-logs", "b-new", 1)), filepath.Join(dir, "certgate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	oldB := logs.For("b")
	oldB.Write(accesslog.Entry{Method: "GET", URIStem: "/queued-before-reload", Status: 200})
	next, err := OpenAccessLogs(cfg2, logs, AccessLogOptions{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if next.For("a") != logs.For("a") || next.For("b") == oldB {
		t.Error("reload must reuse unchanged writers and replace moved ones")
	}
	if err := logs.CloseUnused(next); err != nil {
		t.Fatal(err)
	}
	// The retired writer drained its queue; the reused one still works.
	if got := readW3C(t, filepath.Join(dir, "b-logs")); len(got) != 1 || !strings.Contains(got[0], "/queued-before-reload") {
		t.Errorf("retired writer lines = %q", got)
	}
	next.For("a").Write(accesslog.Entry{Method: "GET", URIStem: "/", Status: 200})
	if err := next.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readW3C(t, filepath.Join(dir, "shared")); len(got) != 1 {
		t.Errorf("shared writer lines = %d, want 1", len(got))
	}

	// Two blocks naming one directory with different settings cannot
	// share a writer: refused, naming the field.
	cfg3, err := config.Parse([]byte(strings.Replace(yaml, "access_log: {dir: shared}}", "access_log: {dir: shared, buffer: 10}}", 1)), filepath.Join(dir, "certgate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenAccessLogs(cfg3, nil, AccessLogOptions{}); err == nil || !strings.Contains(err.Error(), "sites[2].access_log.dir") {
		t.Errorf("conflicting settings: err = %v, want one naming sites[2].access_log.dir", err)
	}
}

func TestObserverLogsWarningsOfAcceptedCertificates(t *testing.T) {
	var buf syncBuffer
	m := metrics.New(metrics.Options{NoRuntime: true})
	o := NewObserver(m, nil, jsonLogger(&buf))
	h := o.Hooks()
	h.Verify(&VerifyEvent{Site: "a", Duration: time.Millisecond,
		Outcome: &verify.Outcome{Sub: substatus.OK, Warnings: []string{"revocation unavailable, allowed by on_unavailable: allow"}}})
	h.Verify(&VerifyEvent{Site: "a", Duration: time.Millisecond,
		Outcome: &verify.Outcome{Sub: substatus.CertUntrusted, Warnings: []string{"logged with the refusal instead"}}})
	recs := buf.records(t)
	if len(recs) != 1 || recs[0]["event"] != events.EventVerifyWarning || recs[0]["site"] != "a" {
		t.Errorf("log = %v, want one verify_warning for the accepted certificate", recs)
	}
	// No access log configured: requests are still counted, not logged.
	req := httptest.NewRequest("GET", "/x", nil)
	h.Request(&RequestEvent{Site: "a", Request: req, Status: 403, Sub: substatus.CertRevoked, Code: substatus.CryptERevoked})
	h.Request(&RequestEvent{Site: "a", Request: req, Status: 404, Sub: substatus.OK})
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		for _, mt := range f.GetMetric() {
			if f.GetName() == "certgate_requests_total" {
				l := map[string]string{}
				for _, p := range mt.GetLabel() {
					l[p.GetName()] = p.GetValue()
				}
				got[l["status"]+"."+l["substatus"]] = mt.GetCounter().GetValue()
			}
			if f.GetName() == "certgate_verify_duration_seconds" && mt.GetHistogram().GetSampleCount() != 2 {
				t.Errorf("verify histogram count = %d, want 2", mt.GetHistogram().GetSampleCount())
			}
		}
	}
	// An upstream's 404 behind an accepted request has no sub-status.
	if got["403.13"] != 1 || got["404.0"] != 1 {
		t.Errorf("requests_total = %v", got)
	}
}

// TestRevocationFetchMetrics: a client certificate whose CRL distribution
// point is fetched over HTTP shows up in the fetch counters and histogram;
// the URL (chosen by the client certificate) is not a label.
func TestRevocationFetchMetrics(t *testing.T) {
	p := newTestPKI(t)
	var fetches atomic.Int64
	cdp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if r.URL.Path != "/sub.crl" {
			http.NotFound(w, r)
			return
		}
		w.Write(p.sub.CRL(t, pki.CRLOptions{}))
	}))
	defer cdp.Close()
	carol := p.sub.Client(t, "carol", pki.WithCRLDistributionPoints(cdp.URL+"/sub.crl"))
	dave := p.sub.Client(t, "dave", pki.WithCRLDistributionPoints(cdp.URL+"/gone.crl"))
	yaml := strings.Replace(opsConfig("server", 16384), "revocation: {mode: cache-only, crls: crls}",
		"revocation: {mode: online, crls: crls/root.crl}", 1)
	o := startObserved(t, p, yaml)

	if res := o.do(t, request{sni: "a.example.test", path: "/", cert: carol}); res.status != http.StatusOK {
		t.Fatalf("carol: %d %s", res.status, res.body)
	}
	if res := o.do(t, request{sni: "a.example.test", path: "/", cert: dave}); res.status != http.StatusForbidden {
		t.Fatalf("dave (CRL unreachable): %d, want 403", res.status)
	}
	wait(o.requests, 2)
	fams := o.scrape(t)
	if got := series(fams, "certgate_revocation_fetches_total", "kind", "crl", "outcome", "ok"); got != 1 {
		t.Errorf("fetches{crl,ok} = %v, want 1", got)
	}
	if got := series(fams, "certgate_revocation_fetches_total", "kind", "crl", "outcome", "error"); got < 1 {
		t.Errorf("fetches{crl,error} = %v, want at least 1", got)
	}
	if got := series(fams, "certgate_revocation_fetch_duration_seconds", "kind", "crl"); got < 2 {
		t.Errorf("fetch duration samples = %v, want at least 2", got)
	}
	if got := series(fams, "certgate_requests_total", "status", "403", "substatus", "13"); got != 1 {
		t.Errorf("requests{403.13} = %v, want 1", got)
	}
	if fetches.Load() < 2 {
		t.Errorf("the CDP saw %d fetches", fetches.Load())
	}
}

// TestDeadlineWarnings: local CRLs close to nextUpdate and a server
// certificate close to expiry are logged and exported as countdowns, at
// startup and after a reload.
func TestDeadlineWarnings(t *testing.T) {
	p := newTestPKI(t)
	o := startObserved(t, p, opsConfig("server", 16384)) // CRLs expire in 24h
	subCRL := filepath.Join(o.dir, "crls", "sub.crl")

	fams := o.scrape(t)
	if got := series(fams, "certgate_crl_next_update_seconds", "source", subCRL); got <= 0 || got > 25*3600 {
		t.Errorf("crl_next_update_seconds{%s} = %v, want within the next 25h", subCRL, got)
	}
	found := false
	for _, r := range o.logs.records(t) {
		if r["event"] == events.EventCRLNearNextUpdate && r["source"] == subCRL && r["level"] == "WARN" && r["site"] == "a" {
			found = true
		}
	}
	if !found {
		t.Errorf("no crl_near_next_update event for %s:\n%s", subCRL, o.logs.String())
	}

	soon := p.serverRoot.Server(t, "gateway soon", testHosts, pki.WithValidity(time.Now().Add(-time.Hour), time.Now().Add(10*24*time.Hour)))
	pkitest.WriteLeaf(t, o.dir, "soon", soon)
	writeConfig(t, o.cfgPath, opsConfig("soon", 16384))
	if err := o.svc.Reload(); err != nil {
		t.Fatal(err)
	}
	found = false
	for _, r := range o.logs.records(t) {
		c, _ := r["cert"].(map[string]any)
		if r["event"] == events.EventCertNearExpiry && r["kind"] == "server" && c != nil && c["sha256"] == verify.Fingerprint(soon.Cert) {
			found = true
		}
	}
	if !found {
		t.Errorf("no cert_near_expiry event for the server certificate expiring in 10 days")
	}
	if got := series(o.scrape(t), "certgate_cert_expiry_seconds", "kind", "server", "site", "a"); got <= 0 || got > 10*24*3600 {
		t.Errorf("cert_expiry_seconds{server} = %v after reload, want the new certificate's 10 days", got)
	}
}
