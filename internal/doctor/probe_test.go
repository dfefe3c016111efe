package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/substatus"
)

// The server side must verify against the real clock, so its PKI has a
// fixed window that spans any plausible test date (fixed, so goldens that
// show it stay stable).
var serverValid = pki.WithValidity(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))

type probePKI struct {
	rootA, rootB, rootC *pkitest.CA
	serverCA            *pkitest.CA
	server              tls.Certificate
	clientA, clientC    *pki.Leaf
}

func newProbePKI(t *testing.T) *probePKI {
	p := &probePKI{
		rootA:    pkitest.NewRoot(t, "Test Root A", caValid),
		rootB:    pkitest.NewRoot(t, "Test Root B", caValid),
		rootC:    pkitest.NewRoot(t, "Test Root C", caValid),
		serverCA: pkitest.NewRoot(t, "Test Server CA", serverValid),
	}
	p.server = p.serverCA.Localhost(t, serverValid).TLSCertificate()
	p.clientA = p.rootA.Client(t, "Client A", leafValid)
	p.clientC = p.rootC.Client(t, "Client C", leafValid)
	return p
}

// handler answers like a certificate-checking server: 200 with a client
// certificate, certgate-style problem+json (403.7) without one, and an
// IIS-style 403.16 page on /iis.
func handler(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/iis" {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<html><head><title>IIS 10.0 Detailed Error - 403.16 - Forbidden</title></head>
<body><h3>HTTP Error 403.16 - Forbidden</h3><table><tr><th>Error Code</th><td>0x800b0109</td></tr></table></body></html>`)
		return
	}
	if len(r.TLS.PeerCertificates) == 0 {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"title":     substatus.Must(substatus.CertRequired).Title,
			"status":    403,
			"substatus": substatus.CertRequired.String(),
			"code":      uint32(substatus.SecENoCredentials),
		})
		return
	}
	fmt.Fprintf(w, "hello %s\n", r.TLS.PeerCertificates[0].Subject.CommonName)
}

// startServer starts a plain Go TLS server on 127.0.0.1 that requests (never
// requires or verifies) a client certificate and sends names of cas.
func startServer(t *testing.T, p *probePKI, auth tls.ClientAuthType, cas ...*x509.Certificate) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(handler))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{p.server}, ClientAuth: auth}
	if len(cas) > 0 {
		srv.TLS.ClientCAs = pkitest.Pool(cas...)
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestProbe(t *testing.T) {
	p := newProbePKI(t)
	twoNames := startServer(t, p, tls.RequestClientCert, p.rootA.Cert, p.rootB.Cert)
	noNames := startServer(t, p, tls.RequestClientCert)
	noRequest := startServer(t, p, tls.NoClientCert)
	serverRoots := p.serverCA.Pool()
	clientA, clientC := p.clientA.TLSCertificate(), p.clientC.TLSCertificate()

	tests := []struct {
		name      string
		url       string
		opts      ProbeOptions
		requested bool
		names     int
		tls       string
		status    int    // 0: no request sent
		sub       string // sub-status found in the answer
		rejected  bool
		note      string // substring of ClientCertNote
		golden    bool
	}{
		{name: "two-names", url: twoNames.URL + "/", opts: ProbeOptions{RootCAs: serverRoots}, requested: true, names: 2, tls: "TLS 1.3", golden: true},
		{name: "no-names", url: noNames.URL + "/", opts: ProbeOptions{RootCAs: serverRoots}, requested: true, names: 0, tls: "TLS 1.3", golden: true},
		{name: "not-requested", url: noRequest.URL + "/", opts: ProbeOptions{RootCAs: serverRoots}, tls: "TLS 1.3"},
		{name: "tls12", url: twoNames.URL + "/", opts: ProbeOptions{RootCAs: serverRoots, MaxVersion: tls.VersionTLS12}, requested: true, names: 2, tls: "TLS 1.2", golden: true},
		{name: "client-cert", url: twoNames.URL + "/app", opts: ProbeOptions{RootCAs: serverRoots, ClientCert: &clientA}, requested: true, names: 2, tls: "TLS 1.3", status: 200, golden: true},
		{name: "get-without-cert", url: twoNames.URL + "/app", opts: ProbeOptions{RootCAs: serverRoots, Get: true}, requested: true, names: 2, tls: "TLS 1.3", status: 403, sub: "403.7", rejected: true, golden: true},
		{name: "iis-page", url: twoNames.URL + "/iis", opts: ProbeOptions{RootCAs: serverRoots, ClientCert: &clientA}, requested: true, names: 2, tls: "TLS 1.3", status: 403, sub: "403.16", rejected: true, golden: true},
		{name: "unlisted-client-cert", url: twoNames.URL + "/", opts: ProbeOptions{RootCAs: serverRoots, ClientCert: &clientC}, requested: true, names: 2, tls: "TLS 1.3", status: 200, note: "a browser would not offer it"},
		{name: "untrusted-server", url: twoNames.URL + "/", opts: ProbeOptions{RootCAs: p.rootA.Pool(), ClientCert: &clientA}, requested: true, names: 2, tls: "TLS 1.3", rejected: true, note: "not sent", golden: true},
		{name: "insecure", url: twoNames.URL + "/", opts: ProbeOptions{Insecure: true, ClientCert: &clientA}, requested: true, names: 2, tls: "TLS 1.3", status: 200},
		{name: "servername", url: twoNames.URL + "/", opts: ProbeOptions{RootCAs: serverRoots, ServerName: "localhost", ClientCert: &clientA}, requested: true, names: 2, tls: "TLS 1.3", status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.URL = tt.url
			r, err := Probe(context.Background(), o)
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			if r.CertificateRequested != tt.requested || r.CACount != tt.names || len(r.CANames) != tt.names {
				t.Errorf("requested=%v names=%d, want %v and %d", r.CertificateRequested, r.CACount, tt.requested, tt.names)
			}
			if r.TLSVersion != tt.tls {
				t.Errorf("TLS version %q, want %q", r.TLSVersion, tt.tls)
			}
			if tt.names == 2 {
				if r.CANames[0].DN != "CN=Test Root A" || r.CANames[1].DN != "CN=Test Root B" {
					t.Errorf("names = %+v, want Root A then Root B", r.CANames)
				}
				want := 2*2 + len(p.rootA.Cert.RawSubject) + len(p.rootB.Cert.RawSubject)
				if r.CABytes != want {
					t.Errorf("encoded size %d, want %d", r.CABytes, want)
				}
			}
			switch {
			case tt.status == 0 && r.Response != nil:
				t.Errorf("a request was sent: %+v", r.Response)
			case tt.status != 0 && (r.Response == nil || r.Response.Status != tt.status):
				t.Errorf("response %+v, want status %d", r.Response, tt.status)
			case tt.sub != "" && r.Response.SubStatus != tt.sub:
				t.Errorf("sub-status %q, want %q", r.Response.SubStatus, tt.sub)
			}
			if r.Rejected() != tt.rejected {
				t.Errorf("Rejected() = %v, want %v", r.Rejected(), tt.rejected)
			}
			if !strings.Contains(r.ClientCertNote, tt.note) {
				t.Errorf("client cert note %q, want it to mention %q", r.ClientCertNote, tt.note)
			}
			if tt.golden {
				golden(t, "probe-"+tt.name+".txt", normalize(text(t, r), ""))
				golden(t, "probe-"+tt.name+".json", normalize(jsonOf(t, r), ""))
			}
		})
	}
}

func TestProbeAnswerParsing(t *testing.T) {
	p := newProbePKI(t)
	srv := startServer(t, p, tls.RequestClientCert, p.rootA.Cert)
	clientA := p.clientA.TLSCertificate()
	r, err := Probe(context.Background(), ProbeOptions{URL: srv.URL + "/iis", RootCAs: p.serverCA.Pool(), ClientCert: &clientA})
	if err != nil {
		t.Fatal(err)
	}
	if r.Response.Code != "CERT_E_UNTRUSTEDROOT" || r.Response.From != "html" {
		t.Errorf("IIS page: code %q from %q, want CERT_E_UNTRUSTEDROOT from html", r.Response.Code, r.Response.From)
	}
	for _, tt := range []struct {
		name, ctype, body string
		header            http.Header
		sub, code         string
	}{
		{"problem+json numbers", "application/problem+json", `{"substatus": 16, "code": 2148204809}`, nil, "403.16", "CERT_E_UNTRUSTEDROOT"},
		{"problem+json strings", "application/problem+json", `{"substatus": "403.13", "code": "0x80092013"}`, nil, "403.13", "CRYPT_E_REVOCATION_OFFLINE"},
		{"header only", "text/plain", "forbidden", http.Header{"X-Certgate-Substatus": {"403.17"}, "X-Certgate-Code": {"0x800B0101"}}, "403.17", "CERT_E_EXPIRED"},
		{"plain 403", "text/html", "<title>403 - Forbidden: Access is denied.</title>", nil, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {tt.ctype}}
			for k, v := range tt.header {
				h[k] = v
			}
			pr := &ProbeResponse{Status: 403}
			parseAnswer(pr, h, []byte(tt.body))
			if pr.SubStatus != tt.sub || pr.Code != tt.code {
				t.Errorf("parsed sub %q code %q, want %q %q", pr.SubStatus, pr.Code, tt.sub, tt.code)
			}
		})
	}
}

// A probe against a server that never answers ends with an error after
// the timeout instead of hanging, in every phase.
func TestProbeTimeouts(t *testing.T) {
	p := newProbePKI(t)
	t.Run("handshake", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close() // hold the connection open, say nothing
			}
		}()
		_, err = Probe(context.Background(), ProbeOptions{URL: "https://" + ln.Addr().String() + "/", Timeout: 200 * time.Millisecond})
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Probe against a silent server: %v, want a deadline error", err)
		}
	})
	t.Run("response", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{p.server}, ClientAuth: tls.RequestClientCert}
		srv.StartTLS()
		defer srv.Close()
		defer close(release)
		clientA := p.clientA.TLSCertificate()
		r, err := Probe(context.Background(), ProbeOptions{URL: srv.URL + "/", RootCAs: p.serverCA.Pool(), ClientCert: &clientA, Timeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if r.Response == nil || !strings.Contains(r.Response.Error, "timeout") || !r.Rejected() {
			t.Fatalf("response = %+v, want a timeout error", r.Response)
		}
	})
	t.Run("refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if _, err := Probe(context.Background(), ProbeOptions{URL: "https://" + addr + "/", Timeout: time.Second}); err == nil {
			t.Fatal("Probe of a closed port succeeded")
		}
	})
	t.Run("bad url", func(t *testing.T) {
		for _, u := range []string{"http://127.0.0.1/", "127.0.0.1:443", "https:///x"} {
			if _, err := Probe(context.Background(), ProbeOptions{URL: u}); !errors.Is(err, ErrURL) {
				t.Errorf("Probe(%q) error = %v, want ErrURL", u, err)
			}
		}
	})
}

// probe --store: select runs against exactly the names and schemes the
// server sent.
func TestProbeStore(t *testing.T) {
	p := newProbePKI(t)
	srv := startServer(t, p, tls.RequestClientCert, p.rootA.Cert)
	r, err := Probe(context.Background(), ProbeOptions{URL: srv.URL + "/", RootCAs: p.serverCA.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	store := &Store{Certs: []StoreCert{
		{Cert: Cert{Certificate: p.clientA.Cert, Source: "a.pem"}, Key: p.clientA.Key},
		{Cert: Cert{Certificate: p.clientC.Cert, Source: "c.pem"}, Key: p.clientC.Key},
	}}
	sel, err := Select(store, r.SelectOptions(BrowserChromium, at))
	if err != nil {
		t.Fatal(err)
	}
	if sel.Offered != 1 || !sel.Candidates[0].Offered || sel.Candidates[1].Offered || sel.TLSVersion != "TLS 1.3" {
		t.Fatalf("select over probed names: %s", text(t, sel))
	}
	r.Select = sel
	golden(t, "probe-store.txt", normalize(text(t, r), ""))
}

// TestParseAnswerStatusOnly: certgate's problem JSON for a status without
// sub-status carries "substatus": "421"; probe must print 421 (which
// explain knows), not 421.421.
func TestParseAnswerStatusOnly(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   string
	}{
		{421, `{"status":421,"substatus":"421"}`, "421"},
		{403, `{"status":403,"substatus":"403.16"}`, "403.16"},
		{403, `{"status":403,"substatus":"16"}`, "403.16"},
		{502, `{"status":502,"substatus":502}`, "502"},
	} {
		pr := &ProbeResponse{Status: tc.status}
		parseAnswer(pr, http.Header{"Content-Type": {"application/problem+json"}}, []byte(tc.body))
		if pr.SubStatus != tc.want {
			t.Errorf("%s: sub-status %q, want %q", tc.body, pr.SubStatus, tc.want)
		}
		if _, err := Explain(pr.SubStatus, ExplainOptions{}); err != nil {
			t.Errorf("explain %s: %v", pr.SubStatus, err)
		}
	}
}
