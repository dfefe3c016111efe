package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAdminListenerRefusesBrowsers plays a web page that makes the
// browser POST /reload (cross-site, so with an Origin header) and a DNS
// rebinding page reading /metrics under its own name, against the real
// admin listener on loopback; then the bearer token of admin.token_file.
func TestAdminListenerRefusesBrowsers(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	p.writeFiles(t, dir)
	const token = "s3cret-admin-token-0123456789"
	if err := os.WriteFile(filepath.Join(dir, "admin.token"), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := "admin: {listen: \"localhost:0\", token_file: admin.token}\n" + fmt.Sprintf(siteYAML, "echo")
	cfg := loadConfig(t, dir, yaml)
	svc, err := NewService(cfg, ServiceOptions{Logger: jsonLogger(io.Discard), Version: "test"})
	if err != nil {
		t.Fatalf("new service: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Serve(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = svc.Shutdown(ctx)
		<-done
	})
	addr := svc.AdminAddr().String()
	do := func(method, path, host string, h http.Header) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+addr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		for k, v := range h {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	bearer := http.Header{"Authorization": {"Bearer " + token}}
	tests := []struct {
		name, method, path, host string
		header                   http.Header
		status                   int
	}{
		{"cross-site POST /reload", "POST", "/reload", "", http.Header{"Origin": {"http://evil.example"}, "Authorization": {"Bearer " + token}}, 403},
		{"null Origin", "POST", "/reload", "", http.Header{"Origin": {"null"}, "Authorization": {"Bearer " + token}}, 403},
		{"DNS rebinding read of /metrics", "GET", "/metrics", "evil.example:9443", bearer, 403},
		{"DNS rebinding health probe", "GET", "/healthz", "evil.example", nil, 403},
		{"no token", "GET", "/metrics", "", nil, 401},
		{"wrong token", "POST", "/reload", "", http.Header{"Authorization": {"Bearer " + token + "x"}}, 401},
		{"token as Basic", "GET", "/metrics", "", http.Header{"Authorization": {"Basic " + token}}, 401},
		{"metrics with token by IP", "GET", "/metrics", "", bearer, 200},
		{"metrics with token as localhost", "GET", "/metrics", "localhost:9443", bearer, 200},
		{"reload with token", "POST", "/reload", "[::1]:9443", bearer, 200},
		{"health probe without token", "GET", "/healthz", "", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(tt.method, tt.path, tt.host, tt.header)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if status == 401 && strings.Contains(body, token) {
				t.Error("the token leaked into the answer")
			}
		})
	}
}

func TestReadAdminToken(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	_ = os.WriteFile(short, []byte("abc\n"), 0o600)
	if _, err := readAdminToken(short); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Errorf("short token: %v", err)
	}
	if _, err := readAdminToken(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file accepted")
	}
	if tok, err := readAdminToken(""); tok != "" || err != nil {
		t.Errorf("no file: %q %v", tok, err)
	}
}
