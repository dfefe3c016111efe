package report

import (
	"bytes"
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

type fixture struct {
	dir   string
	cfg   *config.Config
	files map[string]string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	root := pkitest.NewRoot(t, "Corp Root")
	inter := root.Intermediate(t, "Corp Issuing CA")
	other := pkitest.NewRoot(t, "Other Root")
	pkitest.WriteCerts(t, dir, "roots.pem", root.Cert)
	pkitest.WriteCerts(t, dir, "inter.pem", inter.Cert)
	name := func(cn, o string) pki.Option {
		return pki.WithSubject(pkix.Name{CommonName: cn, Organization: []string{o}})
	}
	files := map[string]string{}
	write := func(file string, l *pki.Leaf, withChain bool) {
		certs := l.Chain()
		if !withChain {
			certs = certs[:1]
		}
		files[file] = pkitest.WriteCerts(t, dir, file, certs...)
	}
	write("alice.pem", inter.Client(t, "alice", name("alice", "Corp"), pki.WithUPN("alice@corp.example")), true)
	write("alice-leaf-only.pem", inter.Client(t, "alice2", name("alice2", "Corp")), false)
	write("mallory.pem", inter.Client(t, "mallory", name("mallory", "Contractors")), true)
	write("carol.pem", inter.Client(t, "carol", name("carol", "Elsewhere")), true)
	write("stranger.pem", other.Client(t, "stranger", name("stranger", "Corp")), true)
	write("expired.pem", inter.Client(t, "old", name("old", "Corp"),
		pki.WithValidity(time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))), true)
	revoked := inter.Client(t, "revoked", name("revoked", "Corp"))
	write("revoked.pem", revoked, true)
	// Local CRLs for the leaves and the intermediate: map test checks
	// revocation with the site's engine, without the network.
	pkitest.WriteFile(t, dir, "inter.crl", inter.CRL(t, pki.CRLOptions{}, revoked.Cert))
	pkitest.WriteFile(t, dir, "root.crl", root.CRL(t, pki.CRLOptions{}))

	yaml := `sites:
  - name: app
    hosts: [app.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem, intermediates: inter.pem}
      revocation: {crls: [inter.crl, root.crl]}
    locations:
      - {path: /, client_cert: require}
      - {path: /admin, client_cert: require, allow_groups: [admins]}
      - {path: /corp, client_cert: require, allow_users: [Alice]}
    mapping:
      required: true
      many_to_one:
        - {name: contractors, match: {subject: {O: Contractors}}, deny: true}
        - {name: corp, match: {subject: {O: Corp}, issuer: {CN: "Corp Issuing*"}}, user: "{CN}", groups: [staff]}
  - name: other
    hosts: [other.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
`
	p := filepath.Join(dir, "certgate.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(p)
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	return fixture{dir: dir, cfg: cfg, files: files}
}

func TestRunTest(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		file     string
		ok       bool
		status   string
		user     string
		rule     string
		text     []string
		locAdmin string // status of /admin
	}{
		{"alice.pem", true, "200", "alice", "many_to_one[1] (corp)",
			[]string{`user "alice", groups staff`, "UPN alice@corp.example", "MATCH  many_to_one[1] (corp)", "location /corp"}, "403.100"},
		// The intermediate comes from trust.intermediates, as in the gateway.
		{"alice-leaf-only.pem", true, "200", "alice2", "many_to_one[1] (corp)", []string{"chain"}, "403.100"},
		{"mallory.pem", false, "403.12", "", "many_to_one[0] (contractors)",
			[]string{"result  denied", "HTTP Error 403.12 - Forbidden: Mapper denied access", "SEC_E_LOGON_DENIED"}, "403.12"},
		{"carol.pem", false, "403.12", "", "no rule matched",
			[]string{"mapping is required and no rule maps the certificate", `subject.O: "Elsewhere" does not match "Corp"`}, "403.12"},
		{"stranger.pem", false, "403.16", "", "no rule matched",
			[]string{"verified         no: 403.16 CERT_E_CHAINING", "for reference", `issuer.CN: "Other Root" does not match`}, "403.16"},
		{"expired.pem", false, "403.17", "", "", []string{"CERT_E_EXPIRED"}, "403.17"},
		// The site's revocation engine runs, as in the gateway (cache-only).
		{"revoked.pem", false, "403.13", "", "", []string{"CRYPT_E_REVOKED"}, "403.13"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r, err := RunTest(context.Background(), f.cfg, "app", f.files[tt.file], time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() != tt.ok || r.Decision.Status != tt.status {
				t.Fatalf("OK = %v, decision %+v; want ok=%v status %s", r.OK(), r.Decision, tt.ok, tt.status)
			}
			if tt.user != "" && r.Result.User != tt.user {
				t.Errorf("user = %q, want %q", r.Result.User, tt.user)
			}
			if tt.rule != "" && r.Result.Rule != tt.rule {
				t.Errorf("rule = %q, want %q", r.Result.Rule, tt.rule)
			}
			var admin *LocationAccess
			for i := range r.Locations {
				if r.Locations[i].Path == "/admin" {
					admin = &r.Locations[i]
				}
			}
			if admin == nil || admin.Status != tt.locAdmin {
				t.Errorf("/admin = %+v, want status %s", admin, tt.locAdmin)
			}
			var buf bytes.Buffer
			if err := r.WriteText(&buf); err != nil {
				t.Fatal(err)
			}
			// Compare with runs of spaces collapsed: column widths are
			// tabwriter's business.
			text := collapse(buf.String())
			for _, s := range tt.text {
				if !strings.Contains(text, collapse(s)) {
					t.Errorf("text output lacks %q:\n%s", s, buf.String())
				}
			}
			var back Test
			b, err := json.Marshal(r)
			if err != nil || json.Unmarshal(b, &back) != nil || back.Decision.Status != tt.status {
				t.Errorf("JSON round trip: %v, %s", err, b)
			}
		})
	}
}

func TestRunTestSiteAndInputErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := RunTest(ctx, f.cfg, "", f.files["alice.pem"], time.Time{}); !errors.Is(err, ErrUnknownSite) || !strings.Contains(err.Error(), "--site") {
		t.Errorf("no --site with two sites: %v", err)
	}
	if _, err := RunTest(ctx, f.cfg, "nope", f.files["alice.pem"], time.Time{}); !errors.Is(err, ErrUnknownSite) || !strings.Contains(err.Error(), `"app"`) {
		t.Errorf("unknown site: %v", err)
	}
	if _, err := RunTest(ctx, f.cfg, "app", filepath.Join(f.dir, "missing.pem"), time.Time{}); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("missing certificate file: %v", err)
	}
	// A site without trust roots never maps: not OK, and says why.
	r, err := RunTest(ctx, f.cfg, "other", f.files["alice.pem"], time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || r.Configured || !strings.Contains(r.Verification.Note, "never verifies") {
		t.Errorf("site without trust: %+v", r)
	}
}

func TestRunList(t *testing.T) {
	f := newFixture(t)
	l, err := RunList(f.cfg, "app")
	if err != nil {
		t.Fatal(err)
	}
	if !l.Required || len(l.Rules) != 2 || len(l.Locations) != 2 {
		t.Fatalf("RunList = %+v", l)
	}
	var buf bytes.Buffer
	if err := l.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	text := collapse(buf.String())
	for _, s := range []string{
		"mapping required",
		`many_to_one[0] (contractors)  subject.O equals "Contractors" (case-insensitive)`,
		"deny (403.12)",
		`and issuer.CN matches "Corp Issuing*" (case-insensitive)`,
		"user {CN}, groups staff",
		"/admin (client_cert: require): groups admins",
	} {
		if !strings.Contains(text, collapse(s)) {
			t.Errorf("list output lacks %q:\n%s", s, buf.String())
		}
	}
	other, err := RunList(f.cfg, "other")
	if err != nil || other.Configured || len(other.Rules) != 0 {
		t.Errorf("RunList(other) = %+v, %v", other, err)
	}
}

func TestRunListBadMappingFileNamesField(t *testing.T) {
	f := newFixture(t)
	f.cfg.Sites[0].Mapping.OneToOne = []config.OneToOne{{Cert: filepath.Join(f.dir, "nope.pem"), User: "x"}}
	_, err := RunList(f.cfg, "app")
	if err == nil || !strings.Contains(err.Error(), "certgate.yaml:") || !strings.Contains(err.Error(), "sites[0].mapping.one_to_one[0].cert: ") {
		t.Errorf("RunList = %v, want an error anchored at sites[0].mapping.one_to_one[0].cert in certgate.yaml", err)
	}
}

var spaces = regexp.MustCompile(` {2,}`)

func collapse(s string) string { return spaces.ReplaceAllString(s, " ") }
