package doctor

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// pkiServer is a CA's publication point on 127.0.0.1: CRLs and
// certificates by path, and OCSP responders by path prefix.
type pkiServer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	body map[string][]byte
	ocsp map[string]*pkitest.CA // path -> issuer answering "good" for everything but revoked
	hits map[string]int
}

func newPKIServer(t *testing.T) *pkiServer {
	t.Helper()
	s := &pkiServer{body: map[string][]byte{}, ocsp: map[string]*pkitest.CA{}, hits: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *pkiServer) URL(path string) string { return s.srv.URL + path }

func (s *pkiServer) set(path string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body[path] = body
}

func (s *pkiServer) responder(path string, ca *pkitest.CA) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ocsp[path] = ca
}

func (s *pkiServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func (s *pkiServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for prefix, ca := range s.ocsp {
		if r.URL.Path != prefix && !strings.HasPrefix(r.URL.Path, prefix+"/") {
			continue
		}
		s.hits[prefix]++
		var der []byte
		if r.Method == http.MethodPost {
			der, _ = io.ReadAll(r.Body)
		} else {
			der, _ = base64.StdEncoding.DecodeString(strings.TrimPrefix(r.URL.Path, prefix+"/"))
		}
		req, err := ocsp.ParseRequest(der)
		if err != nil {
			w.Write(ocsp.MalformedRequestErrorResponse)
			return
		}
		resp, err := ocsp.CreateResponse(ca.Cert, ca.Cert, ocsp.Response{
			Status: ocsp.Good, SerialNumber: req.SerialNumber,
			ThisUpdate: at.Add(-time.Hour), NextUpdate: at.Add(time.Hour),
		}, ca.Key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.Write(resp)
		return
	}
	s.hits[r.URL.Path]++
	b, ok := s.body[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Write(b)
}

// deadURL is an http URL on 127.0.0.1 where nothing listens.
func deadURL(t *testing.T, path string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + path
}

func serial(n int64) pki.Option { return pki.WithSerial(big.NewInt(n)) }

// crlOpts is a CRL current at the tests' "at".
func crlOpts(number int64) pki.CRLOptions {
	return pki.CRLOptions{Number: number, ThisUpdate: at.AddDate(0, 0, -1), NextUpdate: at.AddDate(0, 0, 30)}
}

// certsOnlyPKCS7 encodes certs as a certs-only PKCS#7 SignedData (".p7c",
// RFC 5652 5.1), the way CAs publish bundles at AIA URLs.
func certsOnlyPKCS7(certs ...*x509.Certificate) []byte {
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(*cryptobyte.Builder) {})
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier([]int{1, 2, 840, 113549, 1, 7, 1})
				})
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					for _, c := range certs {
						b.AddBytes(c.Raw)
					}
				})
				b.AddASN1(cbasn1.SET, func(*cryptobyte.Builder) {})
			})
		})
	})
	return b.BytesOrPanic()
}

var (
	durTextRE  = regexp.MustCompile(`, (<1ms|[0-9.]+(ns|µs|ms|s))\)`)
	durJSONRE  = regexp.MustCompile(`"duration_ms": [0-9.e-]+`)
	startedRE  = regexp.MustCompile(`"started": "[^"]+"`)
	verdictsRE = regexp.MustCompile(`^[0-9]{3}(\.[0-9]+)?$`)
)

// normalizeVerify is normalize plus fetch timings.
func normalizeVerify(b []byte, dir string) []byte {
	b = normalize(b, dir)
	b = durTextRE.ReplaceAll(b, []byte(", <dur>)"))
	b = durJSONRE.ReplaceAll(b, []byte(`"duration_ms": 0`))
	return startedRE.ReplaceAll(b, []byte(`"started": "<time>"`))
}

// verifyFixture is a two-level PKI on disk plus a foreign root, for the
// explicit-trust cases.
type verifyFixture struct {
	dir                     string
	root, sub               *pkitest.CA
	rootPEM, subPEM         string
	rootCRL, subCRL         string
	good, expired, wrongEKU string
	revoked, foreign        string
	revokedCRL              string
	server                  string
}

func newVerifyFixture(t *testing.T) *verifyFixture {
	t.Helper()
	f := &verifyFixture{dir: t.TempDir()}
	f.root = pkitest.NewRoot(t, "Verify Root", caValid, serial(0x01))
	f.sub = f.root.Intermediate(t, "Verify Issuing CA", caValid, serial(0x10))
	f.rootPEM = pkitest.WriteCerts(t, f.dir, "root.pem", f.root.Cert)
	f.subPEM = pkitest.WriteCerts(t, f.dir, "sub.pem", f.sub.Cert)
	f.rootCRL = pkitest.WriteFile(t, f.dir, "root.crl", f.root.CRL(t, crlOpts(1)))
	f.subCRL = pkitest.WriteFile(t, f.dir, "sub.crl", f.sub.CRL(t, crlOpts(1)))

	leaf := func(name string, l *pki.Leaf) string {
		return pkitest.WriteCerts(t, f.dir, name, l.Chain()[:2]...) // leaf and the issuing CA, as a client sends them
	}
	f.good = leaf("alice.pem", f.sub.Client(t, "Alice", leafValid, serial(0x1001)))
	f.expired = leaf("expired.pem", f.sub.Client(t, "Old Alice", pki.WithValidity(t0, at.AddDate(0, 0, -1)), serial(0x1002)))
	f.wrongEKU = leaf("server-only.pem", f.sub.Client(t, "Server Only", leafValid, serial(0x1003), pki.WithExtKeyUsage(x509.ExtKeyUsageServerAuth)))
	revoked := f.sub.Client(t, "Revoked Bob", leafValid, serial(0x1004))
	f.revoked = leaf("revoked.pem", revoked)
	f.revokedCRL = pkitest.WriteFile(t, f.dir, "sub-revoking.crl", f.sub.CRLEntries(t, crlOpts(2),
		pki.RevokedCert(revoked.Cert, at.AddDate(0, 0, -2), pki.ReasonKeyCompromise)))
	other := pkitest.NewRoot(t, "Foreign Root", caValid, serial(0x02))
	f.foreign = pkitest.WriteCerts(t, f.dir, "foreign.pem", other.Client(t, "Stranger", leafValid, serial(0x2001)).Cert, other.Cert)
	f.server = pkitest.WriteCerts(t, f.dir, "www.pem",
		f.sub.Server(t, "www.example.test", []string{"www.example.test"}, leafValid, serial(0x3001)).Chain()[:2]...)
	return f
}

func TestVerifyExplicit(t *testing.T) {
	f := newVerifyFixture(t)
	crls := []string{f.rootCRL, f.subCRL}
	tests := []struct {
		name    string
		o       VerifyOptions
		verdict string
		code    string
		json    bool
	}{
		{"accepted", VerifyOptions{CertFile: f.good, Roots: []string{f.rootPEM}, CRLs: crls}, "200", "", true},
		{"expired", VerifyOptions{CertFile: f.expired, Roots: []string{f.rootPEM}, CRLs: crls}, "403.17", "CERT_E_EXPIRED", false},
		{"untrusted", VerifyOptions{CertFile: f.foreign, Roots: []string{f.rootPEM}, CRLs: crls}, "403.16", "CERT_E_UNTRUSTEDROOT", false},
		{"wrong-eku", VerifyOptions{CertFile: f.wrongEKU, Roots: []string{f.rootPEM}, CRLs: crls}, "403.16", "CERT_E_WRONG_USAGE", false},
		{"revoked", VerifyOptions{CertFile: f.revoked, Roots: []string{f.rootPEM}, CRLs: []string{f.rootCRL, f.revokedCRL}}, "403.13", "CRYPT_E_REVOKED", true},
		{"no-crl-cache-only", VerifyOptions{CertFile: f.good, Roots: []string{f.rootPEM}}, "403.13", "CRYPT_E_NO_REVOCATION_CHECK", false},
		{"server-peer-name", VerifyOptions{CertFile: f.server, Roots: []string{f.rootPEM}, Purpose: PurposeServer,
			PeerName: "mail.example.test", Revocation: "off"}, "403.16", "CERT_E_INVALID_NAME", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.At = at
			r, err := Verify(context.Background(), tt.o)
			if err != nil {
				t.Fatal(err)
			}
			out := text(t, r)
			checkVerdict(t, r, out, tt.verdict, tt.code)
			golden(t, "verify-"+tt.name+".txt", normalizeVerify(out, f.dir))
			if tt.json {
				golden(t, "verify-"+tt.name+".json", normalizeVerify(jsonOf(t, r), f.dir))
			}
		})
	}
}

// checkVerdict asserts the first line is the verdict alone and the code.
func checkVerdict(t *testing.T, r *VerifyReport, out []byte, verdict, code string) {
	t.Helper()
	first, _, _ := bytes.Cut(out, []byte("\n"))
	if string(first) != verdict || !verdictsRE.Match(first) {
		t.Errorf("first line %q, want the verdict %q alone", first, verdict)
	}
	if r.Verdict != verdict || r.Accepted != (verdict == "200") {
		t.Errorf("verdict %s (accepted %v), want %s", r.Verdict, r.Accepted, verdict)
	}
	got := ""
	if r.Code != nil {
		got = r.Code.Name
	}
	if got != code {
		t.Errorf("code %q, want %q; reason: %s", got, code, r.Reason)
	}
}

func TestVerifyMalformed(t *testing.T) {
	f := newVerifyFixture(t)
	bad := pkitest.WriteFile(t, f.dir, "bad.pem", []byte("-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n"))
	r, err := Verify(context.Background(), VerifyOptions{CertFile: bad, Roots: []string{f.rootPEM}, At: at, URLFetch: true})
	if err != nil {
		t.Fatal(err)
	}
	checkVerdict(t, r, text(t, r), "403.16", "CRYPT_E_ASN1_BADTAG")
	if r.Element != `leaf "?"` || len(r.AIA) != 0 {
		t.Errorf("element %q, AIA %v: want the leaf named and nothing fetched", r.Element, r.AIA)
	}
}

func TestVerifyInputErrors(t *testing.T) {
	f := newVerifyFixture(t)
	keyOnly := pkitest.WriteKey(t, f.dir, "key.pem", pkitest.Key(t, ""))
	tests := []struct {
		name string
		o    VerifyOptions
		want error
	}{
		{"no roots", VerifyOptions{CertFile: f.good}, ErrUsage},
		{"missing file", VerifyOptions{CertFile: filepath.Join(f.dir, "missing.pem"), Roots: []string{f.rootPEM}}, os.ErrNotExist},
		{"no certificate in file", VerifyOptions{CertFile: keyOnly, Roots: []string{f.rootPEM}}, ErrNoCertificates},
		{"bad purpose", VerifyOptions{CertFile: f.good, Roots: []string{f.rootPEM}, Purpose: "email"}, ErrUsage},
		{"peer name for client", VerifyOptions{CertFile: f.good, Roots: []string{f.rootPEM}, PeerName: "x"}, ErrUsage},
		{"bad mode", VerifyOptions{CertFile: f.good, Roots: []string{f.rootPEM}, Revocation: "sometimes"}, ErrUsage},
		{"site without config", VerifyOptions{CertFile: f.good, Roots: []string{f.rootPEM}, Site: "app"}, ErrUsage},
		{"unreadable crl", VerifyOptions{CertFile: f.good, Roots: []string{f.rootPEM}, CRLs: []string{filepath.Join(f.dir, "nope.crl")}}, os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Verify(context.Background(), tt.o)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v (report %v), want %v", err, r, tt.want)
			}
		})
	}
}

// TestVerifyURLFetchOffline is the 4-level case of issue 5: root -> sub1
// -> sub2 -> leaf, the leaf file alone; the intermediates come from AIA
// (DER, then PKCS#7), the leaf is checked by OCSP, sub2 by CRL and delta
// CRL, and only sub1's distribution point is unreachable: the verdict is
// 403.13 CRYPT_E_REVOCATION_OFFLINE naming sub1 and its CRL URL, with
// every other URL fetched.
func TestVerifyURLFetchOffline(t *testing.T) {
	dir := t.TempDir()
	srv := newPKIServer(t)
	dead := deadURL(t, "/root.crl")
	root := pkitest.NewRoot(t, "Chain Root", caValid, serial(0x01))
	sub1 := root.Intermediate(t, "Chain Sub1 CA", caValid, serial(0x11),
		pki.WithCRLDistributionPoints(dead), pki.WithIssuingCertificateURL(srv.URL("/root.cer")))
	sub2 := sub1.Intermediate(t, "Chain Sub2 CA", caValid, serial(0x12),
		pki.WithCRLDistributionPoints(srv.URL("/sub1.crl")), pki.WithFreshestCRL(srv.URL("/sub1-delta.crl")),
		pki.WithIssuingCertificateURL(srv.URL("/sub1.p7c")))
	leaf := sub2.Client(t, "Chain Leaf", leafValid, serial(0x1001),
		pki.WithOCSPServer(srv.URL("/ocsp")), pki.WithIssuingCertificateURL(srv.URL("/sub2.cer")))
	srv.set("/root.cer", root.Cert.Raw)
	srv.set("/sub1.p7c", certsOnlyPKCS7(sub1.Cert))
	srv.set("/sub2.cer", sub2.Cert.Raw)
	srv.set("/sub1.crl", sub1.CRL(t, crlOpts(1)))
	srv.set("/sub1-delta.crl", sub1.CRL(t, pki.CRLOptions{Number: 2, Delta: true, BaseNumber: 1,
		ThisUpdate: at.Add(-time.Hour), NextUpdate: at.AddDate(0, 0, 1)}))
	srv.responder("/ocsp", sub2)

	leafPEM := pkitest.WriteCerts(t, dir, "leaf.pem", leaf.Cert)
	rootPEM := pkitest.WriteCerts(t, dir, "root.pem", root.Cert)
	r, err := Verify(context.Background(), VerifyOptions{CertFile: leafPEM, Roots: []string{rootPEM}, URLFetch: true, At: at, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	out := text(t, r)
	checkVerdict(t, r, out, "403.13", "CRYPT_E_REVOCATION_OFFLINE")
	if r.ElementIndex == nil || *r.ElementIndex != 2 || !strings.Contains(r.Element, "Chain Sub1 CA") || !strings.Contains(r.Reason, dead) {
		t.Errorf("failing element %q: %s; want intermediate 2 (Sub1) and its CRL URL %s", r.Element, r.Reason, dead)
	}
	if len(r.Chain) != 4 || len(r.AIA) != 2 {
		t.Fatalf("chain of %d, %d AIA fetches; want 4 and 2 (sub2, sub1)\n%s", len(r.Chain), len(r.AIA), out)
	}
	// Every URL the engine consulted answered, but sub1's.
	for _, e := range r.Chain {
		for _, u := range e.URLs {
			for _, f := range u.Fetches {
				if f.OK == (u.URL == dead) {
					t.Errorf("%s %s %s: ok=%v (%s)", e.Label, u.Kind, u.URL, f.OK, f.Detail)
				}
			}
		}
	}
	for _, p := range []string{"/sub2.cer", "/sub1.p7c", "/sub1.crl", "/sub1-delta.crl", "/ocsp"} {
		if srv.count(p) != 1 {
			t.Errorf("%s fetched %d times, want once", p, srv.count(p))
		}
	}
	if srv.count("/root.cer") != 0 {
		t.Errorf("root.cer fetched although the root is trusted")
	}
	golden(t, "verify-urlfetch-offline.txt", normalizeVerify(out, dir))
	golden(t, "verify-urlfetch-offline.json", normalizeVerify(jsonOf(t, r), dir))
}

// TestVerifyURLFetchAIA fetches a missing intermediate (PEM) and accepts
// the chain with online revocation; without --urlfetch the same file is
// 403.16 CERT_E_CHAINING and nothing is fetched; a 404 at the AIA URL is
// reported and ends in the same 403.16.
func TestVerifyURLFetchAIA(t *testing.T) {
	dir := t.TempDir()
	srv := newPKIServer(t)
	root := pkitest.NewRoot(t, "AIA Root", caValid, serial(0x01))
	sub := root.Intermediate(t, "AIA Issuing CA", caValid, serial(0x10), pki.WithCRLDistributionPoints(srv.URL("/root.crl")))
	leaf := sub.Client(t, "AIA Leaf", leafValid, serial(0x1001),
		pki.WithCRLDistributionPoints(srv.URL("/sub.crl")), pki.WithIssuingCertificateURL(srv.URL("/sub.pem")))
	lost := sub.Client(t, "Lost Leaf", leafValid, serial(0x1002),
		pki.WithCRLDistributionPoints(srv.URL("/sub.crl")), pki.WithIssuingCertificateURL(srv.URL("/gone.cer")))
	srv.set("/sub.pem", pki.EncodeCertsPEM(sub.Cert))
	srv.set("/root.crl", root.CRL(t, crlOpts(1)))
	srv.set("/sub.crl", sub.CRL(t, crlOpts(1)))
	leafPEM := pkitest.WriteCerts(t, dir, "leaf.pem", leaf.Cert)
	lostPEM := pkitest.WriteCerts(t, dir, "lost.pem", lost.Cert)
	rootPEM := pkitest.WriteCerts(t, dir, "root.pem", root.Cert)

	tests := []struct {
		name     string
		file     string
		urlfetch bool
		verdict  string
		code     string
		fetches  int
	}{
		{"fetched", leafPEM, true, "200", "", 1},
		{"no-urlfetch", leafPEM, false, "403.16", "CERT_E_CHAINING", 0},
		{"not-found", lostPEM, true, "403.16", "CERT_E_CHAINING", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.count("/sub.crl")
			r, err := Verify(context.Background(), VerifyOptions{CertFile: tt.file, Roots: []string{rootPEM}, URLFetch: tt.urlfetch, At: at})
			if err != nil {
				t.Fatal(err)
			}
			out := text(t, r)
			checkVerdict(t, r, out, tt.verdict, tt.code)
			if len(r.AIA) != tt.fetches {
				t.Errorf("%d AIA fetches, want %d", len(r.AIA), tt.fetches)
			}
			if !tt.urlfetch && srv.count("/sub.crl") != before {
				t.Errorf("the network was used without --urlfetch")
			}
			golden(t, "verify-aia-"+tt.name+".txt", normalizeVerify(out, dir))
		})
	}
}

// TestVerifyAIAFormats parses what CAs publish at caIssuers URLs.
func TestVerifyAIAFormats(t *testing.T) {
	root := pkitest.NewRoot(t, "Format Root", caValid)
	sub := root.Intermediate(t, "Format Sub", caValid)
	tests := []struct {
		name   string
		body   []byte
		format string
		n      int
	}{
		{"der", sub.Cert.Raw, "DER", 1},
		{"pem", pki.EncodeCertsPEM(sub.Cert, root.Cert), "PEM", 2},
		{"pkcs7", certsOnlyPKCS7(sub.Cert, root.Cert), "PKCS#7", 2},
		{"pkcs7 pem", pemBlock("PKCS7", certsOnlyPKCS7(sub.Cert)), "PEM", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certs, format, err := parseAIABody(tt.body)
			if err != nil || format != tt.format || len(certs) != tt.n || !bytes.Equal(certs[0].Raw, sub.Cert.Raw) {
				t.Fatalf("got %d certs, format %q, err %v; want %d, %q", len(certs), format, err, tt.n, tt.format)
			}
		})
	}
	for _, bad := range [][]byte{[]byte("<html>not found</html>"), {0x30, 0x03, 0x02, 0x01, 0x01}, []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")} {
		if certs, _, err := parseAIABody(bad); err == nil {
			t.Errorf("parseAIABody(%q) = %d certs, want an error", bad, len(certs))
		}
	}
}

func pemBlock(typ string, der []byte) []byte {
	var b bytes.Buffer
	b.WriteString("-----BEGIN " + typ + "-----\n")
	b.WriteString(base64.StdEncoding.EncodeToString(der))
	b.WriteString("\n-----END " + typ + "-----\n")
	return b.Bytes()
}

// TestVerifySite uses a site of a generated config: its trust, its local
// CRLs (its online mode becomes cache-only without --urlfetch), its
// issuer list and its mapping.
func TestVerifySite(t *testing.T) {
	dir := t.TempDir()
	root := pkitest.NewRoot(t, "Site Root", caValid, serial(0x01))
	sub := root.Intermediate(t, "Site Issuing CA", caValid, serial(0x10))
	other := pkitest.NewRoot(t, "Partner Root", caValid, serial(0x02))
	pkitest.WriteLeaf(t, dir, "server", root.Localhost(t, leafValid))
	pkitest.WriteCerts(t, dir, "roots.pem", root.Cert)
	pkitest.WriteCerts(t, dir, "inter.pem", sub.Cert)
	pkitest.WriteCerts(t, dir, "partner.pem", other.Cert)
	pkitest.WriteFile(t, dir, "root.crl", root.CRL(t, crlOpts(1)))
	pkitest.WriteFile(t, dir, "sub.crl", sub.CRL(t, crlOpts(1)))
	name := func(cn, o string) pki.Option {
		return pki.WithSubject(pkix.Name{CommonName: cn, Organization: []string{o}})
	}
	// The client files hold the leaf only: trust.intermediates completes
	// the chain on the server, but a browser holding only the leaf would
	// not match a list naming the root.
	alice := pkitest.WriteCerts(t, dir, "alice.pem", sub.Client(t, "alice", leafValid, serial(0x1001), name("alice", "Corp")).Chain()[:2]...)
	carol := pkitest.WriteCerts(t, dir, "carol.pem", sub.Client(t, "carol", leafValid, serial(0x1002), name("carol", "Elsewhere")).Cert)
	cfgPath := pkitest.WriteFile(t, dir, "certgate.yaml", []byte(`
listen: 127.0.0.1:0
admin: {listen: "off"}
sites:
  - name: app
    hosts: [app.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem, intermediates: inter.pem}
      revocation: {crls: [root.crl, sub.crl]}
    locations:
      - {path: /, client_cert: require}
    mapping:
      required: true
      many_to_one:
        - {name: corp, match: {subject: {O: Corp}}, user: "{CN}", groups: [staff]}
  - name: partners
    hosts: [partners.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem, intermediates: inter.pem}
      issuer_list: {source: partner.pem}
      revocation: {mode: "off"}
    locations:
      - {path: /, client_cert: require}
  - name: public
    hosts: [www.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
`))
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, site, file string
		verdict, code    string
		reaches          bool
	}{
		{"mapped", "app", alice, "200", "", true},
		{"unmapped", "app", carol, "403.12", "SEC_E_LOGON_DENIED", false},
		{"issuer-list", "partners", alice, "200", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Verify(context.Background(), VerifyOptions{CertFile: tt.file, Config: cfg, Site: tt.site, At: at})
			if err != nil {
				t.Fatal(err)
			}
			out := text(t, r)
			checkVerdict(t, r, out, tt.verdict, tt.code)
			if r.IssuerList == nil || r.IssuerList.Reaches != tt.reaches || (r.IssuerList.BrowserVerdict == "403.7") == tt.reaches {
				t.Errorf("issuer list %+v, want reaches=%v and 403.7 for browsers otherwise", r.IssuerList, tt.reaches)
			}
			golden(t, "verify-site-"+tt.name+".txt", normalizeVerify(out, dir))
		})
	}
	if cfg.Sites[0].ClientAuth.Revocation.Mode != "online" {
		t.Errorf("the caller's config was modified: mode %q", cfg.Sites[0].ClientAuth.Revocation.Mode)
	}

	for _, tt := range []struct {
		name string
		o    VerifyOptions
	}{
		{"unknown site", VerifyOptions{CertFile: alice, Config: cfg, Site: "nope"}},
		{"no site chosen", VerifyOptions{CertFile: alice, Config: cfg}},
		{"site never asks", VerifyOptions{CertFile: alice, Config: cfg, Site: "public"}},
		{"explicit trust too", VerifyOptions{CertFile: alice, Config: cfg, Site: "app", Roots: []string{filepath.Join(dir, "roots.pem")}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if r, err := Verify(context.Background(), tt.o); err == nil {
				t.Fatalf("want an input error, got verdict %s", r.Verdict)
			}
		})
	}
}

// TestVerifyJSONMatchesText: --json carries the same verdict and chain.
func TestVerifyJSONMatchesText(t *testing.T) {
	f := newVerifyFixture(t)
	r, err := Verify(context.Background(), VerifyOptions{CertFile: f.revoked, Roots: []string{f.rootPEM}, CRLs: []string{f.rootCRL, f.revokedCRL}, At: at})
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Verdict string `json:"verdict"`
		Code    struct{ Decimal string }
		Chain   []struct {
			Label      string
			Revocation struct{ Status string }
		}
	}
	if err := json.Unmarshal(jsonOf(t, r), &back); err != nil {
		t.Fatal(err)
	}
	if back.Verdict != "403.13" || back.Code.Decimal != "2148081680" || len(back.Chain) != 3 ||
		back.Chain[0].Revocation.Status != "revoked" || back.Chain[2].Label != "root" {
		t.Errorf("JSON = %+v", back)
	}
}

// TestVerifyURLFetchTimeout: a distribution point or AIA URL that never
// answers costs --timeout and is reported as such; verify does not hang.
func TestVerifyURLFetchTimeout(t *testing.T) {
	dir := t.TempDir()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // answers nothing until the client gives up
	}))
	t.Cleanup(srv.Close)
	root := pkitest.NewRoot(t, "Slow Root", caValid)
	sub := root.Intermediate(t, "Slow Issuing CA", caValid)
	slowCDP := root.Client(t, "Slow CDP Leaf", leafValid, pki.WithCRLDistributionPoints(srv.URL+"/root.crl"))
	slowAIA := sub.Client(t, "Slow AIA Leaf", leafValid, pki.WithIssuingCertificateURL(srv.URL+"/sub.cer"))
	rootPEM := pkitest.WriteCerts(t, dir, "root.pem", root.Cert)
	tests := []struct {
		name, file, code string
	}{
		{"cdp", pkitest.WriteCerts(t, dir, "cdp.pem", slowCDP.Cert), "CRYPT_E_REVOCATION_OFFLINE"},
		{"aia", pkitest.WriteCerts(t, dir, "aia.pem", slowAIA.Cert), "CERT_E_CHAINING"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Verify(context.Background(), VerifyOptions{CertFile: tt.file, Roots: []string{rootPEM},
				URLFetch: true, At: at, Timeout: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			out := text(t, r)
			if r.Code == nil || r.Code.Name != tt.code {
				t.Fatalf("verdict %s %v, want %s\n%s", r.Verdict, r.Code, tt.code, out)
			}
			if !strings.Contains(string(out), "timeout after 100ms") {
				t.Errorf("the slow URL is not reported as a timeout:\n%s", out)
			}
		})
	}
}

// TestVerifyURLFetchCachedCDPDown: with a site whose CRLs are cached on
// disk, verify --urlfetch prints each fetch as it starts and ends, and
// when the CDP is down the next day it says so next to the cached answer
// instead of a bare "ok (cache)".
func TestVerifyURLFetchCachedCDPDown(t *testing.T) {
	dir := t.TempDir()
	srv := newPKIServer(t)
	root := pkitest.NewRoot(t, "Cache Root", caValid, serial(0x01))
	crlURL := srv.URL("/root.crl")
	leaf := root.Client(t, "Cache Leaf", leafValid, serial(0x1001), pki.WithCRLDistributionPoints(crlURL))
	srv.set("/root.crl", root.CRL(t, crlOpts(1)))
	pkitest.WriteLeaf(t, dir, "server", root.Localhost(t, leafValid))
	pkitest.WriteCerts(t, dir, "roots.pem", root.Cert)
	leafPEM := pkitest.WriteCerts(t, dir, "leaf.pem", leaf.Cert)
	cfg, err := config.Load(pkitest.WriteFile(t, dir, "certgate.yaml", []byte(`
listen: 127.0.0.1:0
admin: {listen: "off"}
sites:
  - name: app
    hosts: [app.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem}
      revocation: {mode: online, cache_dir: crl-cache}
    locations:
      - {path: /, client_cert: require}
`)))
	if err != nil {
		t.Fatal(err)
	}
	var prog bytes.Buffer
	r, err := Verify(context.Background(), VerifyOptions{CertFile: leafPEM, Config: cfg, Site: "app", URLFetch: true, At: at, Progress: &prog})
	if err != nil {
		t.Fatal(err)
	}
	checkVerdict(t, r, text(t, r), "200", "")
	if !strings.Contains(prog.String(), "fetch crl          "+crlURL+" ...") || !strings.Contains(prog.String(), crlURL+" ok (") {
		t.Errorf("progress does not show the CRL fetch starting and ending:\n%s", prog.String())
	}

	srv.srv.Close() // the CDP goes down; the cached CRL is still fresh
	prog.Reset()
	r, err = Verify(context.Background(), VerifyOptions{CertFile: leafPEM, Config: cfg, Site: "app", URLFetch: true, At: at, Progress: &prog})
	if err != nil {
		t.Fatal(err)
	}
	out := text(t, r)
	checkVerdict(t, r, out, "200", "")
	outText := string(out)
	var kinds []string
	for _, u := range r.Chain[0].URLs {
		if u.URL != crlURL {
			continue
		}
		for _, f := range u.Fetches {
			kinds = append(kinds, fmt.Sprintf("%s ok=%v", f.Kind, f.OK))
		}
	}
	if strings.Join(kinds, ", ") != "cache ok=true, reachability ok=false" {
		t.Errorf("fetches of %s: %v, want the cache answer and a failed reachability check\n%s", crlURL, kinds, outText)
	}
	if !strings.Contains(outText, "unreachable now") || !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, crlURL) }) {
		t.Errorf("report does not say the CDP is down:\n%s", outText)
	}
	if !strings.Contains(prog.String(), "fetch reachability") {
		t.Errorf("progress does not show the reachability fetch:\n%s", prog.String())
	}
}
