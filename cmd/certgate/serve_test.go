package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

// freeAddr returns a loopback address that was free a moment ago: the
// config needs concrete ports for the admin listener.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

const serveYAML = `
listen: %s
admin: {listen: %s}
log: {format: json}
access_log: {dir: logs}
sites:
  - name: %s
    hosts: [localhost]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
`

// TestServeAdminReloadAndDrain runs `certgate serve` in-process: the admin
// listener answers /healthz, /readyz and /metrics, SIGHUP reloads the
// config, and a graceful stop leaves every request in the access log.
func TestServeAdminReloadAndDrain(t *testing.T) {
	dir := t.TempDir()
	ca := pkitest.NewRoot(t, "Serve Test Root")
	pkitest.WriteLeaf(t, dir, "server", ca.Localhost(t))
	listen, adminAddr := freeAddr(t), freeAddr(t)
	cfgPath := filepath.Join(dir, "certgate.yaml")
	writeYAML := func(site string) {
		tmp := cfgPath + ".tmp"
		if err := os.WriteFile(tmp, []byte(fmt.Sprintf(serveYAML, listen, adminAddr, site)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, cfgPath); err != nil {
			t.Fatal(err)
		}
	}
	writeYAML("before")

	// The event log goes to stderr; keep the test output readable.
	stderr := os.Stderr
	devnull, _ := os.Open(os.DevNull)
	os.Stderr = devnull
	defer func() { os.Stderr = stderr; devnull.Close() }()

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, cfgPath) }()

	admin := "http://" + adminAddr
	get := func(path string) (int, string) {
		resp, err := http.Get(admin + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Wait for readiness (bounded: the test fails rather than hangs).
	ready := false
	for i := 0; i < 500 && !ready; i++ {
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v", err)
		default:
		}
		if code, _ := get("/readyz"); code == http.StatusOK {
			ready = true
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !ready {
		t.Fatal("serve never became ready")
	}
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz = %d %q", code, body)
	}

	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"},
		DisableKeepAlives: true,
	}}
	fetch := func() {
		t.Helper()
		resp, err := client.Get("https://" + listen + "/hello")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /hello: %s", resp.Status)
		}
	}
	fetch()

	// SIGHUP: the site is renamed, which the metrics show once reloaded.
	writeYAML("after")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	reloaded := false
	for i := 0; i < 500 && !reloaded; i++ {
		_, body := get("/metrics")
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
		if err != nil {
			t.Fatalf("parse /metrics: %v", err)
		}
		for _, m := range fams["certgate_reloads_total"].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == "ok" && m.GetCounter().GetValue() == 1 {
					reloaded = true
				}
			}
		}
		if !reloaded {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if !reloaded {
		t.Fatal("SIGHUP did not reload")
	}
	fetch()
	_, body := get("/metrics")
	for _, want := range []string{
		`certgate_requests_total{site="before",status="200",substatus="0"} 1`,
		`certgate_requests_total{site="after",status="200",substatus="0"} 1`,
		`certgate_cert_expiry_seconds{kind="server",site="after",subject="CN=localhost"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	stop()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	// Graceful stop drained the access log: both requests, one file.
	ents, err := os.ReadDir(filepath.Join(dir, "logs"))
	if err != nil || len(ents) != 1 {
		t.Fatalf("access log dir: %v %v", ents, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "logs", ents[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, " GET /hello ") && strings.Contains(l, " 200 0 0 ") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("access log has %d request lines, want 2:\n%s", n, b)
	}
}
