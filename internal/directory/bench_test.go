package directory

import (
	"crypto/x509"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/directory/slapdtest"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// BenchmarkLookupCached is the per-request cost of a directory mapping
// answered from the cache (target: at most 1 µs).
func BenchmarkLookupCached(b *testing.B) {
	root := pkitest.NewRoot(b, "Corp Root")
	leaf := root.Client(b, "alice")
	d, err := New(Options{URL: "ldaps://127.0.0.1:1", BaseDN: testBase})
	if err != nil {
		b.Fatal(err)
	}
	chain := []*x509.Certificate{leaf.Cert, root.Cert}
	d.store(cacheKey(leaf.Cert, Input{}), cacheEntry{res: Result{Found: true, User: "alice@corp.test", Groups: []string{"Staff"}}, expires: time.Now().Add(time.Hour)})
	b.ReportAllocs()
	for b.Loop() {
		if r, err := d.Lookup(chain, Input{}, false); err != nil || !r.Cached {
			b.Fatal(r, err)
		}
	}
}

// BenchmarkLookupUncached is a lookup that goes to a real slapd on
// loopback (issuer_serial, then a two-level group walk); it reports the
// p99 latency (target: at most 5 ms).
func BenchmarkLookupUncached(b *testing.B) {
	root := pkitest.NewRoot(b, "Corp Root")
	ca := root.Intermediate(b, "Corp Issuing CA")
	leaf := ca.Client(b, "bob")
	v, _ := AltSecID(MethodIssuerSerial, leaf.Cert)
	var ldif strings.Builder
	ldif.WriteString(slapdtest.GroupLDIF("Staff", "Employees"))
	ldif.WriteString(slapdtest.GroupLDIF("Employees"))
	ldif.WriteString(slapdtest.User{CN: "bob", UPN: "bob@corp.test", AltSec: []string{v}, MemberOf: []string{"Staff"}}.LDIF(b))
	s := slapdtest.Start(b, ldif.String())
	d, err := New(Options{URL: s.LDAPS, RootCAs: s.CA, BindDN: testBindDN, Password: testPassword, BaseDN: testBase})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	chain := []*x509.Certificate{leaf.Cert, ca.Cert, root.Cert}
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		// trace skips the cache: every iteration asks the directory.
		r, err := d.Lookup(chain, Input{}, true)
		lat = append(lat, time.Since(start))
		if err != nil || r.User != "bob@corp.test" {
			b.Fatal(r, err)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}
