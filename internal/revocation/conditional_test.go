package revocation

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
)

// validatingCDP serves one CRL with an ETag and Last-Modified, as CA web
// servers (IIS, nginx, Apache) do for a static file, answers conditional
// requests with 304, and counts full and 304 answers.
type validatingCDP struct {
	mu           sync.Mutex
	body         []byte
	etag         string
	modified     time.Time
	full, notMod int
}

func (c *validatingCDP) set(body []byte, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.body, c.modified = body, at
	c.etag = fmt.Sprintf("%q", fmt.Sprintf("crl-%d", len(body)^int(at.Unix())))
}

func (c *validatingCDP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	body, etag, mod := c.body, c.etag, c.modified
	c.mu.Unlock()
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/pkix-crl")
	// Cacheable for a minute by a shared cache, like a CDP behind a CDN.
	w.Header().Set("Cache-Control", "public, max-age=60")
	rec := &statusRecorder{ResponseWriter: w}
	http.ServeContent(rec, r, "sub.crl", mod, bytes.NewReader(body))
	c.mu.Lock()
	if rec.status == http.StatusNotModified {
		c.notMod++
	} else {
		c.full++
	}
	c.mu.Unlock()
}

func (c *validatingCDP) counts() (full, notMod int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.full, c.notMod
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// TestConditionalRefetch: a refresh of an unchanged CRL sends the
// validators of the copy in hand and takes the 304 (no download, the
// answer stays Good and counts as a fresh fetch); the validators survive
// a restart through the disk cache; a changed CRL is downloaded again.
func TestConditionalRefetch(t *testing.T) {
	f := newFixture(t)
	t0 := f.at
	cdp := &validatingCDP{}
	f.cdp.handle("/sub.crl", cdp.ServeHTTP)
	cdp.set(f.sub.CRL(t, pki.CRLOptions{Number: 1, ThisUpdate: t0.Add(-time.Hour), NextUpdate: t0.Add(time.Hour)}), t0.Add(-time.Hour))
	leaf := f.leaf(t)
	o := f.opts()
	o.CacheDir = t.TempDir()
	e, _ := newEngine(t, o)
	if res := e.Check(context.Background(), leaf, f.sub.Cert, t0); res.Status != Good {
		t.Fatalf("first check: %v (%s)", res.Status, res.Reason)
	}
	// Past 80% of the window: the refresher asks again.
	f.clk.Set(t0.Add(40 * time.Minute))
	if n := e.refreshDue(context.Background()); n != 1 {
		t.Fatalf("refreshDue started %d, want 1", n)
	}
	if full, nm := cdp.counts(); full != 1 || nm != 1 {
		t.Fatalf("after the refresh: %d downloads and %d 304s, want 1 and 1", full, nm)
	}
	res := e.Check(context.Background(), leaf, f.sub.Cert, t0.Add(40*time.Minute))
	if res.Status != Good {
		t.Fatalf("after a 304: %v (%s)", res.Status, res.Reason)
	}

	// A restart on the same cache directory keeps the validators.
	e2, _ := newEngine(t, o)
	if res := e2.Check(context.Background(), leaf, f.sub.Cert, t0.Add(40*time.Minute)); res.Status != Good {
		t.Fatalf("after restart: %v (%s)", res.Status, res.Reason)
	}
	f.clk.Set(t0.Add(50 * time.Minute))
	e2.refreshDue(context.Background())
	if full, nm := cdp.counts(); full != 1 || nm != 2 {
		t.Fatalf("refresh after restart: %d downloads and %d 304s, want 1 and 2", full, nm)
	}

	// The CA publishes a new CRL revoking the leaf: downloaded, used.
	now := t0.Add(55 * time.Minute)
	cdp.set(f.sub.CRLEntries(t, pki.CRLOptions{Number: 2, ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(2 * time.Hour)},
		pki.RevokedCert(leaf, now.Add(-2*time.Minute), pki.ReasonKeyCompromise)), now.Add(-time.Minute))
	f.clk.Set(now.Add(10 * time.Minute))
	e2.refreshDue(context.Background())
	if full, _ := cdp.counts(); full != 2 {
		t.Fatalf("changed CRL: %d downloads, want 2", full)
	}
	if res := e2.Check(context.Background(), leaf, f.sub.Cert, now.Add(10*time.Minute)); res.Status != Revoked {
		t.Fatalf("after the new CRL: %v (%s), want revoked", res.Status, res.Reason)
	}
}

// startSquid runs Squid as a forward proxy on a free loopback port with a
// memory-only cache and returns its URL. Squid is what a fleet puts in
// front of its CDP fetches; the test skips outside CI when it is missing.
func startSquid(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("squid")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("squid not installed (apt-get install squid); CI runs this test")
		}
		t.Fatalf("squid not found in CI: %v", err)
	}
	// Squid drops privileges to its own user when started as root: its
	// directory must be reachable by that user, so not under t.TempDir
	// (0700).
	dir, err := os.MkdirTemp("", "certgate-squid-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	conf := fmt.Sprintf(`http_port %s
pid_filename %s
cache_log stdio:%s
access_log stdio:%s
cache_store_log none
cache_mem 16 MB
maximum_object_size_in_memory 8 MB
coredump_dir %s
acl lo src 127.0.0.1/32
http_access allow lo
http_access deny all
shutdown_lifetime 0 seconds
`, addr, filepath.Join(dir, "squid.pid"), filepath.Join(dir, "cache.log"), filepath.Join(dir, "access.log"), dir)
	confPath := filepath.Join(dir, "squid.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-N", "-f", confPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start squid: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return "http://" + addr
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "cache.log"))
			t.Fatalf("squid exited: %s\n%s", out.String(), log)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("squid did not listen on %s", addr)
	return ""
}

// TestSharedFetchProxy: two instances (two engines, separate caches) with
// fetch_proxy pointing at one Squid: the CA's distribution point serves
// the CRL once; the second instance gets Squid's copy; a later refresh
// is a conditional request answered 304.
func TestSharedFetchProxy(t *testing.T) {
	proxy := startSquid(t)
	f := newFixture(t)
	t0 := f.at
	cdp := &validatingCDP{}
	f.cdp.handle("/sub.crl", cdp.ServeHTTP)
	cdp.set(f.sub.CRL(t, pki.CRLOptions{Number: 1, ThisUpdate: t0.Add(-time.Hour), NextUpdate: t0.Add(time.Hour)}), t0.Add(-time.Hour))
	leaf := f.leaf(t)
	o := f.opts()
	o.FetchProxy = proxy
	o.Timeout = 10 * time.Second
	instA, _ := newEngine(t, o)
	instB, _ := newEngine(t, o)
	for name, e := range map[string]*Engine{"A": instA, "B": instB} {
		if res := e.Check(context.Background(), leaf, f.sub.Cert, t0); res.Status != Good {
			t.Fatalf("instance %s: %v (%s)", name, res.Status, res.Reason)
		}
	}
	if full, nm := cdp.counts(); full != 1 || nm != 0 {
		t.Fatalf("two instances through one proxy: the CDP served %d downloads and %d 304s, want 1 and 0", full, nm)
	}
	// Refresh on instance A: it sends its validators; the answer (from
	// Squid or, revalidated, from the CDP) is a 304, never a download.
	f.clk.Set(t0.Add(40 * time.Minute))
	if n := instA.refreshDue(context.Background()); n != 1 {
		t.Fatalf("refreshDue started %d, want 1", n)
	}
	if full, _ := cdp.counts(); full != 1 {
		t.Errorf("refresh downloaded the CRL again: %d downloads", full)
	}
	st := instA.crlEntry(f.cdp.URL("/sub.crl")).state.Load()
	if st == nil || st.fetchedAt != t0.Add(40*time.Minute) {
		t.Errorf("the 304 did not renew the fetch time: %+v", st)
	}
}
