package importer

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/config"
)

// TestNginxConf translates an nginx.conf written from nginx's
// documentation (an http block including conf.d/*.conf with three TLS
// servers) and checks the policies certgate will enforce.
func TestNginxConf(t *testing.T) {
	res, err := Nginx(filepath.Join("testdata", "nginx", "nginx.conf"), NginxOptions{Output: filepath.Join(t.TempDir(), "certgate.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := res.Config
	if cfg.Listen != ":443" || len(cfg.Sites) != 3 {
		t.Fatalf("listen %q, %d sites; want :443 and 3 (the port-80 server is not TLS)", cfg.Listen, len(cfg.Sites))
	}
	abs := func(p string) string {
		a, _ := filepath.Abs(filepath.Join("testdata", "nginx", p))
		return a
	}

	intranet := siteByName(t, cfg, "intranet.example.com")
	if !intranet.Default || strings.Join(intranet.Hosts, ",") != "intranet.example.com,www.intranet.example.com" {
		t.Errorf("intranet: default %v hosts %v", intranet.Default, intranet.Hosts)
	}
	for p, want := range map[string]string{"/": "accept", "/admin/": "require", "/healthz": "accept", "/static/": "accept", "/static/private/": "require"} {
		if got := policies(intranet)[p]; got != want {
			t.Errorf("intranet %s: %q, want %q", p, got, want)
		}
	}
	ca := intranet.ClientAuth
	// optional still refuses a certificate that fails verification.
	if !ca.RejectInvalid {
		t.Error("ssl_verify_client optional: reject_invalid not set")
	}
	if ca.Trust.Roots[0] != abs("tls/client-ca.pem") {
		t.Errorf("trust.roots %v: a relative path resolves against the configuration prefix", ca.Trust.Roots)
	}
	if r := ca.Revocation; r.Mode != "cache-only" || len(r.CRLs) != 1 || r.CRLs[0] != abs("tls/client-ca.crl") {
		t.Errorf("ssl_crl: revocation %+v, want cache-only with the CRL file", r)
	}
	if ca.MaxChainLength != 3 {
		t.Errorf("ssl_verify_depth 2: max_chain_length %d, want 3", ca.MaxChainLength)
	}
	for _, l := range intranet.Locations {
		if got := strings.Join(l.Upgrade, ","); (l.Path == "/ws/") != (got == "websocket") {
			t.Errorf("location %s upgrade %q: only /ws/ passes WebSocket upgrades", l.Path, got)
		}
	}
	if intranet.Upstream != "http://10.0.0.11:8080" {
		t.Errorf("upstream %q, want the first server of upstream app_backend", intranet.Upstream)
	}
	if intranet.Certificate.Cert != "/etc/nginx/tls/intranet.crt" {
		t.Errorf("certificate %q", intranet.Certificate.Cert)
	}

	partners := siteByName(t, cfg, "partners.example.com")
	if got := strings.Join(partners.Hosts, ","); got != "partners.example.com,partners.example.net,*.partners.example.net" {
		t.Errorf("partners hosts %s (\".partners.example.net\" is the name and its subdomains)", got)
	}
	if got := policies(partners); got["/"] != "require" || got["/api/"] != "require" {
		t.Errorf("ssl_verify_client on: %v", got)
	}
	pa := partners.ClientAuth
	if len(pa.Trust.Roots) != 1 || pa.Trust.Roots[0] != abs("tls/partner-roots.pem") || len(pa.Trust.Intermediates) != 1 {
		t.Errorf("partners trust %+v: ssl_client_certificate as roots, ssl_trusted_certificate as intermediates", pa.Trust)
	}
	if pa.Revocation.Mode != "online" || pa.Revocation.Prefer != "ocsp" {
		t.Errorf("ssl_ocsp on: %+v", pa.Revocation)
	}
	if pa.MaxChainLength != 2 {
		t.Errorf("default ssl_verify_depth 1: max_chain_length %d, want 2", pa.MaxChainLength)
	}
	findItem(t, res.Report, "partners.example.com", "ssl_ocsp_responder")
	findItem(t, res.Report, "partners.example.com", "proxy_pass http://127.0.0.1:9001/v1/")

	devices := siteByName(t, cfg, "devices.example.com")
	if got := policies(devices); got["/"] != "accept" || got["/enroll"] != "require" {
		t.Errorf("devices: %v", got)
	}
	if devices.ClientAuth.RejectInvalid {
		t.Error("optional_no_ca: reject_invalid set; a failed certificate must proceed anonymously")
	}
	// No ssl_crl: nginx checks no revocation.
	if devices.ClientAuth.Revocation.Mode != "off" {
		t.Errorf("devices revocation %q, want off", devices.ClientAuth.Revocation.Mode)
	}
	if it := findItem(t, res.Report, "devices.example.com", "= NONE"); it.Kind != Stricter {
		t.Errorf("= NONE with optional_no_ca: %+v", it)
	}
	if it := findItem(t, res.Report, "devices.example.com", "$ssl_client_escaped_cert"); !it.Security {
		t.Errorf("proxy_set_header of a certificate variable: %+v", it)
	}

	findItem(t, res.Report, "", "map $ssl_client_s_dn")
	findItem(t, res.Report, "intranet.example.com", `location ~ \.php$`)
	findItem(t, res.Report, "intranet.example.com", "deny all")
	findItem(t, res.Report, "", "listen 80 default_server")
	for _, c := range []string{"conf.d/intranet.conf:23: location /admin/ with an $ssl_client_verify check", "conf.d/partners.conf:13: ssl_ocsp on"} {
		if !strings.Contains(string(res.YAML), c) {
			t.Errorf("output lacks the comment %q", c)
		}
	}
}

// TestNginxSemantics: one server per case, each checked for the policy the
// nginx semantics demand.
func TestNginxSemantics(t *testing.T) {
	const head = "http {\n server {\n listen 8443 ssl;\n server_name a.example.test;\n ssl_certificate a.pem; ssl_certificate_key a.key;\n"
	for _, tc := range []struct {
		name, body string
		check      func(t *testing.T, s *config.Site, r *Report)
	}{
		{"verify off", "location / { proxy_pass http://127.0.0.1:1; }\n", func(t *testing.T, s *config.Site, _ *Report) {
			if policies(s)["/"] != "ignore" || len(s.ClientAuth.Trust.Roots) != 0 {
				t.Errorf("%v %v", policies(s), s.ClientAuth.Trust)
			}
		}},
		{"trusted only: no names sent", "ssl_verify_client on; ssl_trusted_certificate ca.pem;\n", func(t *testing.T, s *config.Site, _ *Report) {
			if s.ClientAuth.IssuerList.Send == nil || *s.ClientAuth.IssuerList.Send {
				t.Errorf("issuer_list.send %v, want false", s.ClientAuth.IssuerList.Send)
			}
		}},
		{"server-level if", "ssl_verify_client optional; ssl_client_certificate ca.pem;\nif ($ssl_client_verify != SUCCESS) { return 403; }\nlocation /x { }\n", func(t *testing.T, s *config.Site, _ *Report) {
			if p := policies(s); p["/"] != "require" || p["/x"] != "require" {
				t.Errorf("%v: a server-level check applies to every location", p)
			}
		}},
		{"if without ssl_verify_client", "location /admin/ { if ($ssl_client_verify != SUCCESS) { return 403; } }\n", func(t *testing.T, s *config.Site, r *Report) {
			if policies(s)["/admin/"] != "require" {
				t.Errorf("%v", policies(s))
			}
			findItem(t, r, "", "without ssl_verify_client")
		}},
		{"exact location stricter than the server becomes a prefix", "ssl_verify_client optional; ssl_client_certificate ca.pem;\nlocation = /admin { if ($ssl_client_verify != SUCCESS) { return 403; } }\n", func(t *testing.T, s *config.Site, r *Report) {
			if policies(s)["/admin"] != "require" {
				t.Errorf("%v", policies(s))
			}
			if it := findItem(t, r, "", "location = /admin"); it.Kind != Stricter {
				t.Errorf("%+v", it)
			}
		}},
		{"ocsp with crl", "ssl_verify_client on; ssl_client_certificate ca.pem; ssl_ocsp leaf; ssl_crl c.crl;\n", func(t *testing.T, s *config.Site, r *Report) {
			if rv := s.ClientAuth.Revocation; rv.Mode != "online" || len(rv.CRLs) != 1 {
				t.Errorf("%+v", rv)
			}
			if it := findItem(t, r, "", "ssl_ocsp leaf"); it.Kind == "" {
				t.Error("no entry")
			}
		}},
		{"unknown ssl_verify_client value is require", "ssl_verify_client maybe; ssl_client_certificate ca.pem;\n", func(t *testing.T, s *config.Site, _ *Report) {
			if policies(s)["/"] != "require" {
				t.Errorf("%v", policies(s))
			}
		}},
		{"other $ssl_client condition reported", "ssl_verify_client on; ssl_client_certificate ca.pem;\nif ($ssl_client_s_dn !~ \"O=Corp\") { return 403; }\n", func(t *testing.T, _ *config.Site, r *Report) {
			if it := findItem(t, r, "", "$ssl_client_s_dn"); !it.Security {
				t.Errorf("%+v", it)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := mapNginxSource(map[string][]byte{"nginx.conf": []byte(head + tc.body + "}\n}\n")})
			res, err := nginxFrom(src, "nginx.conf", NginxOptions{Output: filepath.Join(t.TempDir(), "c.yaml")})
			if err != nil {
				t.Fatal(err)
			}
			if res.Config.Listen != ":8443" {
				t.Errorf("listen %q", res.Config.Listen)
			}
			tc.check(t, &res.Config.Sites[0], res.Report)
		})
	}
}

func TestNginxErrors(t *testing.T) {
	for _, tc := range []struct{ name, conf, want string }{
		{"no tls server", "http { server { listen 80; } }", "no server block"},
		{"unbalanced", "http { server {", "unexpected end of file"},
		{"stray brace", "}", `unexpected "}"`},
		{"missing semicolon", "http { server { listen 443 ssl } }", `missing ";"`},
		{"include missing", "include nope.conf;", "include nope.conf"},
		{"include cycle", "include nginx.conf;", "nested deeper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := mapNginxSource(map[string][]byte{"nginx.conf": []byte(tc.conf)})
			_, err := nginxFrom(src, "nginx.conf", NginxOptions{Output: filepath.Join(t.TempDir(), "c.yaml")})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestNginxLexer: nginx's token rules: quotes, escapes, comments, ${var}.
func TestNginxLexer(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string // name then args of the first directive
	}{
		{"plain", "listen 443 ssl;", []string{"listen", "443", "ssl"}},
		{"double quotes", `return 200 "a b;{}";`, []string{"return", "200", "a b;{}"}},
		{"single quotes", `add_header X 'it''s';`, nil},
		{"escaped quote", `return 200 "say \"hi\"";`, []string{"return", "200", `say "hi"`}},
		{"escapes", `return 200 "a\tb\\c\x";`, []string{"return", "200", "a\tb\\c\\x"}},
		// As in nginx: the backslash keeps ';' in the word and stays.
		{"unquoted escape", `set $a a\;b;`, []string{"set", "$a", `a\;b`}},
		{"comment", "# c ; {\nlisten 1; # trailing", []string{"listen", "1"}},
		{"hash inside word", "set $a a#b;", []string{"set", "$a", "a#b"}},
		{"variable braces", "set $a ${b}c;", []string{"set", "$a", "${b}c"}},
		{"if parens", `if ($ssl_client_verify != "SUCCESS") { return 403; }`, []string{"if", "($ssl_client_verify", "!=", "SUCCESS", ")"}},
		{"crlf", "listen\r\n443;\r\n", []string{"listen", "443"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := mapNginxSource(map[string][]byte{"n.conf": []byte(tc.in)})
			ds, err := src.parseFile("n.conf", 0)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("parsed %q without error", tc.in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := append([]string{ds[0].name}, ds[0].args...)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestNginxIncludeLines: directives from included files keep their own
// file and line; a glob matching nothing is no error.
func TestNginxIncludeLines(t *testing.T) {
	src := mapNginxSource(map[string][]byte{
		"nginx.conf":    []byte("http {\n  include conf.d/*.conf;\n  include none/*.conf;\n}\n"),
		"conf.d/a.conf": []byte("\n\nserver { listen 443 ssl; }\n"),
	})
	ds, err := src.parseFile("nginx.conf", 0)
	if err != nil {
		t.Fatal(err)
	}
	srv := ds[0].block[0]
	if srv.name != "server" || srv.file != "conf.d/a.conf" || srv.line != 3 {
		t.Errorf("server at %s:%d (%s)", srv.file, srv.line, srv.name)
	}
}
