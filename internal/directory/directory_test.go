package directory

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/directory/slapdtest"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

type user = slapdtest.User

const (
	testBase     = slapdtest.Base
	testBindDN   = slapdtest.BindDN
	testPassword = slapdtest.Password
)

func sidBytes(t *testing.T, s string) []byte {
	t.Helper()
	b, err := ParseSID(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dirFixture is a corporate CA, certificates for each lookup method, and
// the slapd holding their accounts.
type dirFixture struct {
	s     *slapdtest.Server
	certs map[string][]*x509.Certificate
}

func chainOf(l *pki.Leaf) []*x509.Certificate {
	return append([]*x509.Certificate{l.Cert}, l.Issuer.Chain()...)
}

func newDirFixture(t *testing.T) *dirFixture {
	t.Helper()
	root := pkitest.NewRoot(t, "Corp Root", dcName("Corp Root", "test", "corp"))
	ca := root.Intermediate(t, "Corp Issuing CA", dcName("Corp Issuing CA", "test", "corp"))
	ski := func(b ...byte) pki.Option {
		v, _ := asn1.Marshal(b)
		return pki.WithExtraExtensions(pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 14}, Value: v})
	}
	const sidAlice = "S-1-5-21-1004336348-1177238915-682003330-1104"
	const sidBob = "S-1-5-21-1004336348-1177238915-682003330-1105"
	leaves := map[string]*pki.Leaf{
		"sid":           ca.Client(t, "alice", pki.WithSID(sidAlice)),
		"sid-mismatch":  ca.Client(t, "mallory", pki.WithSID(sidAlice), pki.WithUPN("bob@corp.test")),
		"issuer_serial": ca.Client(t, "bob"),
		"ski":           ca.Client(t, "carol", ski(0xca, 0x01)),
		"sha1_pukey":    ca.Client(t, "dave"),
		"upn":           ca.Client(t, "erin", pki.WithUPN("erin@corp.test")),
		"subject":       ca.Client(t, "frank", pki.WithSubject(pkix.Name{CommonName: "frank", Organization: []string{"Corp"}})),
		"rfc822":        ca.Client(t, "grace", pki.WithEmail("grace@corp.test")),
		"disabled":      ca.Client(t, "heidi"),
		"locked":        ca.Client(t, "ivan"),
		"expired":       ca.Client(t, "judy"),
		"ambiguous":     ca.Client(t, "kim"),
		"nobody":        ca.Client(t, "nobody"),
	}
	alt := func(m Method, name string) string {
		v, ok := AltSecID(m, leaves[name].Cert)
		if !ok {
			t.Fatalf("fixture: no %s value for %s", m, name)
		}
		return v
	}
	past := int64(116444736000000000 + time.Now().Add(-24*time.Hour).Unix()*10000000)
	users := []user{
		{CN: "alice", UPN: "alice@corp.test", SID: sidBytes(t, sidAlice), MemberOf: []string{"Staff"}},
		{CN: "bob", UPN: "bob@corp.test", SID: sidBytes(t, sidBob), AltSec: []string{alt(MethodIssuerSerial, "issuer_serial")}, MemberOf: []string{"Admins"}},
		{CN: "carol", SAM: "carol", AltSec: []string{alt(MethodSKI, "ski")}},
		// Written in lower case: AD compares altSecurityIdentities case-insensitively.
		{CN: "dave", UPN: "dave@corp.test", AltSec: []string{strings.ToLower(alt(MethodSHA1PublicKey, "sha1_pukey"))}},
		{CN: "erin", UPN: "erin@corp.test"},
		{CN: "frank", UPN: "frank@corp.test", AltSec: []string{alt(MethodSubject, "subject")}},
		{CN: "grace", UPN: "grace@corp.test", AltSec: []string{alt(MethodRFC822, "rfc822")}},
		{CN: "heidi", UPN: "heidi@corp.test", UAC: 0x202, AltSec: []string{alt(MethodIssuerSerial, "disabled")}},
		{CN: "ivan", UPN: "ivan@corp.test", UAC: 0x200, Lockout: 133000000000000000, AltSec: []string{alt(MethodIssuerSerial, "locked")}},
		{CN: "judy", UPN: "judy@corp.test", UAC: 0x200, Expires: past, AltSec: []string{alt(MethodIssuerSerial, "expired")}},
		{CN: "kim1", UPN: "kim1@corp.test", AltSec: []string{alt(MethodIssuerSerial, "ambiguous")}},
		{CN: "kim2", UPN: "kim2@corp.test", AltSec: []string{alt(MethodIssuerSerial, "ambiguous")}},
	}
	var ldif strings.Builder
	// Staff is in Employees, Employees in Everyone, Everyone back in
	// Staff: nesting with a cycle the walk must survive.
	ldif.WriteString(slapdtest.GroupLDIF("Staff", "Employees"))
	ldif.WriteString(slapdtest.GroupLDIF("Employees", "Everyone"))
	ldif.WriteString(slapdtest.GroupLDIF("Everyone", "Staff"))
	ldif.WriteString(slapdtest.GroupLDIF("Admins", "Staff"))
	for _, u := range users {
		ldif.WriteString(u.LDIF(t))
	}
	f := &dirFixture{s: slapdtest.Start(t, ldif.String()), certs: map[string][]*x509.Certificate{}}
	for k, l := range leaves {
		f.certs[k] = chainOf(l)
	}
	return f
}

func (f *dirFixture) options(url string) Options {
	return Options{URL: url, RootCAs: f.s.CA, BindDN: testBindDN, Password: testPassword, BaseDN: testBase,
		Timeout: 5 * time.Second, DialTimeout: 5 * time.Second}
}

func newDir(t *testing.T, o Options) *Directory {
	t.Helper()
	d, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestLookupMethods(t *testing.T) {
	f := newDirFixture(t)
	all := f.options(f.s.LDAP)
	all.Methods = Methods
	all.AllowWeak = true
	strongOnly := f.options(f.s.LDAPS)

	tests := []struct {
		name   string
		o      Options
		cert   string
		ntauth bool
		user   string
		method Method
		strong bool
		state  string
		refuse string
		groups []string
	}{
		{name: "SID extension to objectSid", o: strongOnly, cert: "sid", ntauth: true, user: "alice@corp.test", method: MethodSID, strong: true,
			groups: []string{"Staff", "Employees", "Everyone"}},
		{name: "SID from a CA outside upn.issuers is not trusted", o: strongOnly, cert: "sid"},
		{name: "issuer and byte-reversed serial", o: strongOnly, cert: "issuer_serial", user: "bob@corp.test", method: MethodIssuerSerial, strong: true,
			groups: []string{"Admins", "Staff", "Employees", "Everyone"}},
		{name: "SKI, user from sAMAccountName", o: strongOnly, cert: "ski", user: "carol", method: MethodSKI, strong: true},
		{name: "SHA1-PUKEY, stored in lower case", o: strongOnly, cert: "sha1_pukey", user: "dave@corp.test", method: MethodSHA1PublicKey, strong: true},
		{name: "UPN refused without allow_weak", o: strongOnly, cert: "upn", ntauth: true},
		{name: "subject refused without allow_weak", o: strongOnly, cert: "subject"},
		{name: "UPN with allow_weak", o: all, cert: "upn", ntauth: true, user: "erin@corp.test", method: MethodUPN},
		{name: "UPN with allow_weak, CA outside upn.issuers", o: all, cert: "upn"},
		{name: "subject with allow_weak", o: all, cert: "subject", user: "frank@corp.test", method: MethodSubject},
		{name: "RFC822 with allow_weak", o: all, cert: "rfc822", user: "grace@corp.test", method: MethodRFC822},
		{name: "disabled account", o: strongOnly, cert: "disabled", user: "heidi@corp.test", method: MethodIssuerSerial, strong: true, state: StateDisabled},
		{name: "locked account", o: strongOnly, cert: "locked", user: "ivan@corp.test", method: MethodIssuerSerial, strong: true, state: StateLocked},
		{name: "expired account", o: strongOnly, cert: "expired", user: "judy@corp.test", method: MethodIssuerSerial, strong: true, state: StateExpired},
		{name: "two accounts match", o: strongOnly, cert: "ambiguous", refuse: "more than one account"},
		{name: "SID names another account than the UPN", o: all, cert: "sid-mismatch", ntauth: true, user: "alice@corp.test", method: MethodSID, strong: true,
			groups: []string{"Staff", "Employees", "Everyone"}},
		{name: "no account", o: all, cert: "nobody", ntauth: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDir(t, tt.o)
			r, err := d.Lookup(f.certs[tt.cert], Input{NTAuth: tt.ntauth}, true)
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if tt.refuse != "" {
				if !strings.Contains(r.Refused, tt.refuse) {
					t.Fatalf("Refused = %q, want %q (%+v)", r.Refused, tt.refuse, r)
				}
				return
			}
			if r.User != tt.user || r.Found != (tt.user != "") || r.Method != tt.method || r.Strong != tt.strong || r.State != tt.state {
				t.Fatalf("Lookup = %+v\nwant user %q method %s strong %v state %q", r, tt.user, tt.method, tt.strong, tt.state)
			}
			if tt.groups != nil && !slices.Equal(r.Groups, tt.groups) {
				t.Errorf("groups = %q, want %q", r.Groups, tt.groups)
			}
			if len(r.Tries) == 0 {
				t.Error("no trace")
			}
			for _, try := range r.Tries {
				if try.Filter != "" && !strings.HasPrefix(try.Filter, "(") {
					t.Errorf("filter %q", try.Filter)
				}
			}
		})
	}
}

func TestWeakMethodNeedsAllowWeak(t *testing.T) {
	for _, m := range []Method{MethodUPN, MethodSubject, MethodIssuerSubject, MethodRFC822} {
		_, err := New(Options{URL: "ldaps://127.0.0.1:1", BaseDN: testBase, Methods: []Method{MethodIssuerSerial, m}})
		if !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), "allow_weak") {
			t.Errorf("%s without allow_weak: %v", m, err)
		}
	}
	for _, bad := range []Options{
		{URL: "http://x", BaseDN: testBase},
		{URL: "ldaps://127.0.0.1:1"},
		{URL: "ldaps://127.0.0.1:1", BaseDN: testBase, BindDN: "cn=x"},
		{URL: "ldaps://127.0.0.1:1", BaseDN: testBase, Methods: []Method{"kerberos"}},
	} {
		if _, err := New(bad); !errors.Is(err, ErrOptions) {
			t.Errorf("New(%+v) = %v, want ErrOptions", bad, err)
		}
	}
}

// TestDirectoryDownMidRun: the directory answers, then dies. A cached
// result is served while fresh, then for stale_if_error, then the lookup
// fails closed with ErrUnavailable, never "no account".
func TestDirectoryDownMidRun(t *testing.T) {
	f := newDirFixture(t)
	now := time.Now()
	o := f.options(f.s.LDAP)
	o.CacheTTL, o.StaleIfError = time.Minute, time.Minute
	o.Now = func() time.Time { return now }
	d := newDir(t, o)
	noStale := o
	noStale.StaleIfError = 0
	d2 := newDir(t, noStale)
	for _, dd := range []*Directory{d, d2} {
		if r, err := dd.Lookup(f.certs["issuer_serial"], Input{}, false); err != nil || r.User != "bob@corp.test" {
			t.Fatalf("Lookup = %+v, %v", r, err)
		}
	}
	f.s.Stop()
	d.Close() // drop pooled connections: the next lookup must dial
	d2.Close()

	if r, err := d.Lookup(f.certs["issuer_serial"], Input{}, false); err != nil || !r.Cached || r.Stale {
		t.Errorf("fresh cache: %+v, %v", r, err)
	}
	now = now.Add(90 * time.Second) // past the TTL, within stale_if_error
	if r, err := d.Lookup(f.certs["issuer_serial"], Input{}, false); err != nil || !r.Stale || r.User != "bob@corp.test" {
		t.Errorf("stale_if_error: %+v, %v", r, err)
	}
	if _, err := d2.Lookup(f.certs["issuer_serial"], Input{}, false); !IsUnavailable(err) {
		t.Errorf("without stale_if_error: %v, want ErrUnavailable", err)
	}
	now = now.Add(time.Hour)
	if _, err := d.Lookup(f.certs["issuer_serial"], Input{}, false); !IsUnavailable(err) {
		t.Errorf("past stale_if_error: %v, want ErrUnavailable", err)
	}
	if _, err := d.Lookup(f.certs["nobody"], Input{}, false); !IsUnavailable(err) {
		t.Errorf("uncached certificate with the directory down: %v, want ErrUnavailable", err)
	}
	if s := d.Stats(); s.StaleServed != 1 || s.CacheHits != 1 || s.Errors < 3 {
		t.Errorf("stats = %+v", s)
	}
}

// TestConcurrentLookupsShareOneSearch: a burst of requests for one
// certificate costs the directory one lookup, not one each.
func TestConcurrentLookupsShareOneSearch(t *testing.T) {
	f := newDirFixture(t)
	d := newDir(t, f.options(f.s.LDAPS))
	const n = 32
	var wg sync.WaitGroup
	users := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := d.Lookup(f.certs["issuer_serial"], Input{}, false)
			if err == nil {
				users[i] = r.User
			}
		}()
	}
	wg.Wait()
	for i, u := range users {
		if u != "bob@corp.test" {
			t.Fatalf("lookup %d = %q", i, u)
		}
	}
	// One flight; a goroutine scheduled after it landed reads the cache
	// (or, rarely, starts a second flight).
	if s := d.Stats(); s.Lookups > 2 || s.Lookups+s.CacheHits > n {
		t.Errorf("%d concurrent lookups made %d directory lookups (%d cache hits)", n, s.Lookups, s.CacheHits)
	}
}

// TestBlackHoledDirectory: a port that accepts connections and never
// answers must cost a lookup its timeout, not a hang.
func TestBlackHoledDirectory(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // accepted, never answered
		}
	}()
	root := pkitest.NewRoot(t, "Some Root")
	leaf := root.Client(t, "x")
	for _, scheme := range []string{"ldap", "ldaps"} {
		t.Run(scheme, func(t *testing.T) {
			d := newDir(t, Options{URL: scheme + "://" + ln.Addr().String(), RootCAs: root.Pool(), BaseDN: testBase,
				Timeout: 300 * time.Millisecond, DialTimeout: 200 * time.Millisecond})
			start := time.Now()
			_, err := d.Lookup([]*x509.Certificate{leaf.Cert}, Input{}, false)
			if !IsUnavailable(err) {
				t.Fatalf("Lookup: %v, want ErrUnavailable", err)
			}
			// Generous bound: the point is "bounded by the timeout", not speed.
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("lookup took %v with a 300ms timeout", el)
			}
		})
	}
}

// TestStallAfterStartTLS: a server that accepts StartTLS and then never
// speaks TLS must cost the lookup its timeout: go-ldap's request timeout
// does not cover that handshake, the connection deadline does.
func TestStallAfterStartTLS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 512)
				if _, err := c.Read(buf); err != nil {
					return
				}
				// LDAPMessage { id 1, extendedResp { success, "", "" } }
				_, _ = c.Write([]byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00})
				<-done // then silence: the client's TLS ClientHello is never answered
			}()
		}
	}()
	root := pkitest.NewRoot(t, "Some Root")
	d := newDir(t, Options{URL: "ldap://" + ln.Addr().String(), RootCAs: root.Pool(), BaseDN: testBase,
		Timeout: 300 * time.Millisecond, DialTimeout: 200 * time.Millisecond})
	start := time.Now()
	_, err = d.Lookup([]*x509.Certificate{root.Client(t, "x").Cert}, Input{}, false)
	if !IsUnavailable(err) || !strings.Contains(err.Error(), "StartTLS") {
		t.Fatalf("Lookup: %v, want ErrUnavailable from StartTLS", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("lookup took %v with a 200ms dial timeout", el)
	}
}

// TestLDAPSWrongCA: a directory whose certificate does not chain to the
// configured CA is unavailable, never trusted.
func TestLDAPSWrongCA(t *testing.T) {
	f := newDirFixture(t)
	other := pkitest.NewRoot(t, "Not The Directory CA")
	for _, url := range []string{f.s.LDAPS, f.s.LDAP} {
		o := f.options(url)
		o.RootCAs = other.Pool()
		d := newDir(t, o)
		_, err := d.Lookup(f.certs["issuer_serial"], Input{}, false)
		if !IsUnavailable(err) || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("%s with the wrong CA: %v", url, err)
		}
	}
	o := f.options(f.s.LDAPS)
	o.Password = "wrong"
	if _, err := newDir(t, o).Lookup(f.certs["issuer_serial"], Input{}, false); !IsUnavailable(err) || !strings.Contains(err.Error(), "bind") {
		t.Errorf("wrong password: %v", err)
	}
}
