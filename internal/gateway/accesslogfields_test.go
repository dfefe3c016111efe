package gateway

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/verify"
)

// TestAccessLogFieldsAndJSON: access_log.fields writes the chosen W3C
// columns, the client certificate ones included, so that a successful
// mTLS request leaves an audit trail (who, which certificate, verdict);
// format: json writes the same as JSON lines.
func TestAccessLogFieldsAndJSON(t *testing.T) {
	p := newTestPKI(t)
	otherRoot := pkitest.NewRoot(t, "Other Root")
	stranger := otherRoot.Client(t, "stranger")
	const fields = "[date, time, s-sitename, s-computername, cs-method, cs-uri-stem, cs-version, cs-host, cs-username, sc-status, sc-substatus, sc-bytes, cs-bytes, x-cert-subject, x-cert-issuer, x-cert-serial, x-cert-sha256, x-cert-result]"
	script := []struct {
		cert   *pki.Leaf
		status string
		user   string
		result string
	}{
		{p.alice, "200", "user-alice", "ok"},
		{stranger, "403", "", "403.16 CERT_E_UNTRUSTEDROOT"},
		{nil, "403", "", ""},
	}
	run := func(t *testing.T, format string) []map[string]string {
		yaml := strings.Replace(opsConfig("server", 16384), "access_log:\n  dir: logs\n",
			fmt.Sprintf("access_log:\n  dir: logs\n  fields: %s\n  format: %s\n", fields, format), 1)
		o := startObserved(t, p, yaml)
		for _, s := range script {
			rq := request{sni: "a.example.test", path: "/", cert: s.cert}
			if s.cert == stranger {
				rq.chain = []*x509.Certificate{otherRoot.Cert}
			}
			o.do(t, rq)
		}
		wait(o.requests, len(script))
		if err := o.svc.AccessLogs().For("a").Flush(); err != nil {
			t.Fatal(err)
		}
		var rows []map[string]string
		names := strings.Split(strings.Trim(fields, "[]"), ", ")
		for _, line := range readW3C(t, filepath.Join(o.dir, "logs")) {
			row := map[string]string{}
			if format == "json" {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("JSON line %q: %v", line, err)
				}
				for k, v := range m {
					row[k] = fmt.Sprint(v)
				}
			} else {
				f := strings.Fields(line)
				if len(f) != len(names) {
					t.Fatalf("line %q: %d fields, want %d", line, len(f), len(names))
				}
				for i, n := range names {
					if f[i] != "-" {
						row[n] = strings.ReplaceAll(f[i], "+", " ")
					}
				}
			}
			rows = append(rows, row)
		}
		if format == "w3c" {
			data, _ := os.ReadDir(filepath.Join(o.dir, "logs"))
			raw, _ := os.ReadFile(filepath.Join(o.dir, "logs", data[0].Name()))
			if !strings.Contains(string(raw), "#Fields: "+strings.Join(names, " ")+"\n") {
				t.Errorf("no #Fields line for the configured fields:\n%s", raw)
			}
		}
		return rows
	}
	host, _ := os.Hostname()
	for _, format := range []string{"w3c", "json"} {
		t.Run(format, func(t *testing.T) {
			rows := run(t, format)
			if len(rows) != len(script) {
				t.Fatalf("%d lines, want %d", len(rows), len(script))
			}
			for i, s := range script {
				r := rows[i]
				want := map[string]string{"s-sitename": "a", "s-computername": host, "cs-method": "GET", "cs-version": "HTTP/1.1",
					"cs-host": "a.example.test", "sc-status": s.status, "cs-username": s.user, "x-cert-result": s.result}
				if s.cert != nil {
					want["x-cert-subject"] = s.cert.Cert.Subject.String()
					want["x-cert-issuer"] = s.cert.Cert.Issuer.String()
					want["x-cert-serial"] = strings.ToUpper(s.cert.Cert.SerialNumber.Text(16))
					want["x-cert-sha256"] = verify.Fingerprint(s.cert.Cert)
				}
				for k, v := range want {
					if r[k] != v {
						t.Errorf("line %d: %s = %q, want %q (%v)", i, k, r[k], v, r)
					}
				}
				if r["date"] == "" || r["time"] == "" || r["sc-bytes"] == "" {
					t.Errorf("line %d lacks date, time or sc-bytes: %v", i, r)
				}
			}
		})
	}
}
