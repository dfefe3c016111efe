package site

import (
	"bytes"
	"crypto/x509"
	"testing"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

func TestSiteForNames(t *testing.T) {
	set := &Set{exact: map[string]*Site{}, wildcard: map[string]*Site{}}
	a, w, d := &Site{Name: "a"}, &Site{Name: "wild"}, &Site{Name: "default"}
	set.exact["a.example.test"], set.wildcard["wild.example.test"], set.Default = a, w, d
	tests := []struct{ name, want string }{
		{"a.example.test", "a"},
		{"A.Example.TEST.", "a"},
		{"x.wild.example.test", "wild"},
		{"X.WILD.example.test", "wild"},
		{"y.x.wild.example.test", "default"}, // a wildcard covers one label
		{"wild.example.test", "default"},
		{"other.test", "default"},
		{"", "default"},
		{".", "default"},
	}
	for _, tt := range tests {
		if got := set.SiteFor(tt.name).Name; got != tt.want {
			t.Errorf("SiteFor(%q) = %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestIssuerListDuplicates: a CA listed twice is sent once and counted once.
func TestIssuerListDuplicates(t *testing.T) {
	root, other := pkitest.NewRoot(t, "Root"), pkitest.NewRoot(t, "Other")
	send := true
	il := NewIssuerList([]*x509.Certificate{root.Cert, other.Cert, root.Cert}, config.IssuerList{Send: &send})
	//lint:ignore SA1019 Subjects is what crypto/tls sends as certificate_authorities; the pool is never a system pool.
	subjects := il.Pool().Subjects()
	if len(il.Kept) != 2 || len(il.Duplicates) != 1 || len(subjects) != 2 ||
		!bytes.Equal(subjects[0], root.Cert.RawSubject) || !bytes.Equal(subjects[1], other.Cert.RawSubject) {
		t.Errorf("kept %d duplicates %d pool %d names", len(il.Kept), len(il.Duplicates), len(subjects))
	}
	if il.Bytes != 4+len(root.Cert.RawSubject)+len(other.Cert.RawSubject) {
		t.Errorf("bytes = %d", il.Bytes)
	}
}
