package doctor

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"github.com/certgate/certgate/internal/substatus"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

const p12Password = "test"

// selectPKI is two unrelated roots, an issuing CA under A, and a client
// store (a directory) mixing every case the simulation distinguishes.
type selectPKI struct {
	rootA, rootB, subA *pkitest.CA
	dir                string
}

func newSelectPKI(t *testing.T) *selectPKI {
	p := &selectPKI{
		rootA: pkitest.NewRoot(t, "Test Root A", caValid),
		rootB: pkitest.NewRoot(t, "Test Root B", caValid),
		dir:   t.TempDir(),
	}
	p.subA = p.rootA.Intermediate(t, "Test Issuing CA A", caValid)
	a := p.rootA

	// good.pem: certificate and key in one file.
	good := a.Client(t, "Good Client", leafValid)
	key, err := pki.EncodeKeyPEM(good.Key)
	if err != nil {
		t.Fatal(err)
	}
	pkitest.WriteFile(t, p.dir, "a-good.pem", append(pki.EncodeCertsPEM(good.Cert), key...))
	// Sibling .pem/.key pairs.
	writePair := func(name string, l *pki.Leaf) {
		pkitest.WriteCerts(t, p.dir, name+".pem", l.Cert)
		pkitest.WriteKey(t, p.dir, name+".key", l.Key)
	}
	writePair("b-expired", a.Client(t, "Expired Client", pki.WithValidity(t0.AddDate(-1, 0, 0), t0)))
	writePair("c-wrong-ku", a.Client(t, "KeyEncipherment Client", leafValid, pki.WithKeyUsage(x509.KeyUsageKeyEncipherment)))
	writePair("d-wrong-eku", a.Client(t, "ServerAuth Client", leafValid, pki.WithExtKeyUsage(x509.ExtKeyUsageServerAuth)))
	writePair("e-any-eku", a.Client(t, "AnyEKU Client", leafValid, pki.WithExtKeyUsage(x509.ExtKeyUsageAny)))
	pkitest.WriteCerts(t, p.dir, "f-keyless.pem", a.Client(t, "Keyless Client", leafValid).Cert)
	// PKCS#12 files, as browsers import them: leaf, key and CA certificates.
	writeP12 := func(name string, l *pki.Leaf) {
		der, err := pki.EncodePKCS12(l, p12Password, true)
		if err != nil {
			t.Fatal(err)
		}
		pkitest.WriteFile(t, p.dir, name, der)
	}
	writeP12("g-foreign.p12", p.rootB.Client(t, "Foreign Client", leafValid))
	writeP12("h-via-intermediate.p12", p.subA.Client(t, "Intermediate Client", leafValid))
	return p
}

func (p *selectPKI) store(t *testing.T) *Store {
	t.Helper()
	s, err := LoadStore([]string{p.dir}, p12Password)
	if err != nil {
		t.Fatalf("LoadStore: %v", err)
	}
	return s
}

func TestSelect(t *testing.T) {
	p := newSelectPKI(t)
	s := p.store(t)
	listA := [][]byte{p.rootA.Cert.RawSubject}
	tests := []struct {
		name    string
		browser string
		names   [][]byte
		offered []string          // CNs offered
		reasons map[string]string // CN -> one reason code expected
	}{
		{"chromium-list-a", BrowserChromium, listA,
			[]string{"Good Client", "AnyEKU Client", "Intermediate Client"},
			map[string]string{"Expired Client": ReasonExpired, "KeyEncipherment Client": ReasonKeyUsage,
				"ServerAuth Client": ReasonEKU, "Keyless Client": ReasonNoKey, "Foreign Client": ReasonIssuer}},
		{"chromium-no-list", BrowserChromium, nil,
			[]string{"Good Client", "AnyEKU Client", "Foreign Client", "Intermediate Client"},
			map[string]string{"Expired Client": ReasonExpired, "Keyless Client": ReasonNoKey}},
		{"chromium-list-intermediate", BrowserChromium, [][]byte{p.subA.Cert.RawSubject},
			[]string{"Intermediate Client"},
			map[string]string{"Good Client": ReasonIssuer}},
		{"firefox-list-a", BrowserFirefox, listA,
			[]string{"Good Client", "AnyEKU Client", "Intermediate Client"},
			map[string]string{"Expired Client": ReasonExpired, "Foreign Client": ReasonIssuer}},
		// Legacy IE lists expired certificates and does not filter on Key Usage.
		{"ie-list-a", BrowserIE, listA,
			[]string{"Good Client", "Expired Client", "KeyEncipherment Client", "AnyEKU Client", "Intermediate Client"},
			map[string]string{"ServerAuth Client": ReasonEKU, "Foreign Client": ReasonIssuer}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Select(s, SelectOptions{CANames: tt.names, Browser: tt.browser, At: at})
			if err != nil {
				t.Fatal(err)
			}
			var offered []string
			byCN := map[string]Candidate{}
			for _, c := range r.Candidates {
				cn := strings.TrimPrefix(c.Cert.Subject, "CN=")
				byCN[cn] = c
				if c.Offered {
					offered = append(offered, cn)
				}
			}
			if strings.Join(offered, ", ") != strings.Join(tt.offered, ", ") {
				t.Errorf("offered = %v, want %v", offered, tt.offered)
			}
			for cn, code := range tt.reasons {
				c, ok := byCN[cn]
				if !ok {
					t.Errorf("%s not in the report", cn)
					continue
				}
				if !hasReason(c.Reasons, code) {
					t.Errorf("%s: reasons %+v, want %s", cn, c.Reasons, code)
				}
			}
			golden(t, "select-"+tt.name+".txt", normalize(text(t, r), p.dir))
			if tt.name == "chromium-list-a" {
				golden(t, "select-"+tt.name+".json", normalize(jsonOf(t, r), p.dir))
			}
		})
	}
}

func hasReason(rs []Reason, code string) bool {
	for _, r := range rs {
		if r.Code == code {
			return true
		}
	}
	return false
}

// Every reason is reported, not just the first.
func TestSelectAllReasons(t *testing.T) {
	rootA := pkitest.NewRoot(t, "Root A", caValid)
	rootB := pkitest.NewRoot(t, "Root B", caValid)
	bad := rootB.Client(t, "Everything Wrong", pki.WithValidity(t0.AddDate(-1, 0, 0), t0),
		pki.WithKeyUsage(x509.KeyUsageKeyEncipherment), pki.WithExtKeyUsage(x509.ExtKeyUsageServerAuth))
	s := &Store{Certs: []StoreCert{{Cert: Cert{Certificate: bad.Cert, Source: "bad.pem"}}}}
	r, err := Select(s, SelectOptions{CANames: [][]byte{rootA.Cert.RawSubject}, At: at})
	if err != nil {
		t.Fatal(err)
	}
	c := r.Candidates[0]
	for _, code := range []string{ReasonNoKey, ReasonExpired, ReasonKeyUsage, ReasonEKU, ReasonIssuer} {
		if !hasReason(c.Reasons, code) {
			t.Errorf("reasons %+v lack %s", c.Reasons, code)
		}
	}
}

// The key/signature-scheme part comes from crypto/tls: an RSA key cannot
// answer a server that accepts only ECDSA signatures.
func TestSelectSignatureSchemes(t *testing.T) {
	root := pkitest.NewRoot(t, "Root", caValid)
	rsaClient := root.Client(t, "RSA Client", leafValid, pki.WithKeyType(pki.KeyRSA2048))
	ecClient := root.Client(t, "EC Client", leafValid)
	s := &Store{Certs: []StoreCert{
		{Cert: Cert{Certificate: rsaClient.Cert}, Key: rsaClient.Key},
		{Cert: Cert{Certificate: ecClient.Cert}, Key: ecClient.Key},
	}}
	r, err := Select(s, SelectOptions{At: at, Version: tls.VersionTLS13, SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Candidates[0].Offered || !hasReason(r.Candidates[0].Reasons, ReasonSignature) {
		t.Errorf("RSA client: offered=%v reasons %+v, want %s", r.Candidates[0].Offered, r.Candidates[0].Reasons, ReasonSignature)
	}
	if !r.Candidates[1].Offered {
		t.Errorf("EC client not offered: %+v", r.Candidates[1].Reasons)
	}
}

func TestLoadStore(t *testing.T) {
	p := newSelectPKI(t)
	t.Run("directory", func(t *testing.T) {
		s := p.store(t)
		keys := 0
		for _, c := range s.Certs {
			if c.Key != nil {
				keys++
			}
		}
		// 9 leaves + Root B (foreign.p12) + Issuing CA A and Root A (via-intermediate.p12).
		if len(s.Certs) != 11 || keys != 7 {
			t.Errorf("store has %d certificates, %d with keys; want 11 and 7", len(s.Certs), keys)
		}
	})
	t.Run("sibling key", func(t *testing.T) {
		s, err := LoadStore([]string{filepath.Join(p.dir, "b-expired.pem")}, "")
		if err != nil || len(s.Certs) != 1 || s.Certs[0].Key == nil {
			t.Fatalf("LoadStore(b-expired.pem) = %+v, %v; want the certificate with its sibling .key", s, err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		_, err := LoadStore([]string{filepath.Join(p.dir, "g-foreign.p12")}, "nope")
		if !errors.Is(err, ErrPassword) {
			t.Fatalf("error = %v, want ErrPassword", err)
		}
	})
	t.Run("unmatched key", func(t *testing.T) {
		dir := t.TempDir()
		l := p.rootA.Client(t, "Lonely", leafValid)
		pkitest.WriteCerts(t, dir, "cert.pem", l.Cert)
		pkitest.WriteKey(t, dir, "other.key", pkitest.Key(t, ""))
		s, err := LoadStore([]string{dir}, "")
		if err != nil || len(s.Warnings) != 1 || s.Certs[0].Key != nil {
			t.Fatalf("LoadStore = %+v, %v; want one key-less cert and a warning about other.key", s, err)
		}
	})
}

func TestParseCANames(t *testing.T) {
	root := pkitest.NewRoot(t, "Names Root", caValid)
	fromPEM, err := ParseCANames(pki.EncodeCertsPEM(root.Cert), "roots.pem")
	if err != nil || len(fromPEM) != 1 || string(fromPEM[0]) != string(root.Cert.RawSubject) {
		t.Fatalf("ParseCANames(PEM) = %v, %v", fromPEM, err)
	}
	probeJSON := jsonOf(t, &ProbeReport{CANames: CANameList(fromPEM)})
	fromJSON, err := ParseCANames(probeJSON, "names.json")
	if err != nil || len(fromJSON) != 1 || string(fromJSON[0]) != string(root.Cert.RawSubject) {
		t.Fatalf("ParseCANames(probe JSON) = %v, %v", fromJSON, err)
	}
	empty, err := ParseCANames([]byte(`{"ca_names": []}`), "empty.json")
	if err != nil || len(empty) != 0 {
		t.Fatalf("ParseCANames(empty list) = %v, %v; want no names (any CA)", empty, err)
	}
	for name, data := range map[string]string{"no list": `{"url": "x"}`, "bad base64": `{"ca_names":[{"der":"!!"}]}`, "text": "hello"} {
		if _, err := ParseCANames([]byte(data), name); err == nil {
			t.Errorf("ParseCANames(%s) succeeded, want an error", name)
		}
	}
}

// TestSelectReasonsAreTheCataloguesRules: every reason Select gives for not
// offering a certificate is one of the rules the diagnostics page explains
// to end users (substatus.OfferRules), so the two cannot drift.
func TestSelectReasonsAreTheCataloguesRules(t *testing.T) {
	rules := map[string]bool{}
	for _, r := range substatus.OfferRules() {
		rules[r.Code] = true
	}
	for _, code := range []string{ReasonNoKey, ReasonExpired, ReasonNotYetValid, ReasonKeyUsage, ReasonEKU, ReasonIssuer, ReasonSignature} {
		if !rules[code] {
			t.Errorf("select reason %q has no end-user rule in substatus.OfferRules", code)
		}
	}
	if len(rules) != 7 {
		t.Errorf("OfferRules has %d rules; Select gives 7 reasons", len(rules))
	}
}
