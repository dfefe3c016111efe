package revocation

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// clock is a settable Engine clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// cdpServer is an httptest CRL distribution point: it serves bodies by
// path, counts requests per path and records the raw request paths.
type cdpServer struct {
	srv      *httptest.Server
	mu       sync.Mutex
	bodies   map[string][]byte
	handlers map[string]http.HandlerFunc
	hits     map[string]int
	rawPaths []string
}

func newCDP(t *testing.T) *cdpServer {
	t.Helper()
	c := &cdpServer{bodies: map[string][]byte{}, handlers: map[string]http.HandlerFunc{}, hits: map[string]int{}}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *cdpServer) serve(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.hits[r.URL.Path]++
	c.rawPaths = append(c.rawPaths, r.URL.EscapedPath())
	h := c.handlers[r.URL.Path]
	body, ok := c.bodies[r.URL.Path]
	c.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Write(body)
}

func (c *cdpServer) URL(path string) string { return c.srv.URL + path }

func (c *cdpServer) set(path string, body []byte) {
	c.mu.Lock()
	c.bodies[path] = body
	c.mu.Unlock()
}

func (c *cdpServer) handle(path string, h http.HandlerFunc) {
	c.mu.Lock()
	c.handlers[path] = h
	c.mu.Unlock()
}

func (c *cdpServer) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits[path]
}

func (c *cdpServer) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.hits {
		n += v
	}
	return n
}

// deadURL returns an http URL on 127.0.0.1 where nothing listens.
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

// ocspResponder answers OCSP requests (GET and POST) for one issuer from a
// table of statuses by serial; signer and signerKey sign the responses.
type ocspResponder struct {
	srv       *httptest.Server
	mu        sync.Mutex
	issuer    *x509.Certificate
	signer    *x509.Certificate
	signerKey crypto.Signer
	// certIDIssuer, when set, is the issuer named in the response's CertID
	// (a response about another CA's certificate).
	certIDIssuer *x509.Certificate
	status       map[string]int // serial (decimal) -> ocsp.Good/Revoked/Unknown
	raw          []byte         // when set, served as is
	hits         int
	methods      []string
	thisUpd      time.Time
	nextUpd      time.Time
}

func newOCSP(t *testing.T, ca *pkitest.CA, at time.Time) *ocspResponder {
	t.Helper()
	o := &ocspResponder{issuer: ca.Cert, signer: ca.Cert, signerKey: ca.Key, status: map[string]int{},
		thisUpd: at.Add(-time.Hour), nextUpd: at.Add(time.Hour)}
	o.srv = httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *ocspResponder) serve(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.hits++
	o.methods = append(o.methods, r.Method)
	if o.raw != nil {
		w.Write(o.raw)
		return
	}
	var der []byte
	if r.Method == http.MethodPost {
		der, _ = io.ReadAll(r.Body)
	} else {
		var err error
		der, err = base64.StdEncoding.DecodeString(strings.TrimPrefix(r.URL.Path, "/ocsp/"))
		if err != nil {
			w.Write(ocsp.MalformedRequestErrorResponse)
			return
		}
	}
	req, err := ocsp.ParseRequest(der)
	if err != nil {
		w.Write(ocsp.MalformedRequestErrorResponse)
		return
	}
	st, ok := o.status[req.SerialNumber.String()]
	if !ok {
		st = ocsp.Unknown
	}
	tmpl := ocsp.Response{Status: st, SerialNumber: req.SerialNumber, ThisUpdate: o.thisUpd, NextUpdate: o.nextUpd,
		RevokedAt: o.thisUpd, RevocationReason: ocsp.KeyCompromise}
	if !bytes.Equal(o.signer.Raw, o.issuer.Raw) {
		tmpl.Certificate = o.signer
	}
	idIssuer := o.issuer
	if o.certIDIssuer != nil {
		idIssuer = o.certIDIssuer
	}
	resp, err := ocsp.CreateResponse(idIssuer, o.signer, tmpl, o.signerKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Write(resp)
}

func (o *ocspResponder) URL() string { return o.srv.URL + "/ocsp" }

func (o *ocspResponder) set(c *x509.Certificate, status int) {
	o.mu.Lock()
	o.status[c.SerialNumber.String()] = status
	o.mu.Unlock()
}

func (o *ocspResponder) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.hits
}

// newEngine builds an Engine closed at the end of the test. Its log is
// returned, and printed if the test fails.
func newEngine(t *testing.T, o Options) (*Engine, *logBuffer) {
	t.Helper()
	lb := &logBuffer{}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		e.Close()
		if t.Failed() {
			t.Logf("engine log:\n%s", lb.String())
		}
	})
	return e, lb
}

// logBuffer collects log lines; safe for the Engine's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// crlAt is a CRL valid around at (thisUpdate at-1h, nextUpdate at+1h).
func crlAt(at time.Time, number int64) pki.CRLOptions {
	return pki.CRLOptions{Number: number, ThisUpdate: at.Add(-time.Hour), NextUpdate: at.Add(time.Hour)}
}

// attemptsString renders attempts for failure messages.
func attemptsString(as []Attempt) string {
	var b strings.Builder
	for _, a := range as {
		b.WriteString("\n  ")
		b.WriteString(a.Kind + " " + a.Source + ": " + a.Detail)
	}
	return b.String()
}
