package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/config"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func importIIS(t *testing.T, o IISOptions) *Result {
	t.Helper()
	o.Name = "applicationHost.config"
	if o.Netsh == nil {
		o.Netsh = readTestdata(t, "iis/netsh-sslcert.txt")
		o.NetshName = "netsh-sslcert.txt"
	}
	o.Output = filepath.Join(t.TempDir(), "certgate.yaml")
	res, err := IIS(readTestdata(t, "iis/applicationHost.config"), o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func siteByName(t *testing.T, cfg *config.Config, name string) *config.Site {
	t.Helper()
	for i := range cfg.Sites {
		if cfg.Sites[i].Name == name {
			return &cfg.Sites[i]
		}
	}
	t.Fatalf("no site %q in the output", name)
	return nil
}

func policies(s *config.Site) map[string]string {
	out := map[string]string{}
	for _, l := range s.Locations {
		out[l.Path] = l.ClientCert
	}
	return out
}

// findItem returns the report entry whose setting contains setting, for
// the site (any site when "").
func findItem(t *testing.T, r *Report, site, setting string) Item {
	t.Helper()
	for _, it := range r.Items {
		if (site == "" || it.Site == site) && strings.Contains(it.Setting, setting) {
			return it
		}
	}
	t.Fatalf("no report entry for %q (site %q) in:\n%s", setting, site, reportText(r))
	return Item{}
}

func reportText(r *Report) string {
	var b strings.Builder
	_ = r.WriteText(&b)
	return b.String()
}

// TestIISApplicationHost translates an applicationHost.config written from
// Microsoft's configuration reference, with the netsh output of its
// bindings, and checks the policies certgate will enforce.
func TestIISApplicationHost(t *testing.T) {
	res := importIIS(t, IISOptions{})
	cfg := res.Config
	if cfg.Listen != ":443" {
		t.Errorf("listen = %q, want :443", cfg.Listen)
	}
	if len(cfg.Sites) != 2 {
		t.Fatalf("%d sites, want 2 (Default Web Site has no https binding)", len(cfg.Sites))
	}

	intranet := siteByName(t, cfg, "Contoso-Intranet")
	if got := strings.Join(intranet.Hosts, ","); got != "intranet.contoso.com,hr.contoso.com" {
		t.Errorf("hosts = %s", got)
	}
	want := map[string]string{"/": "accept", "/payroll": "require", "/public": "ignore"}
	for p, pol := range want {
		if got := policies(intranet)[p]; got != pol {
			t.Errorf("Contoso-Intranet %s: client_cert %q, want %q", p, got, pol)
		}
	}
	for _, l := range intranet.Locations {
		if l.Path == "/payroll" && (len(l.AllowGroups) != 1 || l.AllowGroups[0] != `CONTOSO\Payroll`) {
			t.Errorf("/payroll allow_groups %v, want the role of its <authorization>", l.AllowGroups)
		}
	}
	ca := intranet.ClientAuth
	if !ca.RejectInvalid {
		t.Error("accept locations: reject_invalid not set (the stricter translation)")
	}
	if r := ca.Revocation; r.Mode != "online" || r.MaxAge != time.Hour || r.Timeout != 15*time.Second {
		t.Errorf("revocation = %+v, want online, max_age 1h (Revocation Freshness Time 3600), timeout 15s (URL Retrieval Timeout 15000)", r)
	}
	if len(ca.Trust.Roots) != 1 || !strings.HasSuffix(ca.Trust.Roots[0], "certs/Contoso-Intranet-ctl.pem") {
		t.Errorf("trust.roots = %v, want the CTL placeholder", ca.Trust.Roots)
	}
	findItem(t, res.Report, "Contoso Intranet", "Ctl Identifier : ContosoClientCAs")

	m := intranet.Mapping
	if m == nil || !m.Required {
		t.Fatalf("mapping = %+v, want required (anonymousAuthentication disabled)", m)
	}
	if len(m.OneToOne) != 1 || m.OneToOne[0].User != `CONTOSO\jdoe` || m.OneToOne[0].Fingerprint != "6fc7053910163a7463ed3fd515824f569792f81e5932db4b4848b8e059929bcc" {
		t.Errorf("one_to_one = %+v", m.OneToOne)
	}
	// The certificate of the mapping is written out too.
	f := res.Files["certs/Contoso-Intranet-one-to-one-1.pem"]
	blk, _ := pem.Decode(f)
	if blk == nil {
		t.Fatal("one-to-one certificate not written as PEM")
	}
	if sum := sha256.Sum256(blk.Bytes); hex.EncodeToString(sum[:]) != m.OneToOne[0].Fingerprint {
		t.Error("the written certificate is not the mapped one")
	}
	if len(m.ManyToOne) != 2 {
		t.Fatalf("many_to_one = %+v, want the deny rule and Contoso Employees (Two OUs is not expressible)", m.ManyToOne)
	}
	if r := m.ManyToOne[0]; !r.Deny || r.Match.Subject["OU"] != "Contractors*" {
		t.Errorf("many_to_one[0] = %+v, want the deny rule on OU=Contractors*", r)
	}
	if r := m.ManyToOne[1]; r.User != `CONTOSO\employee` || r.Match.Subject["O"] != "Contoso" || r.Match.Issuer["CN"] != "Contoso Issuing CA*" {
		t.Errorf("many_to_one[1] = %+v", r)
	}
	if it := findItem(t, res.Report, "Contoso Intranet", `"Two OUs"`); it.Kind != Stricter || !it.Security {
		t.Errorf("Two OUs: %+v, want a security stricter entry", it)
	}
	findItem(t, res.Report, "Contoso Intranet", "compareCaseSensitive")
	if !intranet.Paths.CaseInsensitive {
		t.Error("paths.case_insensitive not set: IIS matches location paths without regard to case")
	}
	findItem(t, res.Report, "Contoso Intranet", "<authorization>")
	if it := findItem(t, res.Report, "Contoso Intranet", `password of CONTOSO\jdoe`); it.Kind != NotTranslated {
		t.Errorf("password: %+v", it)
	}
	if strings.Contains(string(res.YAML), "enc:IISCngProvider") || strings.Contains(string(res.YAML), "bm90IGEgcmVhbCBwYXNzd29yZA") {
		t.Error("a password reached the output")
	}

	portal := siteByName(t, cfg, "Partner-Portal")
	if !portal.Default || len(portal.Hosts) != 0 {
		t.Errorf("Partner-Portal: default %v hosts %v, want the default site (binding without host)", portal.Default, portal.Hosts)
	}
	if got := policies(portal)["/"]; got != "require" {
		t.Errorf("Partner-Portal /: %q, want require", got)
	}
	if got := strings.Join(portal.Locations[0].Upgrade, ","); got != "websocket" {
		t.Errorf("Partner-Portal upgrade %q, want websocket (<webSocket enabled=\"true\">)", got)
	}
	if len(intranet.Locations[0].Upgrade) != 0 {
		t.Errorf("Contoso-Intranet passes upgrades %v without <webSocket>", intranet.Locations[0].Upgrade)
	}
	if portal.Upstream != "http://10.0.5.20:8080" {
		t.Errorf("Partner-Portal upstream = %q, want the URL Rewrite target", portal.Upstream)
	}
	if portal.ClientAuth.Revocation.Mode != "cache-only" {
		t.Errorf("Partner-Portal revocation mode %q, want cache-only", portal.ClientAuth.Revocation.Mode)
	}
	// Active Directory mapping becomes a directory block to complete; its
	// placeholders fail closed.
	pm := portal.Mapping
	if pm == nil || pm.Directory == nil || !pm.Required || len(pm.ManyToOne) != 0 {
		t.Fatalf("Partner-Portal mapping = %+v, want a required directory block", pm)
	}
	if d := pm.Directory; !strings.HasPrefix(d.URL, "ldaps://") || d.PasswordFile == "" || len(d.Methods) == 0 {
		t.Errorf("directory = %+v", d)
	}
	if it := findItem(t, res.Report, "Partner Portal", "Active Directory"); it.Kind != Todo || !it.Security {
		t.Errorf("AD mapping: %+v", it)
	}
	findItem(t, res.Report, "Partner Portal", "Usage Check")
	findItem(t, res.Report, "Default Web Site", `<site name="Default Web Site">`)
	findItem(t, res.Report, "", "<requestFiltering>")

	// Comments name the source lines.
	for _, c := range []string{
		`applicationHost.config:128: <location path="Contoso Intranet/payroll">`,
		"netsh-sslcert.txt:9",
		"applicationHost.config:100: manyToOneMappings",
	} {
		if !strings.Contains(string(res.YAML), c) {
			t.Errorf("output lacks the comment %q", c)
		}
	}
}

// TestIISCTLFile: with the CTL exported, its CAs are the issuer list and the
// only trust anchors.
func TestIISCTLFile(t *testing.T) {
	ctl := filepath.Join(t.TempDir(), "ctl.pem")
	if err := os.WriteFile(ctl, []byte("placeholder"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := importIIS(t, IISOptions{CTLFile: ctl, Site: "contoso intranet"})
	if len(res.Config.Sites) != 1 {
		t.Fatalf("--site: %d sites", len(res.Config.Sites))
	}
	if got := res.Config.Sites[0].ClientAuth.Trust.Roots; len(got) != 1 || got[0] != ctl {
		t.Errorf("trust.roots = %v, want %s", got, ctl)
	}
	if it := findItem(t, res.Report, "", "Ctl Identifier"); it.Kind != Stricter {
		t.Errorf("CTL: %+v, want stricter", it)
	}
}

// TestIISWithoutNetsh: revocation falls back to IIS's default, online, and
// the report says to pass --netsh.
func TestIISWithoutNetsh(t *testing.T) {
	res, err := IIS(readTestdata(t, "iis/applicationHost.config"), IISOptions{Output: filepath.Join(t.TempDir(), "c.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Config.Sites {
		if s.ClientAuth.Revocation.Mode != "online" {
			t.Errorf("%s: revocation %q, want online", s.Name, s.ClientAuth.Revocation.Mode)
		}
	}
	findItem(t, res.Report, "Contoso Intranet", "revocation")
}

func TestParseSslFlags(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		unknown  bool
	}{
		{"None", "ignore", false},
		{"Ssl", "ignore", false},
		{"Ssl, SslNegotiateCert", "accept", false},
		{"SslNegotiateCert,Ssl", "accept", false},
		{"Ssl, SslNegotiateCert, SslRequireCert", "require", false},
		{"SslRequireCert, Ssl128, SslNegotiateCert, Ssl", "require", false},
		{"sslrequirecert", "require", false},
		{"Ssl128", "ignore", false},
		{"104", "require", false}, // Ssl|SslNegotiateCert|SslRequireCert as a number
		{"40", "accept", false},
		{"Ssl, SslFoo", "ignore", true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			f, unknown := parseSslFlags(tc.in)
			if got := policyOf(f); got != tc.want || (len(unknown) > 0) != tc.unknown {
				t.Errorf("parseSslFlags(%q) -> %s unknown %v, want %s unknown %v", tc.in, got, unknown, tc.want, tc.unknown)
			}
		})
	}
}

// TestIISUnknownFlagIsRequire: a flag this importer does not know is
// translated as require, the stricter reading.
func TestIISUnknownFlagIsRequire(t *testing.T) {
	x := `<configuration><system.applicationHost><sites><site name="S" id="1"><bindings>
<binding protocol="https" bindingInformation="*:8443:s.example.test" sslFlags="1"/></bindings></site></sites></system.applicationHost>
<location path="S/x"><system.webServer><security><access sslFlags="Ssl, SslFutureFlag"/></security></system.webServer></location>
</configuration>`
	res, err := IIS([]byte(x), IISOptions{Output: filepath.Join(t.TempDir(), "c.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if got := policies(&res.Config.Sites[0])["/x"]; got != "require" {
		t.Errorf("/x = %q, want require", got)
	}
	if res.Config.Listen != ":8443" {
		t.Errorf("listen %q", res.Config.Listen)
	}
	findItem(t, res.Report, "S", "SslFutureFlag")
}

func TestIISErrors(t *testing.T) {
	for _, tc := range []struct {
		name, xml, want string
		o               IISOptions
	}{
		{"not xml", "hello", "parse", IISOptions{}},
		{"wrong root", "<web/>", "want <configuration>", IISOptions{}},
		{"no sites", "<configuration/>", "no <system.applicationHost><sites>", IISOptions{}},
		{"no https", `<configuration><system.applicationHost><sites><site name="a"><bindings><binding protocol="http" bindingInformation="*:80:"/></bindings></site></sites></system.applicationHost></configuration>`, "no site with an https binding", IISOptions{}},
		{"unknown site", `<configuration><system.applicationHost><sites/></system.applicationHost></configuration>`, `no site named "x"`, IISOptions{Site: "x"}},
		{"unclosed", "<configuration><a>", "parse", IISOptions{}},
		{"deep", strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100), "nested deeper", IISOptions{}},
		{"netsh utf16", `<configuration/>`, "UTF-16", IISOptions{Netsh: []byte("\xff\xfeI\x00P\x00")}},
		{"netsh garbage", `<configuration/>`, "no SSL certificate binding", IISOptions{Netsh: []byte("hello\n")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Output = filepath.Join(t.TempDir(), "c.yaml")
			_, err := IIS([]byte(tc.xml), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseNetsh(t *testing.T) {
	entries, err := parseNetsh("n.txt", readTestdata(t, "iis/netsh-sslcert.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("%d entries, want 3", len(entries))
	}
	e := matchNetsh(entries, "*", "443", "intranet.contoso.com", true)
	if e == nil || e.line != 5 {
		t.Fatalf("SNI match: %+v", e)
	}
	if f, _ := e.get("Ctl Identifier"); f.value != "ContosoClientCAs" || f.line != 14 {
		t.Errorf("Ctl Identifier = %+v", f)
	}
	if e := matchNetsh(entries, "*", "443", "", false); e == nil || e.endpoint != "0.0.0.0:443" {
		t.Errorf("IP match: %+v", e)
	}
	if e := matchNetsh(entries, "*", "8443", "", false); e != nil {
		t.Errorf("port 8443 matched %+v", e)
	}
}

// TestIISInvalidHost: a binding host certgate refuses is reported, not
// written (the output must always load).
func TestIISInvalidHost(t *testing.T) {
	x := `<configuration><system.applicationHost><sites><site name="S" id="1"><bindings>
<binding protocol="https" bindingInformation="*:443:10.1.2.3" />
<binding protocol="https" bindingInformation="*:443:ok.example.test" sslFlags="1" /></bindings></site></sites></system.applicationHost>
</configuration>`
	res, err := IIS([]byte(x), IISOptions{Output: filepath.Join(t.TempDir(), "c.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Config.Sites[0].Hosts; len(got) != 1 || got[0] != "ok.example.test" {
		t.Errorf("hosts %v", got)
	}
	findItem(t, res.Report, "S", "10.1.2.3")
}

// TestIISAuthorization: URL Authorization rules become allow lists, the
// stricter way when they cannot be said exactly.
func TestIISAuthorization(t *testing.T) {
	const head = `<configuration><system.applicationHost><sites><site name="S" id="1"><bindings>
<binding protocol="https" bindingInformation="*:443:s.example.test" sslFlags="1"/></bindings></site></sites></system.applicationHost>
<location path="S"><system.webServer><security><access sslFlags="Ssl, SslNegotiateCert"/>
<authentication><iisClientCertificateMappingAuthentication enabled="true"><manyToOneMappings>
<add name="all" userName="u"><rules><add certificateField="Subject" certificateSubField="O" matchCriteria="*"/></rules></add>
</manyToOneMappings></iisClientCertificateMappingAuthentication></authentication></security></system.webServer></location>
<location path="S/x"><system.webServer><security><authorization>`
	const tail = `</authorization></security></system.webServer></location></configuration>`
	for _, tc := range []struct {
		name, rules   string
		policy        string
		users, groups string
		wantItem      string
	}{
		{"allow users", `<remove users="*"/><add accessType="Allow" users="a, b"/>`, "accept", "a,b", "", "<authorization>"},
		{"allow roles", `<add accessType="Allow" roles="D\\G"/>`, "accept", "", `D\\G`, "<authorization>"},
		{"allow everyone", `<add accessType="Allow" users="*"/><add accessType="Allow" users="a"/>`, "", "", "", ""},
		{"deny anonymous", `<add accessType="Deny" users="?"/>`, "require", "", "", `Deny users="?"`},
		{"deny named users", `<add accessType="Deny" users="mallory"/>`, "", "", "", "Deny users"},
		{"verbs", `<add accessType="Allow" users="a" verbs="GET"/>`, "", "", "", "verbs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := IIS([]byte(head+tc.rules+tail), IISOptions{Output: filepath.Join(t.TempDir(), "c.yaml")})
			if err != nil {
				t.Fatal(err)
			}
			var x *config.Location
			for i, l := range res.Config.Sites[0].Locations {
				if l.Path == "/x" {
					x = &res.Config.Sites[0].Locations[i]
				}
			}
			if tc.policy == "" {
				if x != nil && (len(x.AllowUsers) > 0 || len(x.AllowGroups) > 0) {
					t.Errorf("/x restricted: %+v", x)
				}
			} else {
				if x == nil {
					t.Fatal("no /x location")
				}
				if x.ClientCert != tc.policy || strings.Join(x.AllowUsers, ",") != tc.users || strings.Join(x.AllowGroups, ",") != tc.groups {
					t.Errorf("/x = %+v, want %s users %q groups %q", x, tc.policy, tc.users, tc.groups)
				}
			}
			if tc.wantItem != "" {
				findItem(t, res.Report, "S", tc.wantItem)
			}
		})
	}
}
