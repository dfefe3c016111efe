package revocation

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestConcurrentChecksShareOneFetch: many requests needing the same CRL at
// once cause one download.
func TestConcurrentChecksShareOneFetch(t *testing.T) {
	f := newFixture(t)
	crl := f.sub.CRL(t, crlAt(f.at, 1))
	arrived := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	f.cdp.handle("/sub.crl", func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(arrived) })
		<-release
		w.Write(crl)
	})
	o := f.opts()
	var fetchMu sync.Mutex
	var fetches []string
	o.OnFetch = func(kind, url string, ok bool, d time.Duration) {
		fetchMu.Lock()
		fetches = append(fetches, fmt.Sprintf("%s %s %v", kind, url, ok))
		fetchMu.Unlock()
	}
	e, _ := newEngine(t, o)
	leaf := f.leaf(t)
	const n = 20
	results := make([]Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = e.Check(context.Background(), leaf, f.sub.Cert, f.at) })
	}
	<-arrived
	close(release)
	wg.Wait()
	for i, r := range results {
		if r.Status != Good {
			t.Errorf("check %d: %v (%s)", i, r.Status, r.Reason)
		}
	}
	if got := f.cdp.count("/sub.crl"); got != 1 {
		t.Errorf("fetches = %d, want 1", got)
	}
	if want := "crl " + f.cdp.URL("/sub.crl") + " true"; len(fetches) != 1 || fetches[0] != want {
		t.Errorf("OnFetch calls = %q, want [%q]", fetches, want)
	}
}

// TestBackgroundRefresh: at 80% of the CRL's validity the refresher fetches
// the next CRL and swaps it in; checks running meanwhile never fail, and
// none of them waits on a fetch (the request path makes no request).
func TestBackgroundRefresh(t *testing.T) {
	f := newFixture(t)
	leaf := f.leaf(t)
	t0 := f.at
	f.cdp.set("/sub.crl", f.sub.CRL(t, pki.CRLOptions{Number: 1, ThisUpdate: t0.Add(-time.Hour), NextUpdate: t0.Add(time.Hour)}))
	e, _ := newEngine(t, f.opts())
	if res := e.Check(context.Background(), leaf, f.sub.Cert, t0); res.Status != Good {
		t.Fatalf("first check: %v (%s)", res.Status, res.Reason)
	}
	if n := e.refreshDue(context.Background()); n != 0 {
		t.Fatalf("refreshed %d entries before 80%% of the window", n)
	}

	// The CA publishes CRL #2 revoking the leaf; the clock passes 80% of
	// CRL #1's window (t0-1h + 0.8*2h = t0+36m).
	f.cdp.set("/sub.crl", f.sub.CRLEntries(t, pki.CRLOptions{Number: 2, ThisUpdate: t0.Add(30 * time.Minute), NextUpdate: t0.Add(150 * time.Minute)},
		pki.RevokedCert(leaf, t0.Add(29*time.Minute), pki.ReasonKeyCompromise)))
	now := t0.Add(40 * time.Minute)
	f.clk.Set(now)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var seen []Status
	for range 4 {
		wg.Go(func() {
			for i := 0; i < 200; i++ { // bounded
				res := e.Check(context.Background(), leaf, f.sub.Cert, now)
				mu.Lock()
				seen = append(seen, res.Status)
				mu.Unlock()
				select {
				case <-stop:
					return
				default:
				}
			}
		})
	}
	refreshed := e.refreshDue(context.Background())
	close(stop)
	wg.Wait()
	if refreshed != 1 {
		t.Fatalf("refreshDue started %d refreshes, want 1", refreshed)
	}
	for _, s := range seen {
		if s != Good && s != Revoked {
			t.Fatalf("a check during the refresh returned %v", s)
		}
	}
	res := e.Check(context.Background(), leaf, f.sub.Cert, now)
	if res.Status != Revoked {
		t.Fatalf("after refresh: %v (%s), want revoked by CRL #2", res.Status, res.Reason)
	}
	if res.Attempts[0].Kind != "cache" {
		t.Errorf("after refresh the answer came from %q, want the cache", res.Attempts[0].Kind)
	}
	if got := f.cdp.count("/sub.crl"); got != 2 {
		t.Errorf("fetches = %d, want 2 (initial + background)", got)
	}
}

// TestStartClose: the refresher goroutine runs on its own and stops on
// Close.
func TestStartClose(t *testing.T) {
	f := newFixture(t)
	leaf := f.leaf(t)
	t0 := f.at
	f.cdp.set("/sub.crl", f.sub.CRL(t, pki.CRLOptions{Number: 1, ThisUpdate: t0.Add(-time.Hour), NextUpdate: t0.Add(time.Hour)}))
	e, _ := newEngine(t, f.opts())
	e.pollEvery = 5 * time.Millisecond
	if res := e.Check(context.Background(), leaf, f.sub.Cert, t0); res.Status != Good {
		t.Fatalf("first check: %v (%s)", res.Status, res.Reason)
	}
	f.cdp.set("/sub.crl", f.sub.CRL(t, pki.CRLOptions{Number: 2, ThisUpdate: t0, NextUpdate: t0.Add(2 * time.Hour)}))
	f.clk.Set(t0.Add(50 * time.Minute))
	e.Start(context.Background())
	for i := 0; i < 2000 && f.cdp.count("/sub.crl") < 2; i++ { // bounded wait for the background fetch
		time.Sleep(5 * time.Millisecond)
	}
	e.Close()
	if got := f.cdp.count("/sub.crl"); got < 2 {
		t.Fatalf("the refresher did not fetch (fetches = %d)", got)
	}
	res := e.Check(context.Background(), leaf, f.sub.Cert, f.clk.Now())
	if res.Status != Good || !strings.Contains(res.Attempts[0].Detail, "#2") {
		t.Errorf("after refresh: %v %s, want good from CRL #2%s", res.Status, res.Reason, attemptsString(res.Attempts))
	}
}

// TestDiskCache: what an online Engine fetched survives into a new Engine
// in cache-only mode (a restart without network), CRLs and OCSP answers.
func TestDiskCache(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	o := newOCSP(t, f.sub, f.at)
	leaf := f.leaf(t)
	ocspLeaf := f.sub.Client(t, "ocsp only", pki.WithOCSPServer(o.URL())).Cert
	o.set(ocspLeaf, ocsp.Revoked)
	f.cdp.set("/sub.crl", f.sub.CRLEntries(t, crlAt(f.at, 1), pki.RevokedCert(leaf, f.at.Add(-time.Minute), pki.ReasonSuperseded)))

	opts := f.opts()
	opts.CacheDir = dir
	online, _ := newEngine(t, opts)
	for _, c := range []struct {
		name string
		res  Result
	}{
		{"crl", online.Check(context.Background(), leaf, f.sub.Cert, f.at)},
		{"ocsp", online.Check(context.Background(), ocspLeaf, f.sub.Cert, f.at)},
	} {
		if c.res.Status != Revoked {
			t.Fatalf("online %s: %v (%s)", c.name, c.res.Status, c.res.Reason)
		}
	}
	online.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 4 {
		t.Fatalf("cache dir holds %v, want 2 items (.der + .json each)", files)
	}

	opts.Mode = CacheOnly
	offline, _ := newEngine(t, opts)
	for _, c := range []struct {
		name string
		res  Result
		src  string
	}{
		{"crl", offline.Check(context.Background(), leaf, f.sub.Cert, f.at), f.cdp.URL("/sub.crl")},
		{"ocsp", offline.Check(context.Background(), ocspLeaf, f.sub.Cert, f.at), o.URL()},
	} {
		if c.res.Status != Revoked || c.res.Source != c.src {
			t.Errorf("cache-only %s after restart: %v from %q (%s), want revoked from %s%s", c.name, c.res.Status, c.res.Source, c.res.Reason, c.src, attemptsString(c.res.Attempts))
		}
	}
	if f.cdp.count("/sub.crl") != 1 || o.count() != 1 {
		t.Errorf("network used after restart: CDP %d, OCSP %d requests, want 1 each", f.cdp.count("/sub.crl"), o.count())
	}
}

// TestLocalCRLs: files (DER, PEM, PEM bundle) and directories, chosen by
// issuer, and load errors naming the file.
func TestLocalCRLs(t *testing.T) {
	f := newFixture(t)
	leaf := f.sub.Client(t, "no cdp").Cert
	revokedLeaf := f.sub.Client(t, "revoked no cdp").Cert
	subCRL := f.sub.CRLEntries(t, crlAt(f.at, 3), pki.RevokedCert(revokedLeaf, f.at.Add(-time.Hour), pki.ReasonKeyCompromise))
	oldSubCRL := f.sub.CRL(t, pki.CRLOptions{Number: 1, ThisUpdate: f.at.Add(-72 * time.Hour), NextUpdate: f.at.Add(-48 * time.Hour)})
	rootCRL := f.root.CRL(t, crlAt(f.at, 1))
	dir := t.TempDir()
	der := pkitest.WriteFile(t, dir, "sub.crl", subCRL)
	if err := pki.WriteCRL(filepath.Join(dir, "sub.pem"), subCRL); err != nil {
		t.Fatal(err)
	}
	pkitest.WriteFile(t, dir, "bundle.pem", append(pemCRL(oldSubCRL), pemCRL(rootCRL)...))
	bundle2 := pkitest.WriteFile(t, t.TempDir(), "bundle.pem", append(pemCRL(rootCRL), pemCRL(subCRL)...))
	garbage := pkitest.WriteFile(t, t.TempDir(), "broken.crl", []byte("not a crl"))

	tests := []struct {
		name    string
		paths   []string
		cert    string
		want    Status
		wantErr string
	}{
		{"DER file, good", []string{der}, "leaf", Good, ""},
		{"DER file, revoked", []string{der}, "revoked", Revoked, ""},
		{"directory, newest CRL wins", []string{dir}, "revoked", Revoked, ""},
		{"PEM bundle, second block", []string{bundle2}, "revoked", Revoked, ""},
		{"only an expired CRL", []string{filepath.Join(dir, "bundle.pem")}, "leaf", Unknown, ""},
		{"malformed file", []string{garbage}, "leaf", 0, garbage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := f.opts()
			o.Mode = CacheOnly
			o.LocalCRLs = tc.paths
			if tc.wantErr != "" {
				_, err := New(o)
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrMalformedCRL) {
					t.Fatalf("New = %v, want a malformed-CRL error naming %s", err, tc.wantErr)
				}
				return
			}
			e, _ := newEngine(t, o)
			cert := leaf
			if tc.cert == "revoked" {
				cert = revokedLeaf
			}
			res := e.Check(context.Background(), cert, f.sub.Cert, f.at)
			t.Logf("%v: %s%s", res.Status, res.Reason, attemptsString(res.Attempts))
			if res.Status != tc.want {
				t.Fatalf("Status = %v, want %v", res.Status, tc.want)
			}
			if tc.want == Unknown && !errors.Is(res.Err, ErrCRLExpired) {
				t.Errorf("Err = %v, want ErrCRLExpired", res.Err)
			}
		})
	}
}

func pemCRL(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

// TestLocalCRLWrongSigner: a local CRL with the issuer's name but another
// key is reported at New (Options.Issuers) and ignored by Check.
func TestLocalCRLWrongSigner(t *testing.T) {
	f := newFixture(t)
	o := f.opts()
	o.Mode = CacheOnly
	co := crlAt(f.at, 1)
	co.SignWith = pkitest.Key(t, "")
	o.LocalCRLs = []string{pkitest.WriteFile(t, t.TempDir(), "forged.crl", f.sub.CRL(t, co))}
	o.Issuers = []*x509.Certificate{f.root.Cert, f.sub.Cert}
	e, log := newEngine(t, o)
	if !strings.Contains(log.String(), "forged.crl") {
		t.Errorf("New did not report the forged CRL:\n%s", log)
	}
	res := e.Check(context.Background(), f.sub.Client(t, "x").Cert, f.sub.Cert, f.at)
	if res.Status != Unknown || !errors.Is(res.Err, ErrCRLSignature) || !strings.Contains(res.Reason, "forged.crl") {
		t.Errorf("Check = %v %v (%s), want unknown: bad signature naming the file", res.Status, res.Err, res.Reason)
	}
}
