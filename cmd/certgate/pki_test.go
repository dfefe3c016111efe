package main

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/certgate/certgate/internal/directory"
	"github.com/certgate/certgate/internal/pki"
)

// runCLI executes the root command with args and returns stdout and the error.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("certgate %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	certs, err := pki.ReadCertsPEM(path)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

func TestPKICLI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	p := func(name string) string { return filepath.Join(dir, name) }

	out := mustCLI(t, "pki", "init", "--dir", dir)
	if !strings.Contains(out, "wrote "+p("root.pem")) || !strings.Contains(out, "wrote "+p("root.key")) {
		t.Errorf("init output does not list the files:\n%s", out)
	}
	mustCLI(t, "pki", "issue", "intermediate", "--dir", dir, "--ca", "root", "--name", "sub1", "--cn", "Sub CA 1", "--path-len", "1")
	mustCLI(t, "pki", "issue", "intermediate", "--dir", dir, "--ca", "sub1", "--name", "sub2", "--cn", "Sub CA 2")
	mustCLI(t, "pki", "issue", "server", "--dir", dir, "--ca", "sub2", "--host", "localhost", "--host", "127.0.0.1")
	mustCLI(t, "pki", "issue", "client", "--dir", dir, "--ca", "sub2", "--name", "alice", "--cn", "alice",
		"--o", "Example", "--ou", "Ops", "--email", "alice@example.test", "--upn", "alice@corp.example.test",
		"--sid", "S-1-5-21-1-2-3-1104", "--uri", "spiffe://example.test/alice", "--not-before", "2030-01-01T00:00:00Z", "--days", "10",
		"--ku", "none", "--eku", "clientAuth,smartcardLogon", "--crl-url", "http://127.0.0.1:1/sub2.crl",
		"--ocsp-url", "http://127.0.0.1:1/ocsp", "--aia-url", "http://127.0.0.1:1/sub2.cer", "--p12", "--password", "test")

	root, sub1, sub2 := readCert(t, p("root.pem")), readCert(t, p("sub1.pem")), readCert(t, p("sub2.pem"))

	t.Run("hierarchy", func(t *testing.T) {
		if !root.IsCA || sub1.MaxPathLen != 1 || sub2.Subject.CommonName != "Sub CA 2" || sub2.CheckSignatureFrom(sub1) != nil {
			t.Errorf("root IsCA=%v sub1 pathlen=%d sub2 %q", root.IsCA, sub1.MaxPathLen, sub2.Subject)
		}
		srv := readCert(t, p("server.pem"))
		if srv.Subject.CommonName != "localhost" || len(srv.IPAddresses) != 1 || !slices.Equal(srv.DNSNames, []string{"localhost"}) {
			t.Errorf("server %q dns %v ip %v", srv.Subject, srv.DNSNames, srv.IPAddresses)
		}
	})
	t.Run("client content", func(t *testing.T) {
		c := readCert(t, p("alice.pem"))
		if c.Subject.String() != "CN=alice,OU=Ops,O=Example" || c.KeyUsage != 0 {
			t.Errorf("subject %q KU %v", c.Subject, c.KeyUsage)
		}
		if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) || len(c.UnknownExtKeyUsage) != 1 {
			t.Errorf("EKU %v %v", c.ExtKeyUsage, c.UnknownExtKeyUsage)
		}
		if upns, err := pki.UPNs(c); err != nil || !slices.Equal(upns, []string{"alice@corp.example.test"}) {
			t.Errorf("UPNs %v %v", upns, err)
		}
		if sid, err := directory.CertificateSID(c); err != nil || sid != "S-1-5-21-1-2-3-1104" {
			t.Errorf("SID extension %q %v", sid, err)
		}
		if c.NotBefore.Format("2006-01-02") != "2030-01-01" || c.NotAfter.Format("2006-01-02") != "2030-01-11" {
			t.Errorf("validity %v .. %v", c.NotBefore, c.NotAfter)
		}
		if len(c.CRLDistributionPoints) != 1 || len(c.OCSPServer) != 1 || len(c.IssuingCertificateURL) != 1 || len(c.URIs) != 1 || len(c.EmailAddresses) != 1 {
			t.Errorf("CDP %v OCSP %v AIA %v URI %v email %v", c.CRLDistributionPoints, c.OCSPServer, c.IssuingCertificateURL, c.URIs, c.EmailAddresses)
		}
		chain, err := pki.ReadCertsPEM(p("alice-chain.pem"))
		if err != nil || len(chain) != 3 || !chain[1].Equal(sub2) || !chain[2].Equal(sub1) {
			t.Errorf("alice-chain.pem: %d certs, err %v", len(chain), err)
		}
		pool := x509.NewCertPool()
		pool.AddCert(root)
		inter := x509.NewCertPool()
		for _, ic := range chain[1:] {
			inter.AddCert(ic)
		}
		if _, err := c.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: c.NotBefore.Add(1), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("verify alice: %v", err)
		}
		for _, f := range []string{"root.key", "sub1.key", "alice.key", "alice.p12"} {
			if fi, err := os.Stat(p(f)); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v err %v, want 0600", f, fi.Mode().Perm(), err)
			}
		}
		data, err := os.ReadFile(p("alice.p12"))
		if err != nil {
			t.Fatal(err)
		}
		if _, pc, cas, err := pkcs12.DecodeChain(data, "test"); err != nil || !pc.Equal(c) || len(cas) != 2 {
			t.Errorf("alice.p12: %v, %d CA certs", err, len(cas))
		}
	})
	t.Run("crl", func(t *testing.T) {
		bob := filepath.Join(dir, "bob.pem")
		mustCLI(t, "pki", "issue", "client", "--dir", dir, "--ca", "sub2", "--name", "bob")
		out := p("sub2.crl")
		mustCLI(t, "pki", "crl", "--dir", dir, "--ca", "sub2", "--revoke", "alice", "--revoke", bob, "--revoke", "0x2a", "--reason", "keyCompromise", "--out", out)
		mustCLI(t, "pki", "crl", "--dir", dir, "--ca", "sub2", "--next-update", "-1h", "--out", p("stale.crl"))
		der, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		if err := crl.CheckSignatureFrom(sub2); err != nil {
			t.Errorf("CRL signature: %v", err)
		}
		e := crl.RevokedCertificateEntries
		if len(e) != 3 || e[0].SerialNumber.Cmp(readCert(t, p("alice.pem")).SerialNumber) != 0 || e[2].SerialNumber.Int64() != 42 || e[0].ReasonCode != pki.ReasonKeyCompromise {
			t.Errorf("entries %+v", e)
		}
		stale, err := os.ReadFile(p("stale.crl"))
		if err != nil {
			t.Fatal(err)
		}
		sc, err := x509.ParseRevocationList(stale)
		if err != nil || sc.Number.Int64() != crl.Number.Int64()+1 || !sc.NextUpdate.Before(time.Now()) || !sc.ThisUpdate.Before(sc.NextUpdate) {
			t.Errorf("stale CRL number %v (first %v) this %v next %v err %v", sc.Number, crl.Number, sc.ThisUpdate, sc.NextUpdate, err)
		}
		// The next CRL, issued without --revoke, still lists the three
		// earlier revocations, with their first dates.
		if len(sc.RevokedCertificateEntries) != 3 || !sc.RevokedCertificateEntries[0].RevocationTime.Equal(e[0].RevocationTime) {
			t.Errorf("next CRL lists %d entries, want the 3 earlier revocations with their dates", len(sc.RevokedCertificateEntries))
		}
	})
	t.Run("crl keeps earlier revocations and a delta never overwrites its base", func(t *testing.T) {
		read := func(path string) *x509.RevocationList {
			t.Helper()
			der, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			crl, err := x509.ParseRevocationList(der)
			if err != nil {
				t.Fatal(err)
			}
			return crl
		}
		serials := func(crl *x509.RevocationList) (out []int64) {
			for _, e := range crl.RevokedCertificateEntries {
				out = append(out, e.SerialNumber.Int64())
			}
			return out
		}
		mustCLI(t, "pki", "crl", "--dir", dir, "--ca", "sub1", "--revoke", "0x10")
		mustCLI(t, "pki", "crl", "--dir", dir, "--ca", "sub1", "--revoke", "0x11")
		base := read(p("sub1.crl"))
		if got := serials(base); !slices.Equal(got, []int64{16, 17}) {
			t.Fatalf("second full CRL lists %v, want [16 17]", got)
		}
		baseBytes, _ := os.ReadFile(p("sub1.crl"))
		mustCLI(t, "pki", "crl", "--dir", dir, "--ca", "sub1", "--delta-base", base.Number.String(), "--revoke", "0x12")
		delta := read(p("sub1-delta.crl"))
		if got := serials(delta); !slices.Equal(got, []int64{18}) {
			t.Errorf("delta CRL lists %v, want only what changed since the base: [18]", got)
		}
		if now, _ := os.ReadFile(p("sub1.crl")); !bytes.Equal(now, baseBytes) {
			t.Error("the delta CRL changed the base CRL file")
		}
		if code, _ := exitCode(t, "pki", "crl", "--dir", dir, "--ca", "sub1", "--delta-base", base.Number.String(), "--out", p("sub1.crl")); code == 0 {
			t.Error("a delta written over the base CRL was accepted")
		}
		if now, _ := os.ReadFile(p("sub1.crl")); !bytes.Equal(now, baseBytes) {
			t.Error("the refused delta changed the base CRL file")
		}
		// The next full CRL has everything, the delta's revocation too.
		mustCLI(t, "pki", "crl", "--dir", dir, "--ca", "sub1")
		if got := serials(read(p("sub1.crl"))); !slices.Equal(got, []int64{16, 17, 18}) {
			t.Errorf("next full CRL lists %v, want [16 17 18]", got)
		}
	})
	t.Run("errors name the flag or file", func(t *testing.T) {
		tests := []struct {
			name string
			args []string
			want string
		}{
			{"missing dir", []string{"pki", "init"}, "--dir"},
			{"unknown ca", []string{"pki", "issue", "client", "--dir", dir, "--ca", "nope", "--name", "x"}, p("nope.pem")},
			{"ca is a leaf", []string{"pki", "issue", "client", "--dir", dir, "--ca", "alice", "--name", "x"}, "not a CA"},
			{"bad ku", []string{"pki", "issue", "client", "--dir", dir, "--ca", "sub2", "--name", "x", "--ku", "signEverything"}, "--ku"},
			{"bad eku", []string{"pki", "issue", "client", "--dir", dir, "--ca", "sub2", "--name", "x", "--eku", "sometimes"}, "--eku"},
			{"bad key type", []string{"pki", "init", "--dir", dir, "--name", "r2", "--key-type", "dsa"}, "--key-type"},
			{"bad time", []string{"pki", "issue", "client", "--dir", dir, "--ca", "sub2", "--name", "x", "--not-after", "tomorrow"}, "--not-after"},
			{"p12 without password", []string{"pki", "issue", "client", "--dir", dir, "--ca", "sub2", "--name", "x", "--p12"}, "--password"},
			{"overwrite refused", []string{"pki", "init", "--dir", dir}, p("root.pem")},
			{"revoke foreign cert", []string{"pki", "crl", "--dir", dir, "--ca", "sub1", "--revoke", "alice"}, "not by CA"},
			{"revoke garbage", []string{"pki", "crl", "--dir", dir, "--ca", "sub2", "--revoke", "not-a-serial"}, "not-a-serial"},
			{"path name", []string{"pki", "issue", "client", "--dir", dir, "--ca", "sub2", "--name", "../x"}, "invalid name"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := runCLI(t, tt.args...)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("err = %v, want mention of %q", err, tt.want)
				}
			})
		}
		if _, err := os.Stat(p("x.pem")); err == nil {
			t.Error("a failed command left x.pem behind")
		}
	})
	t.Run("force overwrites", func(t *testing.T) {
		mustCLI(t, "pki", "issue", "client", "--dir", dir, "--ca", "sub2", "--name", "bob", "--force")
	})
}

// TestPKITicketKey: ticket-key writes 80 random bytes readable by the
// owner only, refuses to replace a file unless --force, and the gateway
// accepts the file as a session_tickets key.
func TestPKITicketKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "current.key")
	if out, err := runCLI(t, "pki", "ticket-key", "-o", path); err != nil {
		t.Fatalf("ticket-key: %v\n%s", err, out)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != 80 || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: %d bytes, mode %v; want 80, 0600", st.Size(), st.Mode().Perm())
	}
	first, _ := os.ReadFile(path)
	if _, err := runCLI(t, "pki", "ticket-key", "-o", path); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("second write: %v, want an exists error", err)
	}
	if out, err := runCLI(t, "pki", "ticket-key", "-o", path, "--force"); err != nil {
		t.Fatalf("--force: %v\n%s", err, out)
	}
	if second, _ := os.ReadFile(path); len(second) != 80 || string(second) == string(first) {
		t.Errorf("--force did not write a new key")
	}
	if _, err := runCLI(t, "pki", "ticket-key"); err == nil {
		t.Error("no -o: want an error")
	}
}
