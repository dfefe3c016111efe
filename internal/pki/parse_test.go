package pki_test

import (
	"crypto/x509"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

func TestPKIParseFlags(t *testing.T) {
	t.Run("key usage", func(t *testing.T) {
		tests := []struct {
			in      string
			want    x509.KeyUsage
			wantErr bool
		}{
			{"digitalSignature", x509.KeyUsageDigitalSignature, false},
			{"digitalSignature, keyEncipherment", x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, false},
			{"keyCertSign,cRLSign", x509.KeyUsageCertSign | x509.KeyUsageCRLSign, false},
			{"nonRepudiation", x509.KeyUsageContentCommitment, false},
			{"none", 0, false},
			{"NONE", 0, false},
			{"signStuff", 0, true},
			{"", 0, true},
		}
		for _, tt := range tests {
			got, err := pki.ParseKeyUsage(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseKeyUsage(%q) = %v, %v; want %v, err=%v", tt.in, got, err, tt.want, tt.wantErr)
			}
		}
	})
	t.Run("ext key usage", func(t *testing.T) {
		tests := []struct {
			in          string
			want        []x509.ExtKeyUsage
			wantUnknown int
			wantErr     bool
		}{
			{"clientAuth", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, 0, false},
			{"serverAuth,clientAuth", []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, 0, false},
			{"any", []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, 0, false},
			{"smartcardLogon,1.2.3.4", nil, 2, false},
			{"none", nil, 0, false},
			{"1", nil, 0, true},
			{"whatever", nil, 0, true},
		}
		for _, tt := range tests {
			got, unknown, err := pki.ParseExtKeyUsage(tt.in)
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) || len(unknown) != tt.wantUnknown {
				t.Errorf("ParseExtKeyUsage(%q) = %v, %v, %v", tt.in, got, unknown, err)
			}
		}
	})
	t.Run("serial", func(t *testing.T) {
		tests := []struct {
			in   string
			want int64 // 0: error
		}{
			{"42", 42}, {"0x2a", 42}, {"0X2A", 42}, {"2a", 42}, {"00:2a", 42}, {"1A:2B", 0x1a2b},
			{"0", 0}, {"-5", 0}, {"0x", 0}, {"zz", 0}, {"0x00", 0},
		}
		for _, tt := range tests {
			got, err := pki.ParseSerial(tt.in)
			switch {
			case tt.want == 0 && err == nil:
				t.Errorf("ParseSerial(%q) = %v, want error", tt.in, got)
			case tt.want != 0 && (err != nil || got.Int64() != tt.want):
				t.Errorf("ParseSerial(%q) = %v, %v; want %d", tt.in, got, err, tt.want)
			}
			if err == nil {
				back, err := pki.ParseSerial(pki.FormatSerial(got))
				if err != nil || back.Cmp(got) != 0 {
					t.Errorf("FormatSerial round trip of %v: %v %v", got, back, err)
				}
			}
		}
	})
	t.Run("validity", func(t *testing.T) {
		now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
		nb := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
		tests := []struct {
			name           string
			v              pki.ValidityFlags
			wantNB, wantNA time.Time
			wantNil        bool
			wantErr        bool
		}{
			{"none", pki.ValidityFlags{}, time.Time{}, time.Time{}, true, false},
			{"days from now", pki.ValidityFlags{Days: 30}, now.Add(-time.Hour), now.AddDate(0, 0, 30), false, false},
			{"days from not-before", pki.ValidityFlags{NotBefore: "2029-01-01T00:00:00Z", Days: 2}, nb, nb.AddDate(0, 0, 2), false, false},
			{"explicit", pki.ValidityFlags{NotBefore: "2029-01-01T00:00:00Z", NotAfter: "2029-02-01T00:00:00Z"}, nb, nb.AddDate(0, 1, 0), false, false},
			{"not-before only", pki.ValidityFlags{NotBefore: "2029-01-01T00:00:00Z"}, nb, nb.AddDate(1, 0, 0), false, false},
			{"days and not-after", pki.ValidityFlags{NotAfter: "2029-02-01T00:00:00Z", Days: 1}, time.Time{}, time.Time{}, false, true},
			{"reversed", pki.ValidityFlags{NotBefore: "2029-02-01T00:00:00Z", NotAfter: "2029-01-01T00:00:00Z"}, time.Time{}, time.Time{}, false, true},
			{"bad time", pki.ValidityFlags{NotAfter: "soon"}, time.Time{}, time.Time{}, false, true},
			{"negative days", pki.ValidityFlags{Days: -1}, time.Time{}, time.Time{}, false, true},
		}
		root := pkitest.NewRoot(t, "Validity Root")
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				opt, err := tt.v.Option(now)
				if (err != nil) != tt.wantErr {
					t.Fatalf("err = %v, want error %v", err, tt.wantErr)
				}
				if tt.wantErr {
					if !errors.Is(err, pki.ErrInvalidOption) {
						t.Errorf("err %v does not wrap ErrInvalidOption", err)
					}
					return
				}
				if (opt == nil) != tt.wantNil {
					t.Fatalf("option nil = %v, want %v", opt == nil, tt.wantNil)
				}
				if opt == nil {
					return
				}
				c := root.Client(t, "v", opt).Cert
				if !c.NotBefore.Equal(tt.wantNB) || !c.NotAfter.Equal(tt.wantNA) {
					t.Errorf("validity %v..%v, want %v..%v", c.NotBefore, c.NotAfter, tt.wantNB, tt.wantNA)
				}
			})
		}
	})
	t.Run("reason and key type", func(t *testing.T) {
		if r, err := pki.ParseReason("keyCompromise"); err != nil || r != pki.ReasonKeyCompromise {
			t.Errorf("ParseReason(keyCompromise) = %d, %v", r, err)
		}
		if r, err := pki.ParseReason("4"); err != nil || r != pki.ReasonSuperseded {
			t.Errorf("ParseReason(4) = %d, %v", r, err)
		}
		for _, bad := range []string{"7", "11", "oops"} {
			if _, err := pki.ParseReason(bad); err == nil {
				t.Errorf("ParseReason(%q) accepted", bad)
			}
		}
		if k, err := pki.ParseKeyType("RSA-3072"); err != nil || k != pki.KeyRSA3072 {
			t.Errorf("ParseKeyType = %q, %v", k, err)
		}
		if _, err := pki.ParseKeyType("dsa"); !errors.Is(err, pki.ErrUnknownKeyType) {
			t.Errorf("ParseKeyType(dsa) err = %v", err)
		}
	})
}

func TestPKIStore(t *testing.T) {
	st := pki.Store{Dir: filepath.Join(t.TempDir(), "store")}
	if _, _, err := st.Init("root", "Store Root"); err != nil {
		t.Fatal(err)
	}
	prev := "root"
	for _, n := range []string{"sub1", "sub2", "sub3"} {
		if _, _, err := st.IssueIntermediate(prev, n, "CA "+n); err != nil {
			t.Fatal(err)
		}
		prev = n
	}
	alice, w, err := st.IssueClient("sub3", "alice", "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 3 {
		t.Errorf("wrote %v, want key, cert, chain", w)
	}

	t.Run("parents linked by scanning the directory", func(t *testing.T) {
		ca, err := st.LoadCA("sub3")
		if err != nil {
			t.Fatal(err)
		}
		if got := names(ca.Chain()); !slices.Equal(got, []string{"CA sub3", "CA sub2", "CA sub1", "Store Root"}) {
			t.Errorf("chain %v", got)
		}
		if got := names(alice.Chain()); !slices.Equal(got, []string{"alice", "CA sub3", "CA sub2", "CA sub1"}) {
			t.Errorf("leaf chain %v", got)
		}
	})
	t.Run("overwrite refused and nothing written", func(t *testing.T) {
		before, _ := os.ReadFile(filepath.Join(st.Dir, "alice.pem"))
		_, _, err := st.IssueClient("sub3", "alice", "alice", nil)
		if !errors.Is(err, pki.ErrExists) {
			t.Errorf("err = %v, want ErrExists", err)
		}
		after, _ := os.ReadFile(filepath.Join(st.Dir, "alice.pem"))
		if string(before) != string(after) {
			t.Error("alice.pem changed")
		}
		forced := pki.Store{Dir: st.Dir, Force: true}
		if _, _, err := forced.IssueClient("sub3", "alice", "alice", nil); err != nil {
			t.Errorf("with Force: %v", err)
		}
	})
	t.Run("invalid names", func(t *testing.T) {
		for _, n := range []string{"", "..", "a/b", "-x"} {
			if _, _, err := st.IssueClient("sub3", n, "x", nil); !errors.Is(err, pki.ErrInvalidName) {
				t.Errorf("name %q: err = %v", n, err)
			}
		}
	})
	t.Run("crl numbers increase", func(t *testing.T) {
		for want := int64(1); want <= 3; want++ {
			crl, _, err := st.CRL(pki.CRLRequest{CA: "sub3", Revoke: []string{"alice"}})
			if err != nil {
				t.Fatal(err)
			}
			if crl.Number.Int64() != want || len(crl.RevokedCertificateEntries) != 1 {
				t.Errorf("number %v entries %d, want %d, 1", crl.Number, len(crl.RevokedCertificateEntries), want)
			}
		}
		if err := os.WriteFile(filepath.Join(st.Dir, "sub3.crlnumber"), []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.CRL(pki.CRLRequest{CA: "sub3"}); err == nil {
			t.Error("corrupt crlnumber accepted")
		}
	})
	t.Run("revoke resolution", func(t *testing.T) {
		ca, err := st.LoadCA("sub3")
		if err != nil {
			t.Fatal(err)
		}
		for _, arg := range []string{"alice", filepath.Join(st.Dir, "alice.pem"), pki.FormatSerial(big.NewInt(42))} {
			if _, err := st.ResolveRevoke(ca, arg); err != nil {
				t.Errorf("ResolveRevoke(%q): %v", arg, err)
			}
		}
		other, _ := st.LoadCA("sub1")
		if _, err := st.ResolveRevoke(other, "alice"); err == nil {
			t.Error("revoking alice on sub1's CRL accepted")
		}
	})
}
