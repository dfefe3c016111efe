package revocation

import (
	"context"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// reasonsIDP is a critical Issuing Distribution Point extension with only
// onlySomeReasons set (bits as in ReasonFlags).
func reasonsIDP(t *testing.T, bits ...int) pkix.Extension {
	t.Helper()
	bs := asn1.BitString{Bytes: make([]byte, 2), BitLength: 9}
	for _, b := range bits {
		bs.Bytes[b/8] |= 0x80 >> (b % 8)
	}
	v := mustMarshal(t, struct {
		Reasons asn1.BitString `asn1:"optional,tag:3"`
	}{bs})
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 28}, Critical: true, Value: v}
}

// TestReasonPartitions: CRLs partitioned by reason (IDP onlySomeReasons)
// must together cover all reasons before a certificate is good (RFC 5280
// 6.3.3 (d)); one partition alone is not an answer.
func TestReasonPartitions(t *testing.T) {
	f := newFixture(t)
	leaf := f.sub.Client(t, "partitioned").Cert
	compromise := func(number int64, entries ...pki.Revoked) []byte {
		o := crlAt(f.at, number)
		o.ExtraExtensions = []pkix.Extension{reasonsIDP(t, 1, 2)} // keyCompromise, cACompromise
		return f.sub.CRLEntries(t, o, entries...)
	}
	others := func(number int64, entries ...pki.Revoked) []byte {
		o := crlAt(f.at, number)
		o.ExtraExtensions = []pkix.Extension{reasonsIDP(t, 3, 4, 5, 6, 7, 8)}
		return f.sub.CRLEntries(t, o, entries...)
	}
	tests := []struct {
		name    string
		crls    [][]byte
		want    Status
		wantErr error
		wantMsg string
	}{
		{"one partition only", [][]byte{compromise(1)}, Unknown, ErrCRLScope, "cover only keyCompromise,cACompromise"},
		{"both partitions", [][]byte{compromise(1), others(2)}, Good, nil, ""},
		{"revoked in the second partition", [][]byte{compromise(1), others(2, pki.RevokedCert(leaf, f.at, pki.ReasonSuperseded))}, Revoked, ErrRevoked, "superseded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var paths []string
			for i, c := range tc.crls {
				paths = append(paths, pkitest.WriteFile(t, dir, string(rune('a'+i))+".crl", c))
			}
			o := f.opts()
			o.Mode = CacheOnly
			o.LocalCRLs = paths
			e, _ := newEngine(t, o)
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
		})
	}
}
