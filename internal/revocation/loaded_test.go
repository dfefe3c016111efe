package revocation

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestLoadedCRLs lists a local CRL file and a CRL fetched on demand, with
// their nextUpdate, for the crl_next_update_seconds gauge.
func TestLoadedCRLs(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	local := pkitest.WriteFile(t, dir, "root.crl", f.root.CRL(t, crlAt(f.at, 1)))
	f.cdp.set("/sub.crl", f.sub.CRL(t, crlAt(f.at.Add(time.Hour), 2)))
	o := f.opts()
	o.LocalCRLs = []string{dir}
	o.Issuers = []*x509.Certificate{f.root.Cert, f.sub.Cert}
	e, _ := newEngine(t, o)

	if got := e.LoadedCRLs(); len(got) != 1 || got[0].Source != local || !got[0].Local ||
		!got[0].NextUpdate.Equal(f.at.Add(time.Hour)) || got[0].Issuer != f.root.Cert.Subject.String() {
		t.Fatalf("before any fetch: %+v", got)
	}
	if r := e.Check(context.Background(), f.leaf(t), f.sub.Cert, f.at); r.Status != Good {
		t.Fatalf("check: %v %s", r.Status, r.Reason)
	}
	got := e.LoadedCRLs()
	if len(got) != 2 {
		t.Fatalf("after a fetch: %+v, want the local and the fetched CRL", got)
	}
	var fetched LoadedCRL
	for _, c := range got {
		if !c.Local {
			fetched = c
		}
	}
	if fetched.Source != f.cdp.URL("/sub.crl") || !fetched.NextUpdate.Equal(f.at.Add(2*time.Hour)) {
		t.Errorf("fetched CRL = %+v", fetched)
	}
}
