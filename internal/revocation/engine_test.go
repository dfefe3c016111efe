package revocation

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// fixture is root -> sub -> leaf with the CRL distribution points on an
// httptest server: sub's CDP is /root.crl (root's CRL), a leaf's is
// /sub.crl by default.
type fixture struct {
	at   time.Time
	clk  *clock
	cdp  *cdpServer
	root *pkitest.CA
	sub  *pkitest.CA
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	at := time.Now().Truncate(time.Second)
	f := &fixture{at: at, clk: newClock(at), cdp: newCDP(t)}
	f.root = pkitest.NewRoot(t, "Test Root")
	f.sub = f.root.Intermediate(t, "Test Sub CA", pki.WithCRLDistributionPoints(f.cdp.URL("/root.crl")))
	return f
}

func (f *fixture) leaf(t *testing.T, cdps ...string) *x509.Certificate {
	t.Helper()
	if cdps == nil {
		cdps = []string{f.cdp.URL("/sub.crl")}
	}
	return f.sub.Client(t, "alice", pki.WithCRLDistributionPoints(cdps...)).Cert
}

func (f *fixture) opts() Options {
	return Options{Now: f.clk.Now, Timeout: 2 * time.Second}
}

// freshestExt is a Freshest CRL extension (2.5.29.46) naming urls, encoded
// like a CRL distribution points extension.
func freshestExt(t *testing.T, urls ...string) pkix.Extension {
	t.Helper()
	type dpName struct {
		Full []asn1.RawValue `asn1:"optional,tag:0"`
	}
	type dp struct {
		Name dpName `asn1:"optional,tag:0"`
	}
	var dps []dp
	for _, u := range urls {
		dps = append(dps, dp{Name: dpName{Full: []asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(u)}}}})
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 46}, Value: mustMarshal(t, dps)}
}

func TestCheckCRL(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(t *testing.T, f *fixture) (cert, issuer *x509.Certificate)
		want      Status
		wantErr   error
		wantInMsg string
		wantCode  int
	}{
		{
			name: "good leaf",
			setup: func(t *testing.T, f *fixture) (*x509.Certificate, *x509.Certificate) {
				f.cdp.set("/sub.crl", f.sub.CRL(t, crlAt(f.at, 1)))
				return f.leaf(t), f.sub.Cert
			},
			want: Good, wantInMsg: "/sub.crl",
		},
		{
			name: "revoked leaf",
			setup: func(t *testing.T, f *fixture) (*x509.Certificate, *x509.Certificate) {
				leaf := f.leaf(t)
				f.cdp.set("/sub.crl", f.sub.CRLEntries(t, crlAt(f.at, 1), pki.RevokedCert(leaf, f.at.Add(-time.Minute), pki.ReasonKeyCompromise)))
				return leaf, f.sub.Cert
			},
			want: Revoked, wantErr: ErrRevoked, wantInMsg: "keyCompromise", wantCode: 1,
		},
		{
			name: "revoked intermediate",
			setup: func(t *testing.T, f *fixture) (*x509.Certificate, *x509.Certificate) {
				f.cdp.set("/root.crl", f.root.CRLEntries(t, crlAt(f.at, 1), pki.RevokedCert(f.sub.Cert, f.at.Add(-time.Minute), pki.ReasonCACompromise)))
				return f.sub.Cert, f.root.Cert
			},
			want: Revoked, wantErr: ErrRevoked, wantInMsg: "cACompromise", wantCode: 2,
		},
		{
			name: "expired CRL",
			setup: func(t *testing.T, f *fixture) (*x509.Certificate, *x509.Certificate) {
				f.cdp.set("/sub.crl", f.sub.CRL(t, pki.CRLOptions{ThisUpdate: f.at.Add(-48 * time.Hour), NextUpdate: f.at.Add(-24 * time.Hour)}))
				return f.leaf(t), f.sub.Cert
			},
			want: Unknown, wantErr: ErrCRLExpired, wantInMsg: "/sub.crl",
		},
		{
			name: "CRL not yet valid",
			setup: func(t *testing.T, f *fixture) (*x509.Certificate, *x509.Certificate) {
				f.cdp.set("/sub.crl", f.sub.CRL(t, pki.CRLOptions{ThisUpdate: f.at.Add(time.Hour), NextUpdate: f.at.Add(48 * time.Hour)}))
				return f.leaf(t), f.sub.Cert
			},
			want: Unknown, wantErr: ErrCRLNotYetValid,
		},
		{
			name: "CRL signed by the wrong key",
			setup: func(t *testing.T, f *fixture) (*x509.Certificate, *x509.Certificate) {
				o := crlAt(f.at, 1)
				o.SignWith = pkitest.Key(t, "")
				f.cdp.set("/sub.crl", f.sub.CRL(t, o))
				return f.leaf(t), f.sub.Cert
			},
			want: Unknown, wantErr: ErrCRLSignature, wantInMsg: "/sub.crl",
		},
		{
			name: "CRL for the wrong issuer",
			setup: func(t *testing.T, f *fixture) (*x509.Certificate, *x509.Certificate) {
				other := f.root.Intermediate(t, "Other Sub CA")
				f.cdp.set("/sub.crl", other.CRL(t, crlAt(f.at, 1)))
				return f.leaf(t), f.sub.Cert
			},
			want: Unknown, wantErr: ErrCRLIssuer, wantInMsg: "Other Sub CA",
		},
		{
			name: "garbage instead of a CRL",
			setup: func(t *testing.T, f *fixture) (*x509.Certificate, *x509.Certificate) {
				f.cdp.set("/sub.crl", []byte("<html>maintenance</html>"))
				return f.leaf(t), f.sub.Cert
			},
			want: Unknown, wantErr: ErrMalformedCRL,
		},
		{
			name: "distribution point answers 404",
			setup: func(t *testing.T, f *fixture) (*x509.Certificate, *x509.Certificate) {
				return f.leaf(t), f.sub.Cert
			},
			want: Unknown, wantErr: ErrHTTPStatus, wantInMsg: "404",
		},
		{
			name: "unknown critical CRL extension",
			setup: func(t *testing.T, f *fixture) (*x509.Certificate, *x509.Certificate) {
				o := crlAt(f.at, 1)
				o.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, Critical: true, Value: []byte{5, 0}}}
				f.cdp.set("/sub.crl", f.sub.CRL(t, o))
				return f.leaf(t), f.sub.Cert
			},
			want: Unknown, wantErr: ErrCriticalExtension, wantInMsg: "1.3.6.1.4.1.99999.1",
		},
		{
			name: "delta CRL at the base distribution point",
			setup: func(t *testing.T, f *fixture) (*x509.Certificate, *x509.Certificate) {
				o := crlAt(f.at, 2)
				o.Delta, o.BaseNumber = true, 1
				f.cdp.set("/sub.crl", f.sub.CRL(t, o))
				return f.leaf(t), f.sub.Cert
			},
			want: Unknown, wantErr: ErrDeltaCRL,
		},
		{
			name: "IDP: only CA certificates, checking a leaf",
			setup: func(t *testing.T, f *fixture) (*x509.Certificate, *x509.Certificate) {
				o := crlAt(f.at, 1)
				o.IssuingDistributionPoint = &pki.IssuingDistributionPoint{URLs: []string{f.cdp.URL("/sub.crl")}, OnlyContainsCACerts: true}
				f.cdp.set("/sub.crl", f.sub.CRL(t, o))
				return f.leaf(t), f.sub.Cert
			},
			want: Unknown, wantErr: ErrCRLScope, wantInMsg: "only covers CA certificates",
		},
		{
			name: "IDP matching the distribution point",
			setup: func(t *testing.T, f *fixture) (*x509.Certificate, *x509.Certificate) {
				o := crlAt(f.at, 1)
				o.IssuingDistributionPoint = &pki.IssuingDistributionPoint{URLs: []string{f.cdp.URL("/sub.crl")}, OnlyContainsUserCerts: true}
				f.cdp.set("/sub.crl", f.sub.CRL(t, o))
				return f.leaf(t), f.sub.Cert
			},
			want: Good,
		},
		{
			name: "IDP naming another distribution point",
			setup: func(t *testing.T, f *fixture) (*x509.Certificate, *x509.Certificate) {
				o := crlAt(f.at, 1)
				o.IssuingDistributionPoint = &pki.IssuingDistributionPoint{URLs: []string{f.cdp.URL("/partition2.crl")}}
				f.cdp.set("/sub.crl", f.sub.CRL(t, o))
				return f.leaf(t), f.sub.Cert
			},
			want: Unknown, wantErr: ErrCRLScope, wantInMsg: "partition2",
		},
		{
			name: "ldap distribution point only",
			setup: func(t *testing.T, f *fixture) (*x509.Certificate, *x509.Certificate) {
				return f.leaf(t, "ldap:///CN=Test%20Sub%20CA,CN=CDP?certificateRevocationList?base"), f.sub.Cert
			},
			want: Unknown, wantErr: ErrUnsupportedScheme, wantInMsg: "unsupported url scheme ldap",
		},
		{
			name: "ldap then http distribution points",
			setup: func(t *testing.T, f *fixture) (*x509.Certificate, *x509.Certificate) {
				f.cdp.set("/sub.crl", f.sub.CRL(t, crlAt(f.at, 1)))
				return f.leaf(t, "ldap://ldap.example/cn=crl", f.cdp.URL("/sub.crl")), f.sub.Cert
			},
			want: Good,
		},
		{
			name: "first mirror down, second up",
			setup: func(t *testing.T, f *fixture) (*x509.Certificate, *x509.Certificate) {
				f.cdp.set("/sub.crl", f.sub.CRL(t, crlAt(f.at, 1)))
				return f.leaf(t, deadURL(t, "/sub.crl"), f.cdp.URL("/sub.crl")), f.sub.Cert
			},
			want: Good,
		},
		{
			name: "no distribution point, no OCSP, no local CRL",
			setup: func(t *testing.T, f *fixture) (*x509.Certificate, *x509.Certificate) {
				return f.sub.Client(t, "no-cdp").Cert, f.sub.Cert
			},
			want: Unknown, wantErr: ErrNoSource, wantInMsg: "names no CRL distribution point",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			cert, issuer := tc.setup(t, f)
			e, _ := newEngine(t, f.opts())
			res := e.Check(context.Background(), cert, issuer, f.at)
			t.Logf("%v: %s%s", res.Status, res.Reason, attemptsString(res.Attempts))
			if res.Status != tc.want {
				t.Fatalf("Status = %v (%s), want %v%s", res.Status, res.Reason, tc.want, attemptsString(res.Attempts))
			}
			if tc.wantErr != nil && !errors.Is(res.Err, tc.wantErr) {
				t.Errorf("Err = %v, want %v", res.Err, tc.wantErr)
			}
			if tc.want == Unknown && !errors.Is(res.Err, ErrOffline) {
				t.Errorf("Err = %v, want it to wrap ErrOffline", res.Err)
			}
			if !strings.Contains(res.Reason, tc.wantInMsg) {
				t.Errorf("Reason = %q, want it to contain %q", res.Reason, tc.wantInMsg)
			}
			if tc.want == Revoked {
				if res.ReasonCode != tc.wantCode || res.RevokedAt.IsZero() || res.Source == "" {
					t.Errorf("Revoked result = code %d at %v source %q, want code %d with a time and source", res.ReasonCode, res.RevokedAt, res.Source, tc.wantCode)
				}
			}
			if len(res.Attempts) == 0 && !errors.Is(res.Err, ErrNoSource) {
				t.Error("no attempts recorded")
			}
		})
	}
}

// TestFourLevelChain: root -> sub1 -> sub2 -> leaf where only sub1's CRL
// distribution point is unreachable. Checked per element as the verifier
// does, only sub1 is Unknown, and the reason names its URL.
func TestFourLevelChain(t *testing.T) {
	f := newFixture(t)
	dead := deadURL(t, "/root.crl")
	sub1 := f.root.Intermediate(t, "Sub1", pki.WithCRLDistributionPoints(dead))
	sub2 := sub1.Intermediate(t, "Sub2", pki.WithCRLDistributionPoints(f.cdp.URL("/sub1.crl")))
	leaf := sub2.Client(t, "bob", pki.WithCRLDistributionPoints(f.cdp.URL("/sub2.crl")))
	f.cdp.set("/sub1.crl", sub1.CRL(t, crlAt(f.at, 1)))
	f.cdp.set("/sub2.crl", sub2.CRL(t, crlAt(f.at, 1)))
	e, log := newEngine(t, f.opts())

	chain := []struct {
		name         string
		cert, issuer *x509.Certificate
		want         Status
	}{
		{"leaf", leaf.Cert, sub2.Cert, Good},
		{"sub2", sub2.Cert, sub1.Cert, Good},
		{"sub1", sub1.Cert, f.root.Cert, Unknown},
	}
	for _, el := range chain {
		t.Run(el.name, func(t *testing.T) {
			res := e.Check(context.Background(), el.cert, el.issuer, f.at)
			if res.Status != el.want {
				t.Fatalf("Status = %v (%s), want %v", res.Status, res.Reason, el.want)
			}
			if el.want == Unknown {
				if res.Source != dead || !strings.Contains(res.Reason, dead) {
					t.Errorf("Source %q, Reason %q: want both to name %s", res.Source, res.Reason, dead)
				}
				if !errors.Is(res.Err, ErrOffline) {
					t.Errorf("Err = %v, want ErrOffline", res.Err)
				}
				if len(res.Attempts) != 1 || res.Attempts[0].OK || !strings.HasPrefix(res.Attempts[0].Detail, "failed: ") {
					t.Errorf("Attempts = %+v, want one failed attempt", res.Attempts)
				}
			}
		})
	}
	if !strings.Contains(log.String(), dead) {
		t.Errorf("the log does not name the unreachable URL %s:\n%s", dead, log)
	}
}

// TestModes: the same leaf in online, cache-only and off modes.
func TestModes(t *testing.T) {
	tests := []struct {
		name      string
		mode      Mode
		localCRL  bool
		want      Status
		wantErr   error
		wantFetch int
	}{
		{"online fetches", Online, false, Good, nil, 1},
		{"cache-only never fetches", CacheOnly, false, Unknown, ErrNotCached, 0},
		{"cache-only uses local files", CacheOnly, true, Good, nil, 0},
		{"online prefers local files", Online, true, Good, nil, 0},
		{"off", Off, false, NotChecked, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			crl := f.sub.CRL(t, crlAt(f.at, 1))
			f.cdp.set("/sub.crl", crl)
			o := f.opts()
			o.Mode = tc.mode
			if tc.localCRL {
				o.LocalCRLs = []string{pkitest.WriteFile(t, t.TempDir(), "sub.crl", crl)}
			}
			e, _ := newEngine(t, o)
			res := e.Check(context.Background(), f.leaf(t), f.sub.Cert, f.at)
			if res.Status != tc.want {
				t.Fatalf("Status = %v (%s), want %v%s", res.Status, res.Reason, tc.want, attemptsString(res.Attempts))
			}
			if tc.wantErr != nil && !errors.Is(res.Err, tc.wantErr) {
				t.Errorf("Err = %v, want %v", res.Err, tc.wantErr)
			}
			if got := f.cdp.total(); got != tc.wantFetch {
				t.Errorf("fetches = %d, want %d", got, tc.wantFetch)
			}
		})
	}
}

// TestMaxAge: with MaxAge (CertCheckMode 4) a CRL older than MaxAge is
// refetched even though its nextUpdate is far away.
func TestMaxAge(t *testing.T) {
	f := newFixture(t)
	f.cdp.set("/sub.crl", f.sub.CRL(t, pki.CRLOptions{ThisUpdate: f.at.Add(-time.Hour), NextUpdate: f.at.Add(7 * 24 * time.Hour)}))
	o := f.opts()
	o.MaxAge = 10 * time.Minute
	e, _ := newEngine(t, o)
	leaf := f.leaf(t)
	steps := []struct {
		advance   time.Duration
		wantFetch int
	}{{0, 1}, {5 * time.Minute, 1}, {6 * time.Minute, 2}}
	for _, s := range steps {
		f.clk.Set(f.clk.Now().Add(s.advance))
		res := e.Check(context.Background(), leaf, f.sub.Cert, f.clk.Now())
		if res.Status != Good {
			t.Fatalf("after %v: Status = %v (%s)", s.advance, res.Status, res.Reason)
		}
		if got := f.cdp.count("/sub.crl"); got != s.wantFetch {
			t.Errorf("after %v: fetches = %d, want %d", s.advance, got, s.wantFetch)
		}
	}
}
