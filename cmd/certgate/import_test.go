package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/config"
)

// runImport executes the root command and returns its stderr.
func runImport(t *testing.T, args ...string) (stderr string, err error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err = cmd.Execute()
	return errb.String(), err
}

// TestImportIISCLI: `certgate import iis` writes a config that loads, the
// one-to-one certificates next to it, the report on stderr and as JSON;
// it refuses to overwrite without --force.
func TestImportIISCLI(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("..", "..", "internal", "importer", "testdata", "iis")
	out := filepath.Join(dir, "certgate.yaml")
	rep := filepath.Join(dir, "report.json")
	args := []string{"import", "iis", filepath.Join(src, "applicationHost.config"), "--netsh", filepath.Join(src, "netsh-sslcert.txt"), "-o", out, "--report-json", rep}
	stderr, err := runImport(t, args...)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "2 site(s) translated") || !strings.Contains(stderr, "[security, todo]") {
		t.Errorf("stderr report:\n%s", stderr)
	}
	cfg, err := config.Load(out)
	if err != nil {
		t.Fatalf("the written config does not load: %v", err)
	}
	if len(cfg.Sites) != 2 {
		t.Errorf("%d sites", len(cfg.Sites))
	}
	if _, err := os.Stat(filepath.Join(dir, "certs", "Contoso-Intranet-one-to-one-1.pem")); err != nil {
		t.Errorf("one-to-one certificate not written: %v", err)
	}
	var r struct {
		Sites []string `json:"sites"`
		Items []struct {
			Kind     string `json:"kind"`
			Security bool   `json:"security"`
			Line     int    `json:"line"`
		} `json:"items"`
	}
	b, err := os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &r); err != nil || len(r.Sites) != 2 || len(r.Items) == 0 {
		t.Errorf("report JSON: %v %+v", err, r)
	}
	if _, err := runImport(t, args...); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("second import without --force: %v", err)
	}
	if _, err := runImport(t, append(args, "--force")...); err != nil {
		t.Errorf("--force: %v", err)
	}
}

// TestImportNginxCLI: `certgate import nginx` follows includes and writes a
// config that loads.
func TestImportNginxCLI(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "certgate.yaml")
	stderr, err := runImport(t, "import", "nginx", filepath.Join("..", "..", "internal", "importer", "testdata", "nginx", "nginx.conf"), "-o", out)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "3 site(s) translated") {
		t.Errorf("stderr:\n%s", stderr)
	}
	cfg, err := config.Load(out)
	if err != nil {
		t.Fatalf("the written config does not load: %v", err)
	}
	if len(cfg.Sites) != 3 {
		t.Errorf("%d sites", len(cfg.Sites))
	}
	if _, err := runImport(t, "import", "nginx", filepath.Join(dir, "missing.conf"), "-o", filepath.Join(dir, "x.yaml")); err == nil {
		t.Error("a missing nginx.conf imported without error")
	}
}
