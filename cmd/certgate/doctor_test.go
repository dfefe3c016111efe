package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	gopkcs12 "software.sslmate.com/src/go-pkcs12"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// exitCode runs certgate with args and returns the exit code main would
// use (0, 1 for an exitError with code 1, 2 for any other error) and stdout.
func exitCode(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err == nil {
		return 0, out.String()
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code, out.String()
	}
	return 2, out.String()
}

// TestDoctorExitCodes checks the documented exit codes of explain, lint,
// select and probe (docs/doctor.md): 0 clean/accepted, 1 findings/rejected,
// 2 usage or input error. Output details are covered by the golden tests
// in internal/doctor.
func TestDoctorExitCodes(t *testing.T) {
	dir := t.TempDir()
	valid := pki.WithValidity(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
	root := pkitest.NewRoot(t, "CLI Root", valid)
	expired := pkitest.NewRoot(t, "CLI Expired Root", pki.WithValidity(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)))
	rootPEM := pkitest.WriteCerts(t, dir, "root.pem", root.Cert)
	expiredPEM := pkitest.WriteCerts(t, dir, "expired.pem", expired.Cert)
	client := root.Client(t, "CLI Client", valid)
	clientPEM, clientKey := pkitest.WriteLeaf(t, dir, "client", client)
	oldClient := root.Client(t, "Old Client", pki.WithValidity(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)))
	oldPEM, _ := pkitest.WriteLeaf(t, dir, "old", oldClient)
	// Windows certificate store exports: the roots as a PFX trust store.
	storePFX, err := gopkcs12.Modern.EncodeTrustStore([]*x509.Certificate{root.Cert}, "store pw")
	if err != nil {
		t.Fatal(err)
	}
	rootPFX := pkitest.WriteFile(t, dir, "roots.pfx", storePFX)
	expiredPFXData, err := gopkcs12.Modern.EncodeTrustStore([]*x509.Certificate{expired.Cert}, "store pw")
	if err != nil {
		t.Fatal(err)
	}
	expiredPFX := pkitest.WriteFile(t, dir, "expired.pfx", expiredPFXData)

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 {
			w.Header().Set("X-Certgate-Substatus", "403.7")
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert, ClientCAs: root.Pool()}
	srv.StartTLS()
	defer srv.Close()

	tests := []struct {
		name string
		args []string
		want int
	}{
		{"explain sub-status", []string{"explain", "403.16"}, 0},
		{"explain json", []string{"explain", "0x800B0109", "--json"}, 0},
		{"explain unknown", []string{"explain", "banana"}, 2},
		{"explain no argument", []string{"explain"}, 2},
		{"lint clean", []string{"lint", rootPEM}, 0},
		{"lint pfx store", []string{"lint", rootPFX, "--password", "store pw"}, 0},
		{"lint pfx store finding", []string{"lint", "--roots", expiredPFX, "--password", "store pw"}, 1},
		{"lint pfx wrong password", []string{"lint", rootPFX, "--password", "nope"}, 2},
		{"lint finding", []string{"lint", "--roots", expiredPEM, "--json"}, 1},
		{"lint nothing to lint", []string{"lint"}, 2},
		{"lint unreadable", []string{"lint", dir + "/missing.pem"}, 2},
		{"lint bad time", []string{"lint", rootPEM, "--at", "yesterday"}, 2},
		{"select offered", []string{"select", "--ca-names", rootPEM, "--store", clientPEM}, 0},
		{"select none offered", []string{"select", "--ca-names", rootPEM, "--store", oldPEM}, 1},
		{"select no store", []string{"select", "--ca-names", rootPEM}, 2},
		{"select bad browser", []string{"select", "--ca-names", rootPEM, "--store", clientPEM, "--browser", "lynx"}, 2},
		{"select from server", []string{"select", "--from", srv.URL, "--insecure", "--store", clientPEM}, 0},
		{"probe names only", []string{"probe", srv.URL, "--insecure"}, 0},
		{"probe accepted", []string{"probe", srv.URL, "--insecure", "--cert", clientPEM, "--key", clientKey}, 0},
		{"probe rejected", []string{"probe", srv.URL, "--insecure", "--get"}, 1},
		{"probe untrusted server", []string{"probe", srv.URL, "--cert", clientPEM, "--ca", rootPEM}, 1},
		{"probe bad url", []string{"probe", "http://127.0.0.1/"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, out := exitCode(t, tt.args...)
			if got != tt.want {
				t.Fatalf("certgate %s: exit %d, want %d\n%s", strings.Join(tt.args, " "), got, tt.want, out)
			}
			if got != 2 && out == "" {
				t.Errorf("certgate %s printed nothing", strings.Join(tt.args, " "))
			}
			for _, a := range tt.args {
				if a == "--json" && !json.Valid([]byte(out)) {
					t.Errorf("--json output is not JSON:\n%s", out)
				}
			}
		})
	}
}
