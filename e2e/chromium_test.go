package e2e

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// chromiumTimeout bounds one page load. A load that takes longer is the
// invisible certificate picker of headless Chromium (a certificate passed
// the filter and no AutoSelectCertificateForUrls rule matched), not a slow
// machine: a normal visit takes 1-3 s.
const chromiumTimeout = 30 * time.Second

// chromiumFlags are the recipe's flags (shared/recipes/real-clients.md
// §5.3): no sandbox (root, containers), no GPU, and nothing that talks to
// the network besides the page itself.
var chromiumFlags = []string{"--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
	"--disable-component-update", "--disable-sync", "--no-first-run"}

// chromiumPolicyDir is where Debian's chromium reads machine policies.
// Headless Chromium has no per-profile or command-line way to auto-select a
// client certificate that works (--policy is ignored by this build).
const chromiumPolicyDir = "/etc/chromium/policies/managed"

// installChromiumPolicy writes an AutoSelectCertificateForUrls policy for
// the gateway's origins. The filter is empty: Chromium then picks the first
// certificate it would offer, so the server's CA list and Chromium's own
// KU/EKU filter (which run before the policy) still decide, and those are
// what the test observes. The file, and every directory created for it, is
// removed in t.Cleanup, which runs also when the test fails.
func installChromiumPolicy(t *testing.T, port int) {
	t.Helper()
	var created []string
	t.Cleanup(func() {
		for i := len(created) - 1; i >= 0; i-- {
			// Remove, not RemoveAll: a directory is left alone when
			// something else put a file into it meanwhile.
			if err := os.Remove(created[i]); err != nil {
				t.Logf("remove %s: %v", created[i], err)
			}
		}
	})
	for _, d := range []string{filepath.Dir(filepath.Dir(chromiumPolicyDir)), filepath.Dir(chromiumPolicyDir), chromiumPolicyDir} {
		if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.Mkdir(d, 0o755); errors.Is(err, fs.ErrExist) {
			continue // another run made it just now: theirs to remove
		} else if err != nil {
			policyUnavailable(t, err)
		}
		created = append(created, d)
	}
	// The file name is unique per run and port, so that parallel runs on
	// one machine do not remove each other's policy. The pattern is the
	// same for every run on purpose: when several files set the same
	// policy Chromium takes one file's value and does not merge lists, so
	// a per-port pattern could hide another run's rule. Only Chromium
	// started with visit's --host-resolver-rules reaches *.e2e.test.
	file := filepath.Join(chromiumPolicyDir, fmt.Sprintf("certgate-e2e-%d-%d.json", os.Getpid(), port))
	rule, err := json.Marshal(map[string]any{
		"pattern": "https://[*.]e2e.test:*",
		"filter":  map[string]any{},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Each list entry is itself a JSON string (Chromium's policy format).
	doc, err := json.MarshalIndent(map[string]any{"AutoSelectCertificateForUrls": []string{string(rule)}}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	created = append(created, file) // removed first: the cleanup runs in reverse
	if err := os.WriteFile(file, doc, 0o644); err != nil {
		created = created[:len(created)-1]
		policyUnavailable(t, err)
	}
	t.Logf("Chromium policy %s: %s", file, doc)
}

func policyUnavailable(t *testing.T, err error) {
	t.Helper()
	msg := fmt.Sprintf("write the Chromium policy under %s (needs root): %v", chromiumPolicyDir, err)
	if inCI() {
		t.Fatal(msg)
	}
	t.Skip(msg + "; skipping")
}

// nssHome creates a HOME whose NSS database ($HOME/.pki/nssdb, where
// Chromium on Linux looks) holds the client certificate of a PKI entry with
// its key, and trusts rootA for the gateway's server certificate.
func nssHome(t *testing.T, p *testPKI, client string) string {
	t.Helper()
	home := t.TempDir()
	db := "sql:" + filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(filepath.Join(home, ".pki", "nssdb"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]string{
		{"certutil", "-N", "-d", db, "--empty-password"},
		{"pk12util", "-i", p.p12(client), "-d", db, "-W", p12Password},
		{"certutil", "-A", "-d", db, "-n", "certgate e2e Root A", "-t", "C,,", "-i", p.cert("rootA")},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, errOut, err := runClient(ctx, nil, "", c[0], c[1:]...)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v\n%s%s", strings.Join(c, " "), err, out, errOut)
		}
	}
	return home
}

// page is what Chromium rendered: the echo upstream's JSON (Chromium wraps
// a JSON response in <pre>) or an error page's title.
type page struct {
	echo  *echoBody
	title string
	dom   string
}

var preRE = regexp.MustCompile(`(?s)<pre[^>]*>(.*?)</pre>`)

// visit loads url in a fresh headless Chromium with a fresh profile (no
// remembered certificate choice, no TLS session to resume) and returns
// the rendered DOM. *.e2e.test resolves to 127.0.0.1 so that Chromium
// sends the site's SNI name.
func visit(t *testing.T, home, url string) page {
	t.Helper()
	profile := t.TempDir()
	args := append(append([]string(nil), chromiumFlags...),
		"--user-data-dir="+profile,
		"--host-resolver-rules=MAP *.e2e.test 127.0.0.1",
		"--dump-dom", url)
	env := []string{"HOME=" + home}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), chromiumTimeout)
	defer cancel()
	start := time.Now()
	dom, errOut, err := runClient(ctx, env, "", "chromium", args...)
	if errors.Is(err, errTimeout) {
		t.Fatalf("chromium %s: no page after %v: headless Chromium shows an invisible certificate picker when it has a certificate to offer and no AutoSelectCertificateForUrls rule matches", url, chromiumTimeout)
	}
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", url, err, lastLines(errOut, 20))
	}
	t.Logf("chromium %s: %v", url, time.Since(start).Round(time.Millisecond))
	pg := page{dom: dom, title: htmlTitle([]byte(dom))}
	if m := preRE.FindStringSubmatch(dom); m != nil {
		var e echoBody
		if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &e); err == nil {
			pg.echo = &e
		}
	}
	return pg
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestChromium drives headless Chromium with client certificates in an NSS
// database. It is not parallel: the certificate auto-selection policy is a
// machine-wide file, and Chromium is heavy on a small machine.
func TestChromium(t *testing.T) {
	needTools(t, "chromium", "certutil", "pk12util")
	p := sharedPKI(t)

	// truncated sends rootB then rootA, but max_bytes only holds rootB:
	// the Schannel 12-16 KB truncation, made small.
	onlyRootB := 2 + len(p.parse(t, "rootB").RawSubject)
	g := startGateway(t,
		site{name: "main", host: hostMain, isDef: true, roots: []string{"rootA"}},
		site{name: "ctlb", host: hostCTLB, roots: []string{"rootA"}, source: []string{"rootB"}},
		site{name: "nosend", host: hostNoSend, roots: []string{"rootA"}, noSend: true},
		site{name: "truncated", host: hostTruncated, roots: []string{"rootA"}, source: []string{"rootB", "rootA"}, maxSize: onlyRootB},
	)
	installChromiumPolicy(t, g.port)

	alice := p.parse(t, "alice").Subject.String()
	// One NSS database per client certificate, each holding only that
	// certificate, so that what Chromium offers is unambiguous.
	homes := map[string]string{}
	for _, c := range []string{"alice", "kuke", "srvonly"} {
		homes[c] = nssHome(t, p, c)
	}

	tests := []struct {
		name   string
		client string
		host   string
		// wantSite set: Chromium presented the certificate and the echo
		// upstream answered with alice's identity. Otherwise wantSub is
		// the refusal Chromium displays.
		wantSite string
		wantSub  substatus.Sub
	}{
		{name: "issuer in the sent list: presented", client: "alice", host: hostMain, wantSite: "main"},
		// The seed scenario: the gateway trusts rootA but the CTL names
		// only rootB, so Chromium offers nothing and the require location
		// answers 403.7 (curl, which ignores the list, gets 200 there:
		// TestCurl).
		{name: "CTL leaves the root out: not offered", client: "alice", host: hostCTLB, wantSub: substatus.CertRequired},
		{name: "send false: presented", client: "alice", host: hostNoSend, wantSite: "nosend"},
		{name: "root truncated off the list: not offered", client: "alice", host: hostTruncated, wantSub: substatus.CertRequired},
		// Observed (recipe §5.5): Chromium filters out a certificate whose
		// KU lacks digitalSignature or whose EKU lacks clientAuth before
		// any policy runs, so it sends nothing: 403.7, not the 403.16 the
		// gateway gives when curl sends the same certificate.
		{name: "KU keyEncipherment only: not offered", client: "kuke", host: hostMain, wantSub: substatus.CertRequired},
		{name: "EKU serverAuth only: not offered", client: "srvonly", host: hostMain, wantSub: substatus.CertRequired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pg := visit(t, homes[tc.client], g.url(tc.host, pathRequire))
			if tc.wantSite != "" {
				if pg.echo == nil {
					t.Fatalf("want the echo upstream's JSON, got page %q:\n%s", pg.title, lastLines(pg.dom, 40))
				}
				e := pg.echo
				if e.Site != tc.wantSite || !e.Client.Presented || !e.Client.Verified || e.Client.Subject != alice || e.Location.Policy != "require" {
					t.Errorf("echo: site %q presented=%v verified=%v subject %q policy %q; want site %q, alice (%q) verified on require",
						e.Site, e.Client.Presented, e.Client.Verified, e.Client.Subject, e.Location.Policy, tc.wantSite, alice)
				}
				return
			}
			if pg.echo != nil {
				t.Fatalf("want %s, but Chromium presented %q and the echo upstream answered (site %q, verified=%v)",
					tc.wantSub, pg.echo.Client.Subject, pg.echo.Site, pg.echo.Client.Verified)
			}
			if want := substatus.Must(tc.wantSub).Heading(); pg.title != want {
				t.Errorf("page title %q, want %q\n%s", pg.title, want, lastLines(pg.dom, 40))
			}
		})
	}
}

// TestChromiumDiagnosticsPage opens the self-service page in headless
// Chromium, with the certificate in the NSS database, and reads the
// rendered text: what the person at the browser sees.
func TestChromiumDiagnosticsPage(t *testing.T) {
	needTools(t, "chromium", "certutil", "pk12util")
	p := sharedPKI(t)
	g := startGateway(t,
		site{name: "main", host: hostMain, isDef: true, roots: []string{"rootA"}, diagnostics: true},
		site{name: "ctlb", host: hostCTLB, roots: []string{"rootA"}, source: []string{"rootB"}, diagnostics: true},
	)
	installChromiumPolicy(t, g.port)
	homes := map[string]string{}
	for _, c := range []string{"alice", "expired"} {
		homes[c] = nssHome(t, p, c)
	}
	aliceSHA := fingerprint(t, p.parse(t, "alice"))
	rootA, rootB := p.parse(t, "rootA").Subject.String(), p.parse(t, "rootB").Subject.String()
	rule := func(code string) string {
		for _, r := range substatus.OfferRules() {
			if r.Code == code {
				return r.Text
			}
		}
		t.Fatalf("no offer rule %s", code)
		return ""
	}

	tests := []struct {
		name, client, host string
		want, wantNot      []string
	}{
		{
			// The issuer list names only root B: Chromium offers nothing,
			// and the page says so, with the names it was given.
			name: "issuer list excludes the user's CA", client: "alice", host: hostCTLB,
			want: []string{substatus.Must(substatus.CertRequired).Heading(), "Your browser did not send a certificate.",
				rootB, rule(substatus.OfferIssuer), "Sub-status: 403.7", "Win32: 5 (SEC_E_NO_CREDENTIALS)"},
			wantNot: []string{rootA, "CN=alice"},
		},
		{
			// Chromium hides expired certificates: the page lists that rule
			// among the reasons a browser offers none.
			name: "expired certificate", client: "expired", host: hostMain,
			want: []string{"Your browser did not send a certificate.", rule(substatus.OfferExpired), rootA, "Sub-status: 403.7"},
		},
		{
			name: "valid certificate", client: "alice", host: hostMain,
			want: []string{"Accepted", "Your certificate is accepted by this site.", "Your browser sent a certificate.",
				"CN=alice", "clientAuth", "trusted", "Sub-status: 200", "Certificate SHA-256: " + aliceSHA},
			wantNot: []string{"did not send"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pg := visit(t, homes[tc.client], g.url(tc.host, "/.well-known/certgate"))
			text := html.UnescapeString(pg.dom)
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("page lacks %q:\n%s", w, lastLines(text, 80))
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(text, w) {
					t.Errorf("page shows %q:\n%s", w, lastLines(text, 80))
				}
			}
		})
	}
	// The 403.7 page Chromium shows on the require location links to it.
	pg := visit(t, homes["alice"], g.url(hostCTLB, pathRequire))
	if !strings.Contains(pg.dom, `href="/.well-known/certgate"`) || !strings.Contains(pg.dom, "Why was I refused?") {
		t.Errorf("403 page has no link to the diagnostics page:\n%s", lastLines(pg.dom, 40))
	}
}

// fingerprint is the SHA-256 of c as certgate prints it.
func fingerprint(t *testing.T, c *x509.Certificate) string {
	t.Helper()
	return verify.Fingerprint(c)
}
