package issuerlist

import (
	"crypto/x509"
	"strings"
	"testing"
)

func ca(subjectLen int) *x509.Certificate {
	return &x509.Certificate{RawSubject: []byte(strings.Repeat("x", subjectLen))}
}

func TestTruncate(t *testing.T) {
	a, b, c := ca(10), ca(20), ca(5) // encoded 12, 22, 7 = 41
	tests := []struct {
		name       string
		max        int
		kept, drop int
		bytes      int
	}{
		{"no limit", 0, 3, 0, 41},
		{"exact fit", 41, 3, 0, 41},
		{"drop last", 40, 2, 1, 34},
		// c would fit after b is dropped, but Schannel-style truncation keeps a prefix.
		{"prefix only", 20, 1, 2, 12},
		{"nothing fits", 5, 0, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Truncate([]*x509.Certificate{a, b, c}, tt.max)
			if len(r.Kept) != tt.kept || len(r.Dropped) != tt.drop || r.Bytes != tt.bytes || r.TotalBytes != 41 {
				t.Fatalf("Truncate(max=%d) = kept %d dropped %d bytes %d total %d; want kept %d dropped %d bytes %d total 41",
					tt.max, len(r.Kept), len(r.Dropped), r.Bytes, r.TotalBytes, tt.kept, tt.drop, tt.bytes)
			}
			if got := EncodedSize(r.Names()); got != r.Bytes {
				t.Errorf("EncodedSize(Names()) = %d, want %d", got, r.Bytes)
			}
		})
	}
}
