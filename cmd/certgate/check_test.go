package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/issuerlist"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

const checkYAML = `
sites:
  - name: portal
    hosts: [portal.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem}
      issuer_list: {max_bytes: %d}
    locations:
      - {path: /, client_cert: require}
  - name: open
    hosts: [open.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
`

func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	valid := pki.WithValidity(time.Now().Add(-time.Hour), time.Now().Add(5*365*24*time.Hour))
	serverRoot := pkitest.NewRoot(t, "Check Server Root", valid)
	pkitest.WriteLeaf(t, dir, "server", serverRoot.Server(t, "portal", []string{"portal.example.test", "open.example.test"}, valid))
	var roots = []*pkitest.CA{
		pkitest.NewRoot(t, "Check Root A", valid),
		pkitest.NewRoot(t, "Check Root B", valid),
		pkitest.NewRoot(t, "Check Root C", valid),
	}
	pkitest.WriteCerts(t, dir, "roots.pem", roots[0].Cert, roots[1].Cert, roots[2].Cert)
	// Room for the first two names only: Root C is dropped.
	maxBytes := issuerlist.NameSize(roots[0].Cert) + issuerlist.NameSize(roots[1].Cert)
	cfgPath := filepath.Join(dir, "certgate.yaml")
	write := func(yaml string) {
		if err := os.WriteFile(cfgPath, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(fmt.Sprintf(checkYAML, maxBytes))

	t.Run("text", func(t *testing.T) {
		code, out := exitCode(t, "check", "-c", cfgPath)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		for _, want := range []string{
			"OK, 2 site(s)",
			fmt.Sprintf("issuer list: 2 CA(s), %d bytes", maxBytes),
			"sent     CN=Check Root A",
			"dropped: 1 CA(s) did not fit max_bytes",
			"DROPPED  CN=Check Root C",
			`site "open"`, "client certificates: not requested",
			"Lint of site \"portal\"",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, `Lint of site "open"`) {
			t.Errorf("linted a site that asks for no client certificate:\n%s", out)
		}
	})
	t.Run("json", func(t *testing.T) {
		code, out := exitCode(t, "check", "-c", cfgPath, "--json", "--no-lint")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		var r struct {
			Sites []struct {
				Name       string `json:"name"`
				IssuerList struct {
					Count   int `json:"count"`
					Bytes   int `json:"bytes"`
					Dropped []struct {
						Subject string `json:"subject"`
						SHA256  string `json:"sha256"`
					} `json:"dropped"`
				} `json:"issuer_list"`
			} `json:"sites"`
			Lint []any `json:"lint"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("decode: %v\n%s", err, out)
		}
		l := r.Sites[0].IssuerList
		if r.Sites[0].Name != "portal" || l.Count != 2 || l.Bytes != maxBytes || len(l.Dropped) != 1 ||
			l.Dropped[0].Subject != "CN=Check Root C" || len(l.Dropped[0].SHA256) != 64 || r.Lint != nil {
			t.Errorf("report = %+v", r)
		}
	})
	t.Run("invalid config names the field and exits 2", func(t *testing.T) {
		write(strings.Replace(fmt.Sprintf(checkYAML, maxBytes), "client_cert: require", "client_cert: always", 1))
		defer write(fmt.Sprintf(checkYAML, maxBytes))
		cmd := newRootCmd()
		cmd.SetArgs([]string{"check", "-c", cfgPath})
		cmd.SetOut(&strings.Builder{})
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), "sites[0].locations[0].client_cert") {
			t.Errorf("err = %v, want one naming sites[0].locations[0].client_cert", err)
		}
		if code, _ := exitCode(t, "check", "-c", cfgPath); code != 2 {
			t.Errorf("exit %d, want 2", code)
		}
	})
	t.Run("missing file names the field", func(t *testing.T) {
		write(strings.Replace(fmt.Sprintf(checkYAML, maxBytes), "roots: roots.pem", "roots: nosuch.pem", 1))
		defer write(fmt.Sprintf(checkYAML, maxBytes))
		cmd := newRootCmd()
		cmd.SetArgs([]string{"check", "-c", cfgPath})
		cmd.SetOut(&strings.Builder{})
		if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "sites[0].client_auth.trust.roots") {
			t.Errorf("err = %v, want one naming sites[0].client_auth.trust.roots", err)
		}
	})
	t.Run("one run reports decode, validation and file problems", func(t *testing.T) {
		bad := strings.Replace(fmt.Sprintf(checkYAML, maxBytes), "roots: roots.pem", "roots: nosuch.pem", 1)
		bad = strings.Replace(bad, "upstream: echo\n    client_auth", "upstream: echo\n    frobnicate: 1\n    client_auth", 1)
		bad = strings.Replace(bad, "client_cert: require", "client_cert: always", 1)
		bad = strings.Replace(bad, "name: open", "name: open\n    default: maybe", 1)
		write(bad)
		defer write(fmt.Sprintf(checkYAML, maxBytes))
		cmd := newRootCmd()
		cmd.SetArgs([]string{"check", "-c", cfgPath})
		cmd.SetOut(&strings.Builder{})
		err := cmd.Execute()
		if err == nil {
			t.Fatal("check passed")
		}
		out := err.Error()
		for _, want := range []string{
			`sites[0]: unknown field "frobnicate"`,           // decode: key
			"sites[1].default: want true or false",           // decode: type
			"sites[0].locations[0].client_cert: must be one", // validation
			"sites[0].client_auth.trust.roots: stat",         // file
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("server certificate not covering a host", func(t *testing.T) {
		write(strings.Replace(fmt.Sprintf(checkYAML, maxBytes), "hosts: [open.example.test]", "hosts: [open.example.test, other.example.test]", 1))
		defer write(fmt.Sprintf(checkYAML, maxBytes))
		code, out := exitCode(t, "check", "-c", cfgPath, "--no-lint")
		if code != 0 || !strings.Contains(out, `does not cover host "other.example.test"`) || strings.Contains(out, `cover host "open.example.test"`) {
			t.Errorf("exit %d, want 0 with a warning for other.example.test only:\n%s", code, out)
		}
	})
	t.Run("strict fails on lint errors", func(t *testing.T) {
		expired := pkitest.NewRoot(t, "Check Expired Root", pki.WithValidity(time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)))
		pkitest.WriteCerts(t, dir, "roots.pem", roots[0].Cert, expired.Cert)
		defer pkitest.WriteCerts(t, dir, "roots.pem", roots[0].Cert, roots[1].Cert, roots[2].Cert)
		code, out := exitCode(t, "check", "-c", cfgPath)
		if code != 0 || !strings.Contains(out, "expired on") {
			t.Errorf("without --strict: exit %d, want 0 with an expiry warning\n%s", code, out)
		}
		if code, out := exitCode(t, "check", "-c", cfgPath, "--strict"); code != 1 {
			t.Errorf("--strict: exit %d, want 1\n%s", code, out)
		}
	})
}

// TestProductionSampleConfig keeps docs/certgate.production.yaml in step
// with the schema: every key exists and every value validates.
func TestProductionSampleConfig(t *testing.T) {
	data, err := os.ReadFile("../../docs/certgate.production.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(data, "/etc/certgate/certgate.yaml")
	if err != nil {
		t.Fatalf("docs/certgate.production.yaml does not validate:\n%v", err)
	}
	if cfg.Admin.Listen != "127.0.0.1:9443" || cfg.AccessLog == nil || len(cfg.Sites) != 2 || cfg.Sites[1].AccessLog == nil {
		t.Errorf("sample lost its admin, shared or per-site access log: %+v", cfg)
	}
}
