package revocation

import (
	"context"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
)

// TestDeltaCRL: a base CRL whose Freshest CRL extension names a delta CRL
// at a URL with '+' in it (the ADCS naming, "CA+.crl"); the delta is
// applied over the base.
func TestDeltaCRL(t *testing.T) {
	const deltaPath = "/Test Sub CA+.crl" // ADCS names delta CRLs "<CA name>+.crl"
	tests := []struct {
		name       string
		base       func(f *fixture, leafSerial *big.Int) ([]pki.Revoked, int64)
		delta      func(f *fixture, leafSerial *big.Int) (entries []pki.Revoked, number, baseNumber int64, ok bool)
		want       Status
		wantErr    error
		wantSource string
	}{
		{
			name: "delta revokes",
			base: func(f *fixture, s *big.Int) ([]pki.Revoked, int64) { return nil, 10 },
			delta: func(f *fixture, s *big.Int) ([]pki.Revoked, int64, int64, bool) {
				return []pki.Revoked{{Serial: s, Reason: pki.ReasonKeyCompromise}}, 11, 10, true
			},
			want: Revoked, wantErr: ErrRevoked, wantSource: deltaPath,
		},
		{
			name: "empty delta, base revokes",
			base: func(f *fixture, s *big.Int) ([]pki.Revoked, int64) {
				return []pki.Revoked{{Serial: s, Reason: pki.ReasonSuperseded}}, 10
			},
			delta: func(f *fixture, s *big.Int) ([]pki.Revoked, int64, int64, bool) { return nil, 11, 10, true },
			want:  Revoked, wantErr: ErrRevoked, wantSource: "/sub.crl",
		},
		{
			name: "delta removes a hold",
			base: func(f *fixture, s *big.Int) ([]pki.Revoked, int64) {
				return []pki.Revoked{{Serial: s, Reason: pki.ReasonCertificateHold}}, 10
			},
			delta: func(f *fixture, s *big.Int) ([]pki.Revoked, int64, int64, bool) {
				return []pki.Revoked{{Serial: s, Reason: pki.ReasonRemoveFromCRL}}, 11, 10, true
			},
			want: Good,
		},
		{
			name:  "advertised delta missing",
			base:  func(f *fixture, s *big.Int) ([]pki.Revoked, int64) { return nil, 10 },
			delta: func(f *fixture, s *big.Int) ([]pki.Revoked, int64, int64, bool) { return nil, 0, 0, false },
			want:  Unknown, wantErr: ErrDeltaCRL,
		},
		{
			name: "delta for a newer base",
			base: func(f *fixture, s *big.Int) ([]pki.Revoked, int64) { return nil, 10 },
			delta: func(f *fixture, s *big.Int) ([]pki.Revoked, int64, int64, bool) {
				return nil, 13, 12, true
			},
			want: Unknown, wantErr: ErrDeltaCRL,
		},
		{
			name: "delta older than the base",
			base: func(f *fixture, s *big.Int) ([]pki.Revoked, int64) { return nil, 10 },
			delta: func(f *fixture, s *big.Int) ([]pki.Revoked, int64, int64, bool) {
				// Lists the leaf, but the base (#10) is newer than it (#9).
				return []pki.Revoked{{Serial: s}}, 9, 8, true
			},
			want: Good,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			leaf := f.leaf(t)
			baseEntries, baseNum := tc.base(f, leaf.SerialNumber)
			bo := crlAt(f.at, baseNum)
			bo.ExtraExtensions = append(bo.ExtraExtensions, freshestExt(t, f.cdp.URL(strings.ReplaceAll(deltaPath, " ", "%20"))))
			f.cdp.set("/sub.crl", f.sub.CRLEntries(t, bo, baseEntries...))
			if entries, num, baseNumber, ok := tc.delta(f, leaf.SerialNumber); ok {
				do := crlAt(f.at, num)
				do.Delta, do.BaseNumber = true, baseNumber
				f.cdp.set(deltaPath, f.sub.CRLEntries(t, do, entries...))
			}
			e, _ := newEngine(t, f.opts())
			res := e.Check(context.Background(), leaf, f.sub.Cert, f.at)
			t.Logf("%v: %s%s", res.Status, res.Reason, attemptsString(res.Attempts))
			if res.Status != tc.want {
				t.Fatalf("Status = %v, want %v", res.Status, tc.want)
			}
			if tc.wantErr != nil && !errors.Is(res.Err, tc.wantErr) {
				t.Errorf("Err = %v, want %v", res.Err, tc.wantErr)
			}
			if tc.wantSource != "" && !strings.HasSuffix(res.Source, strings.ReplaceAll(tc.wantSource, " ", "%20")) {
				t.Errorf("Source = %q, want it to end in %q", res.Source, tc.wantSource)
			}
			if f.cdp.count(deltaPath) != 1 {
				t.Errorf("delta fetched %d times, want 1", f.cdp.count(deltaPath))
			}
			// '+' must reach the server as '+' (not "%2B", not a space) and
			// the space as %20.
			f.cdp.mu.Lock()
			raw := slices.Clone(f.cdp.rawPaths)
			f.cdp.mu.Unlock()
			if !slices.Contains(raw, "/Test%20Sub%20CA+.crl") {
				t.Errorf("raw request paths %q, want /Test%%20Sub%%20CA+.crl", raw)
			}
		})
	}
}

// TestDeltaFromCertificate: the certificate's own Freshest CRL extension
// (pki.WithFreshestCRL) also points to the delta.
func TestDeltaFromCertificate(t *testing.T) {
	f := newFixture(t)
	leaf := f.sub.Client(t, "carol", pki.WithCRLDistributionPoints(f.cdp.URL("/sub.crl")), pki.WithFreshestCRL(f.cdp.URL("/sub+.crl")))
	f.cdp.set("/sub.crl", f.sub.CRL(t, crlAt(f.at, 4)))
	do := crlAt(f.at, 5)
	do.Delta, do.BaseNumber = true, 4
	f.cdp.set("/sub+.crl", f.sub.CRLEntries(t, do, pki.RevokedCert(leaf.Cert, f.at.Add(-time.Minute), pki.ReasonKeyCompromise)))
	e, _ := newEngine(t, f.opts())
	res := e.Check(context.Background(), leaf.Cert, f.sub.Cert, f.at)
	if res.Status != Revoked || res.Source != f.cdp.URL("/sub+.crl") {
		t.Fatalf("Status %v Source %q (%s), want revoked by the delta%s", res.Status, res.Source, res.Reason, attemptsString(res.Attempts))
	}
}
