package revocation

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

func TestOCSP(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, f *fixture, o *ocspResponder, leaf *x509.Certificate)
		want    Status
		wantErr error
		wantMsg string
	}{
		{
			name:  "good",
			setup: func(t *testing.T, f *fixture, o *ocspResponder, leaf *x509.Certificate) { o.set(leaf, ocsp.Good) },
			want:  Good, wantMsg: "good according to OCSP",
		},
		{
			name:  "revoked",
			setup: func(t *testing.T, f *fixture, o *ocspResponder, leaf *x509.Certificate) { o.set(leaf, ocsp.Revoked) },
			want:  Revoked, wantErr: ErrRevoked, wantMsg: "keyCompromise",
		},
		{
			name:  "unknown",
			setup: func(t *testing.T, f *fixture, o *ocspResponder, leaf *x509.Certificate) {},
			want:  Unknown, wantErr: ErrOCSPUnknown,
		},
		{
			name: "malformed",
			setup: func(t *testing.T, f *fixture, o *ocspResponder, leaf *x509.Certificate) {
				o.raw = []byte("\x30\x03garbage")
			},
			want: Unknown, wantErr: ErrOCSP,
		},
		{
			name: "tryLater",
			setup: func(t *testing.T, f *fixture, o *ocspResponder, leaf *x509.Certificate) {
				o.raw = ocsp.TryLaterErrorResponse
			},
			want: Unknown, wantErr: ErrOCSP, wantMsg: "try later",
		},
		{
			name: "signed by another key",
			setup: func(t *testing.T, f *fixture, o *ocspResponder, leaf *x509.Certificate) {
				o.set(leaf, ocsp.Good)
				o.signerKey = pkitest.Key(t, "")
			},
			want: Unknown, wantErr: ErrOCSP, wantMsg: "not signed by",
		},
		{
			name: "delegated responder with OCSPSigning",
			setup: func(t *testing.T, f *fixture, o *ocspResponder, leaf *x509.Certificate) {
				o.set(leaf, ocsp.Good)
				r := f.sub.Client(t, "OCSP responder", pki.WithExtKeyUsage(x509.ExtKeyUsageOCSPSigning))
				o.signer, o.signerKey = r.Cert, r.Key
			},
			want: Good,
		},
		{
			name: "delegated responder without OCSPSigning",
			setup: func(t *testing.T, f *fixture, o *ocspResponder, leaf *x509.Certificate) {
				o.set(leaf, ocsp.Good)
				r := f.sub.Client(t, "another client") // clientAuth only
				o.signer, o.signerKey = r.Cert, r.Key
			},
			want: Unknown, wantErr: ErrOCSP, wantMsg: "OCSPSigning",
		},
		{
			name: "response about another issuer's certificate",
			setup: func(t *testing.T, f *fixture, o *ocspResponder, leaf *x509.Certificate) {
				o.set(leaf, ocsp.Good)
				o.certIDIssuer = f.root.Intermediate(t, "Other CA").Cert
			},
			want: Unknown, wantErr: ErrOCSP, wantMsg: "another issuer",
		},
		{
			name: "expired response",
			setup: func(t *testing.T, f *fixture, o *ocspResponder, leaf *x509.Certificate) {
				o.set(leaf, ocsp.Good)
				o.thisUpd, o.nextUpd = f.at.Add(-48*time.Hour), f.at.Add(-24*time.Hour)
			},
			want: Unknown, wantErr: ErrOCSP, wantMsg: "has passed",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			o := newOCSP(t, f.sub, f.at)
			leaf := f.sub.Client(t, "dave", pki.WithOCSPServer(o.URL())).Cert
			tc.setup(t, f, o, leaf)
			e, _ := newEngine(t, f.opts())
			res := e.Check(context.Background(), leaf, f.sub.Cert, f.at)
			t.Logf("%v: %s%s", res.Status, res.Reason, attemptsString(res.Attempts))
			if res.Status != tc.want {
				t.Fatalf("Status = %v, want %v", res.Status, tc.want)
			}
			if tc.wantErr != nil && !errors.Is(res.Err, tc.wantErr) {
				t.Errorf("Err = %v, want %v", res.Err, tc.wantErr)
			}
			if !strings.Contains(res.Reason, tc.wantMsg) {
				t.Errorf("Reason = %q, want it to contain %q", res.Reason, tc.wantMsg)
			}
			if !strings.Contains(res.Reason, o.URL()) {
				t.Errorf("Reason = %q, want it to name the responder", res.Reason)
			}
			if o.methods[0] != "GET" {
				t.Errorf("request method %s, want GET for a short request", o.methods[0])
			}
			if tc.want != Unknown {
				// A current answer is cached: no second request.
				e.Check(context.Background(), leaf, f.sub.Cert, f.at)
				if o.count() != 1 {
					t.Errorf("responder asked %d times, want 1", o.count())
				}
			}
		})
	}
}

// TestOCSPPost: a request that would make the GET URL longer than 255
// bytes goes as POST (RFC 5019).
func TestOCSPPost(t *testing.T) {
	f := newFixture(t)
	o := newOCSP(t, f.sub, f.at)
	long := o.srv.URL + "/" + strings.Repeat("p", 220)
	leaf := f.sub.Client(t, "erin", pki.WithOCSPServer(long)).Cert
	o.set(leaf, ocsp.Good)
	e, _ := newEngine(t, f.opts())
	res := e.Check(context.Background(), leaf, f.sub.Cert, f.at)
	if res.Status != Good {
		t.Fatalf("Status = %v (%s)", res.Status, res.Reason)
	}
	if len(o.methods) != 1 || o.methods[0] != "POST" {
		t.Errorf("methods = %v, want one POST", o.methods)
	}
}

// TestPreferFallback: prefer decides the order; the other source answers
// when the first cannot, and both attempts are recorded.
func TestPreferFallback(t *testing.T) {
	tests := []struct {
		name      string
		prefer    string
		crlUp     bool
		ocspUp    bool
		want      Status
		wantKinds []string
	}{
		{"crl preferred and up", PreferCRL, true, true, Good, []string{"crl"}},
		{"crl preferred, down, ocsp fallback", PreferCRL, false, true, Good, []string{"crl", "ocsp"}},
		{"ocsp preferred and up", PreferOCSP, true, true, Good, []string{"ocsp"}},
		{"ocsp preferred, down, crl fallback", PreferOCSP, true, false, Good, []string{"ocsp", "crl"}},
		{"both down", PreferCRL, false, false, Unknown, []string{"crl", "ocsp"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			o := newOCSP(t, f.sub, f.at)
			ocspURL := o.URL()
			if !tc.ocspUp {
				ocspURL = deadURL(t, "/ocsp")
			}
			leaf := f.sub.Client(t, "frank", pki.WithOCSPServer(ocspURL), pki.WithCRLDistributionPoints(f.cdp.URL("/sub.crl"))).Cert
			o.set(leaf, ocsp.Good)
			if tc.crlUp {
				f.cdp.set("/sub.crl", f.sub.CRL(t, crlAt(f.at, 1)))
			}
			opts := f.opts()
			opts.Prefer = tc.prefer
			e, _ := newEngine(t, opts)
			res := e.Check(context.Background(), leaf, f.sub.Cert, f.at)
			if res.Status != tc.want {
				t.Fatalf("Status = %v (%s), want %v", res.Status, res.Reason, tc.want)
			}
			var kinds []string
			for _, a := range res.Attempts {
				kinds = append(kinds, a.Kind)
			}
			if strings.Join(kinds, ",") != strings.Join(tc.wantKinds, ",") {
				t.Errorf("attempt kinds = %v, want %v%s", kinds, tc.wantKinds, attemptsString(res.Attempts))
			}
		})
	}
}

// TestOCSPBackgroundRefresh: a cached OCSP answer is refreshed at 80% of
// its validity, off the request path.
func TestOCSPBackgroundRefresh(t *testing.T) {
	f := newFixture(t)
	o := newOCSP(t, f.sub, f.at) // valid at-1h .. at+1h
	leaf := f.sub.Client(t, "gina", pki.WithOCSPServer(o.URL())).Cert
	o.set(leaf, ocsp.Good)
	e, _ := newEngine(t, f.opts())
	if res := e.Check(context.Background(), leaf, f.sub.Cert, f.at); res.Status != Good {
		t.Fatalf("first check: %v (%s)", res.Status, res.Reason)
	}
	o.set(leaf, ocsp.Revoked)
	o.mu.Lock()
	o.thisUpd, o.nextUpd = f.at.Add(30*time.Minute), f.at.Add(3*time.Hour)
	o.mu.Unlock()
	now := f.at.Add(40 * time.Minute) // past 80% of at-1h .. at+1h
	f.clk.Set(now)
	if n := e.refreshDue(context.Background()); n != 1 {
		t.Fatalf("refreshDue started %d refreshes, want 1", n)
	}
	res := e.Check(context.Background(), leaf, f.sub.Cert, now)
	if res.Status != Revoked || res.Attempts[0].Kind != "cache" || o.count() != 2 {
		t.Errorf("after refresh: %v from %q, %d requests; want revoked from the cache after 2 requests", res.Status, res.Attempts[0].Kind, o.count())
	}
}
