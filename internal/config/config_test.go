package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// minimal is the smallest valid config; tests append to or edit it.
const minimal = `sites:
  - name: intranet
    hosts: [intranet.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
`

// fieldErrors returns the messages of a (possibly joined) error, one per
// problem, and checks each one is a *FieldError.
func fieldErrors(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, fieldErrors(t, e)...)
		}
		return out
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Errorf("error %q (%T) is not a *FieldError", err, err)
	}
	return []string{err.Error()}
}

func mustParse(t *testing.T, yaml, name string) *Config {
	t.Helper()
	c, err := Parse([]byte(yaml), name)
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return c
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, minimal, "certgate.yaml")
	s := c.Sites[0]
	il := s.ClientAuth.IssuerList
	r := s.ClientAuth.Revocation
	tests := []struct {
		field string
		got   any
		want  any
	}{
		{"listen", c.Listen, "127.0.0.1:8443"},
		{"timeouts.handshake", c.Timeouts.Handshake, 10 * time.Second},
		{"timeouts.read_header", c.Timeouts.ReadHeader, 10 * time.Second},
		{"timeouts.idle", c.Timeouts.Idle, 120 * time.Second},
		{"timeouts.shutdown", c.Timeouts.Shutdown, 30 * time.Second},
		{"timeouts.upstream", c.Timeouts.Upstream, 60 * time.Second},
		{"admin.listen", c.Admin.Listen, "127.0.0.1:9443"},
		{"log.format", c.Log.Format, "text"},
		{"log.level", c.Log.Level, "info"},
		{"log.file (stderr)", c.Log.File, ""},
		{"access_log", c.AccessLog == nil, true},
		{"issuer_list.send", *il.Send, true},
		{"issuer_list.source (no roots)", len(il.Source), 0},
		{"issuer_list.warn_bytes", *il.WarnBytes, 16384},
		{"issuer_list.max_bytes", *il.MaxBytes, MaxIssuerListBytes},
		{"reject_invalid", s.ClientAuth.RejectInvalid, false},
		{"revocation.mode", r.Mode, "online"},
		{"revocation.prefer", r.Prefer, "crl"},
		{"revocation.on_unavailable", r.OnUnavailable, "deny"},
		{"revocation.timeout", r.Timeout, 5 * time.Second},
		{"revocation.max_bytes", r.MaxBytes, int64(64 << 20)},
		{"revocation.max_concurrent", r.MaxConcurrent, 8},
		{"revocation.max_age", r.MaxAge, time.Duration(0)},
		{"forward.user_header", s.Forward.UserHeader, "X-Remote-User"},
		{"forward.groups_header", s.Forward.GroupsHeader, "X-Remote-Groups"},
		{"forward.client_cert", *s.Forward.ClientCert, true},
		{"locations", len(s.Locations), 1},
		{"locations[0].path", s.Locations[0].Path, "/"},
		{"locations[0].client_cert", s.Locations[0].ClientCert, "ignore"},
		{"locations[0].reject_invalid", *s.Locations[0].RejectInvalid, false},
		{"default", s.Default, false},
		{"detailed_errors", s.DetailedErrors, false},
		{"mapping", s.Mapping == nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.field, tt.got, tt.want)
			}
		})
	}
}

func TestDefaultsDependingOnOtherFields(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(*Config) (got, want any)
	}{
		{
			name: "issuer list source defaults to the trust roots",
			yaml: minimal + "    client_auth: {trust: {roots: [a.pem, b.pem]}}\n",
			check: func(c *Config) (any, any) {
				return []string(c.Sites[0].ClientAuth.IssuerList.Source), []string{"a.pem", "b.pem"}
			},
		},
		{
			name:  "diagnostics page path defaults to /.well-known/certgate",
			yaml:  minimal + "    diagnostics: {page: true}\n",
			check: func(c *Config) (any, any) { return c.Sites[0].Diagnostics.Path, DefaultDiagnosticsPath },
		},
		{
			name: "an explicit source replaces the roots",
			yaml: minimal + "    client_auth: {trust: {roots: [a.pem, b.pem]}, issuer_list: {source: ctl.pem}}\n",
			check: func(c *Config) (any, any) {
				return []string(c.Sites[0].ClientAuth.IssuerList.Source), []string{"ctl.pem"}
			},
		},
		{
			name:  "send false is kept",
			yaml:  minimal + "    client_auth: {issuer_list: {send: false}}\n",
			check: func(c *Config) (any, any) { return *c.Sites[0].ClientAuth.IssuerList.Send, false },
		},
		{
			name: "locations inherit the site's reject_invalid",
			yaml: minimal + `    client_auth: {trust: {roots: ca.pem}, reject_invalid: true}
    locations:
      - {path: /a, client_cert: accept}
      - {path: /b, client_cert: accept, reject_invalid: false}
`,
			check: func(c *Config) (any, any) {
				l := c.Sites[0].Locations
				return []bool{*l[0].RejectInvalid, *l[1].RejectInvalid}, []bool{true, false}
			},
		},
		{
			name:  "explicit locations replace the implicit one",
			yaml:  minimal + "    locations: [{path: /x, client_cert: ignore}]\n",
			check: func(c *Config) (any, any) { return len(c.Sites[0].Locations), 1 },
		},
		{
			name: "access log defaults",
			yaml: "access_log: {dir: logs}\n" + minimal,
			check: func(c *Config) (any, any) {
				return *c.AccessLog, AccessLog{Dir: "logs", Rollover: "daily", Buffer: 8192}
			},
		},
		{
			name:  "size rollover gets a size",
			yaml:  "access_log: {dir: logs, rollover: size}\n" + minimal,
			check: func(c *Config) (any, any) { return c.AccessLog.MaxSize, int64(20 << 20) },
		},
		{
			name: "hosts are lower-cased without trailing dot",
			yaml: strings.Replace(minimal, "[intranet.example.test]", "[Intranet.Example.TEST., \"*.Apps.example.test\"]", 1),
			check: func(c *Config) (any, any) {
				return c.Sites[0].Hosts, []string{"intranet.example.test", "*.apps.example.test"}
			},
		},
		{
			name: "enumerations are case-insensitive",
			yaml: "log: {format: JSON, level: Debug}\n" + minimal + "    client_auth: {trust: {roots: ca.pem}, revocation: {mode: Cache-Only}}\n    locations: [{path: /, client_cert: Require}]\n",
			check: func(c *Config) (any, any) {
				return []string{c.Log.Format, c.Log.Level, c.Sites[0].ClientAuth.Revocation.Mode, c.Sites[0].Locations[0].ClientCert},
					[]string{"json", "debug", "cache-only", "require"}
			},
		},
		{
			name: "explicit values win over defaults",
			yaml: "listen: 127.0.0.1:0\ntimeouts: {handshake: 3s, idle: 1m}\nadmin: {listen: \"off\"}\n" + minimal,
			check: func(c *Config) (any, any) {
				return []any{c.Listen, c.Timeouts.Handshake, c.Timeouts.Idle, c.Admin.Listen},
					[]any{"127.0.0.1:0", 3 * time.Second, time.Minute, "off"}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, want := tt.check(mustParse(t, tt.yaml, "certgate.yaml"))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %#v, want %#v", got, want)
			}
		})
	}
}

// TestErrors checks each decode and validation error: the exact message
// with file, line and field path, and that no other error is reported.
func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "empty file",
			yaml: "",
			want: []string{"certgate.yaml: empty config: the file has no settings (define at least one site under sites)"},
		},
		{
			name: "comments only",
			yaml: "# nothing yet\n",
			want: []string{"certgate.yaml: empty config: the file has no settings (define at least one site under sites)"},
		},
		{
			name: "no sites",
			yaml: "listen: 127.0.0.1:8443\n",
			want: []string{"certgate.yaml: sites: no sites: define at least one site (name, hosts, certificate, upstream)"},
		},
		{
			name: "empty sites list",
			yaml: "listen: 127.0.0.1:8443\nsites: []\n",
			want: []string{"certgate.yaml:2: sites: no sites: define at least one site (name, hosts, certificate, upstream)"},
		},
		{
			name: "session ticket keys empty and repeated",
			yaml: "session_tickets:\n  keys: [a.key, \"\", a.key]\n" + minimal,
			want: []string{
				"certgate.yaml:2: session_tickets.keys[1]: must name a key file (certgate pki ticket-key -o FILE writes one)",
				"certgate.yaml:2: session_tickets.keys[2]: a.key is listed twice",
			},
		},
		{
			name: "fetch proxy not an http URL",
			yaml: minimal + "    client_auth:\n      trust: {roots: r.pem}\n      revocation: {fetch_proxy: \"socks5://p:1080\"}\n",
			want: []string{`certgate.yaml:8: sites[0].client_auth.revocation.fetch_proxy: must be an http:// or https:// proxy URL with a host and no path, such as http://squid.internal:3128 (got "socks5://p:1080")`},
		},
		{
			name: "bad YAML",
			yaml: "sites:\n  - name: a\n    hosts: [a\n",
			want: []string{"certgate.yaml:3: invalid YAML: did not find expected ',' or ']'"},
		},
		{
			name: "bad indentation",
			yaml: "sites:\n  - name: a\n    hosts: [a.test]\n   upstream: echo\n",
			// yaml.v3 points at the block the bad line breaks.
			want: []string{"certgate.yaml:2: invalid YAML: did not find expected '-' indicator"},
		},
		{
			name: "tab indentation",
			yaml: "sites:\n\t- name: a\n",
			want: []string{"certgate.yaml:2: invalid YAML: found character that cannot start any token"},
		},
		{
			name: "two documents",
			yaml: minimal + "---\nlisten: 127.0.0.1:1\n",
			want: []string{"certgate.yaml:6: more than one YAML document: certgate reads a single document; remove the '---' separator and merge the settings"},
		},
		{
			name: "top level is a list",
			yaml: "- name: a\n",
			want: []string{"certgate.yaml:1: want a mapping of settings (listen:, sites: ...) at the top level (got a list)"},
		},
		{
			name: "unknown key with suggestion",
			yaml: minimal + "    client_auth:\n      trusts: {roots: ca.pem}\n",
			want: []string{`certgate.yaml:7: sites[0].client_auth: unknown field "trusts" (did you mean "trust"?)`},
		},
		{
			name: "unknown top-level key without suggestion",
			yaml: "frobnicate: 1\n" + minimal,
			want: []string{`certgate.yaml:1: unknown field "frobnicate"`},
		},
		{
			name: "unknown keys everywhere are all reported",
			yaml: "timeouts: {handshak: 1s}\n" + minimal + "    locations: [{path: /, client_cert: ignore, sslflags: x}]\n",
			want: []string{
				`certgate.yaml:1: timeouts: unknown field "handshak" (did you mean "handshake"?)`,
				`certgate.yaml:7: sites[0].locations[0]: unknown field "sslflags"`,
			},
		},
		{
			name: "duplicate key",
			yaml: minimal + "    upstream: http://127.0.0.1:8080\n",
			want: []string{`certgate.yaml:6: sites[0]: duplicate key "upstream" (first at line 5)`},
		},
		{
			name: "wrong types",
			yaml: "timeouts: {idle: forever, handshake: 10}\n" + minimal + "    default: maybe\n    hosts2: x\n    client_auth: {issuer_list: {warn_bytes: lots}}\n",
			want: []string{
				`certgate.yaml:1: timeouts.idle: want a duration such as 10s, 1m30s or 2h (got "forever")`,
				`certgate.yaml:1: timeouts.handshake: want a duration such as 10s, 1m30s or 2h (got "10")`,
				`certgate.yaml:7: sites[0].default: want true or false (got "maybe")`,
				`certgate.yaml:8: sites[0]: unknown field "hosts2" (did you mean "hosts"?)`,
				`certgate.yaml:9: sites[0].client_auth.issuer_list.warn_bytes: want a whole number (got "lots")`,
			},
		},
		{
			name: "structure mismatches",
			yaml: "sites:\n  name: a\n",
			want: []string{`certgate.yaml:2: sites: want a list (got a mapping)`},
		},
		{
			name: "paths must be strings",
			yaml: minimal + "    client_auth: {trust: {roots: [a.pem, {file: b.pem}]}}\n",
			want: []string{`certgate.yaml:6: sites[0].client_auth.trust.roots: want a list of paths, each a string (got a nested mapping)`},
		},
		{
			name: "listen and admin",
			yaml: "listen: 8443\nadmin: {listen: 127.0.0.1:99999}\n" + minimal,
			want: []string{
				`certgate.yaml:1: listen: must be host:port, such as 127.0.0.1:8443 or [::1]:8443 (got "8443")`,
				`certgate.yaml:2: admin.listen: port must be a number from 0 to 65535 (got "99999"), or "off" to disable the admin listener`,
			},
		},
		{
			name: "admin on the main listener",
			yaml: "listen: 127.0.0.1:8443\nadmin: {listen: 127.0.0.1:8443}\n" + minimal,
			want: []string{`certgate.yaml:2: admin.listen: must differ from listen (127.0.0.1:8443): metrics and reload are served on their own listener`},
		},
		{
			name: "log enums",
			yaml: "log: {format: xml, level: verbose}\n" + minimal,
			want: []string{
				`certgate.yaml:1: log.format: must be one of text, json (got "xml")`,
				`certgate.yaml:1: log.level: must be one of debug, info, warn, error (got "verbose")`,
			},
		},
		{
			name: "negative timeout",
			yaml: "timeouts: {idle: -1s}\n" + minimal,
			want: []string{`certgate.yaml:1: timeouts.idle: must not be negative (got -1s)`},
		},
		{
			name: "proxy protocol without trusted proxies",
			yaml: "proxy_protocol: true\n" + minimal,
			want: []string{`certgate.yaml:1: proxy_protocol: needs trusted_proxies: a PROXY header is accepted only from the proxies listed there, never from any client`},
		},
		{
			name: "trusted proxy not an address",
			yaml: "trusted_proxies: [10.0.0.0/8, proxy.example, 10.0.0.1/33]\n" + minimal,
			want: []string{
				`certgate.yaml:1: trusted_proxies[1]: want an IP address or CIDR such as 10.0.0.0/8 (got "proxy.example")`,
				`certgate.yaml:1: trusted_proxies[2]: want an IP address or CIDR such as 10.0.0.0/8 (got "10.0.0.1/33")`,
			},
		},
		{
			name: "client key and chain bounds",
			yaml: strings.Replace(minimal, "    upstream: echo\n", "    upstream: echo\n    client_auth: {max_rsa_bits: 1024, max_chain_length: 100}\n", 1),
			want: []string{
				"certgate.yaml:6: sites[0].client_auth.max_rsa_bits: must be between 2048 and 8192 (got 1024)",
				"certgate.yaml:6: sites[0].client_auth.max_chain_length: must be between 1 and 32 (got 100)",
			},
		},
		{
			name: "site name, certificate and upstream missing",
			yaml: "sites:\n  - hosts: [a.example.test]\n",
			want: []string{
				`certgate.yaml:2: sites[0].name: must be set: metrics, logs and errors identify the site by it`,
				`certgate.yaml:2: sites[0].certificate.cert: must be set to the server certificate file (PEM, leaf first, then its chain), or use pfx`,
				`certgate.yaml:2: sites[0].certificate.key: must be set to the server private key file (PEM), or use pfx`,
				`certgate.yaml:2: sites[0].upstream: must be "echo" or an absolute http:// or https:// URL with a host`,
			},
		},
		{
			name: "bad site name",
			yaml: strings.Replace(minimal, "name: intranet", "name: my site", 1),
			want: []string{`certgate.yaml:2: sites[0].name: may contain only letters, digits, '-', '_' and '.' (got "my site")`},
		},
		{
			name: "upstream forms",
			yaml: minimal + strings.ReplaceAll(strings.ReplaceAll(minimal, "intranet", "b"), "sites:\n", "") +
				strings.ReplaceAll(strings.ReplaceAll(minimal, "intranet", "c"), "sites:\n", "") +
				strings.ReplaceAll(strings.ReplaceAll(minimal, "intranet", "d"), "sites:\n", ""),
			want: nil, // replaced below
		},
		{
			name: "duplicate names, hosts and defaults",
			yaml: `sites:
  - name: a
    default: true
    hosts: [a.example.test, A.example.test.]
    certificate: {cert: s.pem, key: s.key}
    upstream: echo
  - name: a
    default: true
    hosts: ["*.example.test", a.example.test]
    certificate: {cert: s.pem, key: s.key}
    upstream: echo
  - name: c
    certificate: {cert: s.pem, key: s.key}
    upstream: echo
`,
			want: []string{
				`certgate.yaml:4: sites[0].hosts[1]: "a.example.test" is already listed at sites[0].hosts[0]; each host name selects exactly one site`,
				`certgate.yaml:7: sites[1].name: "a" is already the name of sites[0]; site names must be unique`,
				`certgate.yaml:9: sites[1].hosts[1]: "a.example.test" is already listed at sites[0].hosts[0]; each host name selects exactly one site`,
				`certgate.yaml:8: sites[1].default: only one site can be the default; sites[0] ("a") already is`,
				`certgate.yaml:12: sites[2].hosts: must list at least one host name: only the default site (sites[0]) is used without a matching SNI name`,
			},
		},
		{
			name: "host forms",
			yaml: strings.Replace(minimal, "[intranet.example.test]",
				`[a*.example.test, "*.*.example.test", 127.0.0.1, "a.example.test:443", "", -a.example.test, a..b, "x y"]`, 1),
			want: []string{
				`certgate.yaml:3: sites[0].hosts[0]: a wildcard is allowed only as the whole leading label, as in *.example.test (got "a*.example.test")`,
				`certgate.yaml:3: sites[0].hosts[1]: a wildcard is allowed only as the whole leading label, as in *.example.test (got "*.*.example.test")`,
				`certgate.yaml:3: sites[0].hosts[2]: "127.0.0.1" is an IP address, which clients never send as SNI (RFC 6066 section 3); list DNS names, or make this the default site`,
				`certgate.yaml:3: sites[0].hosts[3]: must be a host name without scheme, port or path (got "a.example.test:443")`,
				`certgate.yaml:3: sites[0].hosts[4]: must not be empty`,
				`certgate.yaml:3: sites[0].hosts[5]: DNS labels must not start or end with '-' (got "-a.example.test")`,
				`certgate.yaml:3: sites[0].hosts[6]: must be a DNS name with labels of 1 to 63 characters (got "a..b")`,
				`certgate.yaml:3: sites[0].hosts[7]: DNS names may contain only letters, digits, '-' and '_' (found ' ') (got "x y")`,
			},
		},
		{
			name: "locations",
			yaml: minimal + `    client_auth: {trust: {roots: ca.pem}}
    locations:
      - path: /public
        client_cert: ignore
      - path: api
        client_cert: requir
      - path: /public
        client_cert: accept
      - path: /q?x=1
        client_cert: ""
      - path: /users
        client_cert: ignore
        allow_users: [alice]
        allow_groups: [admins]
`,
			want: []string{
				`certgate.yaml:10: sites[0].locations[1].path: must start with "/" (got "api")`,
				`certgate.yaml:11: sites[0].locations[1].client_cert: must be one of ignore, accept, require (got "requir")`,
				`certgate.yaml:12: sites[0].locations[2].path: "/public" is already the path of locations[0]; each path prefix needs one rule`,
				`certgate.yaml:14: sites[0].locations[3].path: must be a path prefix without ?query or #fragment (got "/q?x=1")`,
				`certgate.yaml:15: sites[0].locations[3].client_cert: must be set to one of ignore, accept, require`,
				`certgate.yaml:18: sites[0].locations[4].allow_users: needs client_cert: accept or require: with ignore no user is ever identified`,
				`certgate.yaml:19: sites[0].locations[4].allow_groups: needs client_cert: accept or require: with ignore no user is ever identified`,
			},
		},
		{
			name: "upgrade protocols",
			yaml: minimal + "    locations:\n      - {path: /, client_cert: ignore, upgrade: [websocket, H2C, \"a b\", WebSocket]}\n",
			want: []string{
				`certgate.yaml:7: sites[0].locations[0].upgrade[1]: h2c is never allowed: it would tunnel HTTP/2 requests past every location rule (RFC 9113 removed the h2c upgrade)`,
				`certgate.yaml:7: sites[0].locations[0].upgrade[2]: must be an upgrade protocol name such as websocket (got "a b")`,
				`certgate.yaml:7: sites[0].locations[0].upgrade[3]: "websocket" is listed twice`,
			},
		},
		{
			name: "diagnostics path",
			yaml: minimal + "    diagnostics: {page: true, path: /a/../b}\n",
			want: []string{`certgate.yaml:6: sites[0].diagnostics.path: must be an absolute, canonical path other than / such as /.well-known/certgate (got "/a/../b")`},
		},
		{
			name: "fail-closed default and forward",
			yaml: minimal + "    client_auth: {client_cert: requir}\n    forward: {strip: [X-Ok-*, \"bad header\"]}\n  - name: b\n    hosts: [b.test]\n    certificate: {cert: b.pem, key: b.key}\n    upstream: echo\n    forward: {default_site_any_host: true}\n",
			want: []string{
				`certgate.yaml:6: sites[0].client_auth.client_cert: must be one of ignore, accept, require (got "requir")`,
				`certgate.yaml:7: sites[0].forward.strip[1]: must be an HTTP header name (letters, digits and !#$%&'*+-.^_` + "`" + `|~), got "bad header"; a trailing * names a prefix`,
				`certgate.yaml:12: sites[1].forward.default_site_any_host: applies only to the default site (sites[0]): other sites answer only the hosts they list`,
			},
		},
		{
			name: "paths allow",
			yaml: minimal + "    paths: {case_insensitive: true, allow: [Semicolon, dot_segment, nope]}\n",
			want: []string{
				`certgate.yaml:6: sites[0].paths.allow[1]: must name a rule a site may opt out of: empty_segment, semicolon, backslash, encoded_slash, control, double_encoding, invalid_utf8, trailing_dot_space, ntfs_stream, invalid_character, encoded_delimiter (got "dot_segment")`,
				`certgate.yaml:6: sites[0].paths.allow[2]: must name a rule a site may opt out of: empty_segment, semicolon, backslash, encoded_slash, control, double_encoding, invalid_utf8, trailing_dot_space, ntfs_stream, invalid_character, encoded_delimiter (got "nope")`,
			},
		},
		{
			name: "allow lists without mapping",
			yaml: minimal + "    client_auth: {trust: {roots: ca.pem}}\n    locations:\n      - {path: /, client_cert: require, allow_groups: [admins]}\n",
			want: []string{`certgate.yaml:8: sites[0].locations[0]: allow_users/allow_groups need a mapping block on the site: without mapping no user or group is ever identified and every request would get 403.100`},
		},
		{
			name: "certificates requested without trust roots",
			yaml: minimal + "    locations:\n      - {path: /public, client_cert: ignore}\n      - {path: /, client_cert: require}\n",
			want: []string{`certgate.yaml:2: sites[0].client_auth.trust.roots: must list at least one CA certificate file: locations[1] (path "/") has client_cert: require, and client certificates are only verified against configured roots`},
		},
		{
			name: "issuer list limits",
			yaml: minimal + "    client_auth: {issuer_list: {warn_bytes: 0, max_bytes: 65536, source: [\"\", b.pem]}}\n",
			want: []string{
				`certgate.yaml:6: sites[0].client_auth.issuer_list.source[0]: must not be an empty path`,
				`certgate.yaml:6: sites[0].client_auth.issuer_list.warn_bytes: must be > 0 (got 0)`,
				`certgate.yaml:6: sites[0].client_auth.issuer_list.max_bytes: must be from 1 to 65379, the most CA-name bytes a TLS CertificateRequest can carry (got 65536)`,
			},
		},
		{
			name: "chain depth and policy inputs",
			yaml: minimal + "    client_auth: {profile: lax, max_depth: 33, policies: [2.5.29.32.0, anyPolicy, not-an-oid]}\n",
			want: []string{
				`certgate.yaml:6: sites[0].client_auth.profile: profile "lax": want standard or strict`,
				`certgate.yaml:6: sites[0].client_auth.max_depth: must be from 1 to 32, or 0 for the default 10 (got 33)`,
				`certgate.yaml:6: sites[0].client_auth.policies[2]: policy "not-an-oid": want a dotted OID such as 2.5.29.32.0, or anyPolicy`,
			},
		},
		{
			name: "revocation",
			yaml: minimal + `    client_auth:
      revocation:
        mode: strict
        prefer: ldap
        on_unavailable: ignore
        max_age: -1h
        timeout: -5s
        max_bytes: -1
        max_concurrent: -2
        allow_hosts: [crl.example.test, "http://ca.example.test/x.crl", 10.0.0.1]
`,
			want: []string{
				`certgate.yaml:8: sites[0].client_auth.revocation.mode: must be one of online, off, cache-only (got "strict")`,
				`certgate.yaml:9: sites[0].client_auth.revocation.prefer: must be one of crl, ocsp (got "ldap")`,
				`certgate.yaml:10: sites[0].client_auth.revocation.on_unavailable: must be one of deny, allow (got "ignore")`,
				`certgate.yaml:11: sites[0].client_auth.revocation.max_age: must not be negative (got -1h0m0s); 0 refetches only at nextUpdate`,
				`certgate.yaml:12: sites[0].client_auth.revocation.timeout: must be > 0 (got -5s)`,
				`certgate.yaml:13: sites[0].client_auth.revocation.max_bytes: must be > 0 (got -1)`,
				`certgate.yaml:14: sites[0].client_auth.revocation.max_concurrent: must be > 0 (got -2)`,
				`certgate.yaml:15: sites[0].client_auth.revocation.allow_hosts[1]: must be a host name or IP address without scheme, port or path (got "http://ca.example.test/x.crl")`,
			},
		},
		{
			name: "forward headers",
			yaml: minimal + "    forward: {user_header: \"X User\", groups_header: x-remote-user}\n",
			want: []string{
				`certgate.yaml:6: sites[0].forward.user_header: must be an HTTP header name (letters, digits and !#$%&'*+-.^_` + "`" + `|~), got "X User"`,
			},
		},
		{
			name: "forward headers must differ",
			yaml: minimal + "    forward: {user_header: X-User, groups_header: x-user}\n",
			want: []string{`certgate.yaml:6: sites[0].forward.groups_header: must differ from user_header (both are "X-User")`},
		},
		{
			name: "access logs",
			yaml: "access_log: {rollover: hourly, buffer: -1}\n" + minimal + "    access_log: {dir: logs, rollover: size, max_size: -5}\n",
			want: []string{
				`certgate.yaml:1: access_log.dir: must be set to the directory the W3C log files are written to`,
				`certgate.yaml:1: access_log.rollover: must be one of daily, size, none (got "hourly")`,
				`certgate.yaml:1: access_log.buffer: must be > 0 lines (got -1)`,
				`certgate.yaml:7: sites[0].access_log.max_size: must be > 0 bytes (got -5)`,
			},
		},
	}
	for i := range tests {
		if tests[i].name == "upstream forms" {
			tests[i].yaml = minimal +
				"  - {name: b, hosts: [b.test], certificate: {cert: s, key: k}, upstream: 127.0.0.1:8080}\n" +
				"  - {name: c, hosts: [c.test], certificate: {cert: s, key: k}, upstream: ftp://c.test/}\n" +
				"  - {name: d, hosts: [d.test], certificate: {cert: s, key: k}, upstream: \"http:///x\"}\n" +
				"  - {name: e, hosts: [e.test], certificate: {cert: s, key: k}, upstream: \"http://e.test/#frag\"}\n" +
				"  - {name: f, hosts: [f.test], certificate: {cert: s, key: k}, upstream: \"https://f.test:8443/base\"}\n"
			tests[i].want = []string{
				`certgate.yaml:6: sites[1].upstream: must be "echo" or an absolute http:// or https:// URL with a host (got "127.0.0.1:8080"; did you mean "http://127.0.0.1:8080"?)`,
				`certgate.yaml:7: sites[2].upstream: must be "echo" or an absolute http:// or https:// URL with a host (got scheme "ftp")`,
				`certgate.yaml:8: sites[3].upstream: must be "echo" or an absolute http:// or https:// URL with a host (got "http:///x", which has no host)`,
				`certgate.yaml:9: sites[4].upstream: must not contain a #fragment (got "http://e.test/#frag")`,
			}
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), "certgate.yaml")
			if err == nil {
				t.Fatalf("Parse succeeded (%d sites), want %d errors", len(c.Sites), len(tt.want))
			}
			got := fieldErrors(t, err)
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("missing error\n  %s\ngot:\n  %s", w, strings.Join(got, "\n  "))
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("got %d errors, want %d:\n  %s", len(got), len(tt.want), strings.Join(got, "\n  "))
			}
		})
	}
}

func TestSentinels(t *testing.T) {
	tests := []struct {
		yaml string
		want error
	}{
		{"", ErrEmpty},
		{"a: [", ErrSyntax},
		{"a: 1\n---\nb: 2\n", ErrMultipleDocuments},
		{"bogus: 1\n", ErrUnknownField},
		{"listen: a\nlisten: b\n", ErrDuplicateKey},
		{"listen: 127.0.0.1:1\n", ErrNoSites},
	}
	for _, tt := range tests {
		t.Run(tt.want.Error(), func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "c.yaml")
			if !errors.Is(err, tt.want) {
				t.Errorf("Parse(%q) = %v, want errors.Is %v", tt.yaml, err, tt.want)
			}
		})
	}
}

func TestPaths(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"scalar", "roots: ca.pem", []string{"ca.pem"}},
		{"flow list", "roots: [a.pem, b.pem]", []string{"a.pem", "b.pem"}},
		{"block list", "roots:\n          - a.pem\n          - certs/", []string{"a.pem", "certs"}},
		{"empty scalar", "roots: \"\"", nil},
		{"null", "roots: ~", nil},
		{"absolute path kept", "roots: /etc/ca.pem", []string{"/etc/ca.pem"}},
		{"anchor and alias", "roots: &r [a.pem]\n        intermediates: *r", []string{"a.pem"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, minimal+"    client_auth:\n      trust:\n        "+tt.yaml+"\n", "certgate.yaml")
			if got := c.Sites[0].ClientAuth.Trust.Roots; !slices.Equal([]string(got), tt.want) {
				t.Errorf("roots = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRelativePaths(t *testing.T) {
	yaml := `log: {file: logs/certgate.log}
access_log: {dir: w3c}
sites:
  - name: a
    hosts: [a.test]
    certificate: {cert: tls/server.pem, key: /abs/server.key}
    upstream: echo
    access_log: {dir: ../site-logs}
    client_auth:
      trust: {roots: [ca.pem, /etc/ssl/ca.pem], intermediates: ./int/}
      issuer_list: {source: ctl.pem}
      revocation: {crls: crls, cache_dir: cache}
`
	tests := []struct {
		name, config string
		base         string // what relative paths must be joined to
	}{
		{"config in the working directory", "certgate.yaml", ""},
		{"relative config directory", "conf/certgate.yaml", "conf"},
		{"absolute config directory", "/etc/certgate/certgate.yaml", "/etc/certgate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, yaml, tt.config)
			rel := func(p string) string { return filepath.Join(tt.base, p) }
			s := c.Sites[0]
			got := map[string]any{
				"log.file":             c.Log.File,
				"access_log.dir":       c.AccessLog.Dir,
				"site access_log.dir":  s.AccessLog.Dir,
				"certificate.cert":     s.Certificate.Cert,
				"certificate.key":      s.Certificate.Key,
				"trust.roots":          []string(s.ClientAuth.Trust.Roots),
				"trust.intermediates":  []string(s.ClientAuth.Trust.Intermediates),
				"issuer_list.source":   []string(s.ClientAuth.IssuerList.Source),
				"revocation.crls":      []string(s.ClientAuth.Revocation.CRLs),
				"revocation.cache_dir": s.ClientAuth.Revocation.CacheDir,
				"config path":          c.Path,
			}
			want := map[string]any{
				"log.file":             rel("logs/certgate.log"),
				"access_log.dir":       rel("w3c"),
				"site access_log.dir":  rel("../site-logs"),
				"certificate.cert":     rel("tls/server.pem"),
				"certificate.key":      "/abs/server.key",
				"trust.roots":          []string{rel("ca.pem"), "/etc/ssl/ca.pem"},
				"trust.intermediates":  []string{rel("int")},
				"issuer_list.source":   []string{rel("ctl.pem")},
				"revocation.crls":      []string{rel("crls")},
				"revocation.cache_dir": rel("cache"),
				"config path":          tt.config,
			}
			for k, w := range want {
				if !reflect.DeepEqual(got[k], w) {
					t.Errorf("%s = %#v, want %#v", k, got[k], w)
				}
			}
			c.ApplyDefaults() // a second call must not resolve again
			if s := c.Sites[0]; s.Certificate.Cert != rel("tls/server.pem") {
				t.Errorf("after a second ApplyDefaults, certificate.cert = %q", s.Certificate.Cert)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "certgate.yaml")
	if err := os.WriteFile(good, []byte(minimal), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(minimal+"    client_auth: {trusts: x}\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("resolves against the file's directory", func(t *testing.T) {
		c, err := Load(good)
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(dir, "server.pem"); c.Sites[0].Certificate.Cert != want {
			t.Errorf("certificate.cert = %q, want %q", c.Sites[0].Certificate.Cert, want)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		missing := filepath.Join(dir, "nope.yaml")
		_, err := Load(missing)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Load = %v, want fs.ErrNotExist", err)
		}
		if want := "read config: open " + missing + ": no such file or directory"; err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
	})
	t.Run("errors name the file as given", func(t *testing.T) {
		_, err := Load(bad)
		if want := bad + `:6: sites[0].client_auth: unknown field "trusts" (did you mean "trust"?)`; err == nil || err.Error() != want {
			t.Errorf("error %v, want %q", err, want)
		}
	})
}

func TestFieldErr(t *testing.T) {
	c := mustParse(t, `listen: 127.0.0.1:8443
sites:
  - name: a
    hosts: [a.test]
    certificate: {cert: s.pem, key: s.key}
    upstream: echo
    client_auth:
      trust:
        roots: ca.pem
`, "certgate.yaml")
	cause := &fs.PathError{Op: "open", Path: "ca.pem", Err: fs.ErrNotExist}
	tests := []struct {
		path string
		want string
	}{
		{"sites[0].client_auth.trust.roots", "certgate.yaml:9: sites[0].client_auth.trust.roots: open ca.pem: file does not exist"},
		// Not in the file (defaulted): the nearest ancestor's line.
		{"sites[0].client_auth.issuer_list.source", "certgate.yaml:7: sites[0].client_auth.issuer_list.source: open ca.pem: file does not exist"},
		{"sites[0].locations[0].path", "certgate.yaml:3: sites[0].locations[0].path: open ca.pem: file does not exist"},
		{"log.file", "certgate.yaml: log.file: open ca.pem: file does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			err := c.FieldErr(tt.path, cause)
			if err.Error() != tt.want {
				t.Errorf("FieldErr = %q, want %q", err, tt.want)
			}
			if !errors.Is(err, fs.ErrNotExist) {
				t.Error("FieldErr does not unwrap to its cause")
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Path != tt.path {
				t.Errorf("FieldErr is not a *FieldError with path %q", tt.path)
			}
		})
	}

	t.Run("a Config built in Go has no file or lines", func(t *testing.T) {
		var c Config
		if got, want := c.FieldErr("listen", errors.New("bad")).Error(), "listen: bad"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

func TestFieldErrorFormat(t *testing.T) {
	cause := errors.New("boom")
	tests := []struct {
		e    FieldError
		want string
	}{
		{FieldError{File: "c.yaml", Line: 3, Path: "listen", Err: cause}, "c.yaml:3: listen: boom"},
		{FieldError{File: "c.yaml", Path: "listen", Err: cause}, "c.yaml: listen: boom"},
		{FieldError{Line: 3, Path: "listen", Err: cause}, "line 3: listen: boom"},
		{FieldError{File: "c.yaml", Line: 3, Err: cause}, "c.yaml:3: boom"},
		{FieldError{Path: "listen"}, "listen: invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.e.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIssueExample(t *testing.T) {
	// The example config of issue 2, as documented in docs/config.md.
	c := mustParse(t, `listen: 127.0.0.1:8443
sites:
  - name: intranet
    hosts: [intranet.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: http://127.0.0.1:8080   # or: echo
    client_auth:
      trust: {roots: roots.pem, intermediates: intermediates.pem}
      issuer_list: {send: true}
    locations:
      - {path: /public, client_cert: ignore}
      - {path: /, client_cert: require}
`, "certgate.yaml")
	s := c.Sites[0]
	if got := []string{s.Locations[0].ClientCert, s.Locations[1].ClientCert}; !slices.Equal(got, []string{"ignore", "require"}) {
		t.Errorf("locations = %q", got)
	}
	if got := c.Line("sites[0].locations[1].client_cert"); got != 12 {
		t.Errorf("line of locations[1].client_cert = %d, want 12", got)
	}
}

func TestAliasBomb(t *testing.T) {
	// Nested aliases describe a 10^9-element tree in a few lines; decoding
	// must report the type problem without expanding it.
	items := []string{"&a [x, x, x, x, x, x, x, x, x, x]"}
	prev := "a"
	for i := 0; i < 8; i++ {
		name := string(rune('b' + i))
		items = append(items, "&"+name+" ["+strings.Repeat("*"+prev+", ", 9)+"*"+prev+"]")
		prev = name
	}
	yaml := "sites:\n  - name: s\n    hosts: [" + strings.Join(items, ", ") + ", *" + prev + "]\n"
	_, err := Parse([]byte(yaml), "bomb.yaml")
	// The missing certificate and upstream are reported in the same run.
	var got []string
	for _, e := range fieldErrors(t, err) {
		if strings.Contains(e, ".hosts[") {
			got = append(got, e)
		}
	}
	if len(got) != 10 {
		t.Fatalf("got %d host errors, want one per host entry:\n%s", len(got), strings.Join(got, "\n"))
	}
	if want := `bomb.yaml:3: sites[0].hosts[9]: want a string (got a list)`; got[9] != want {
		t.Errorf("got %q, want %q", got[9], want)
	}
}

func TestMergeKeys(t *testing.T) {
	c := mustParse(t, `sites:
  - name: a
    hosts: [a.test]
    certificate: {cert: s.pem, key: s.key}
    upstream: echo
    client_auth: &ca
      trust: {roots: ca.pem}
      revocation: {timeout: 3s}
  - name: b
    hosts: [b.test]
    certificate: {cert: s.pem, key: s.key}
    upstream: echo
    client_auth:
      <<: *ca
      reject_invalid: true
`, "certgate.yaml")
	b := c.Sites[1].ClientAuth
	if !slices.Equal([]string(b.Trust.Roots), []string{"ca.pem"}) || b.Revocation.Timeout != 3*time.Second || !b.RejectInvalid {
		t.Errorf("merged client_auth = %+v", b)
	}

	_, err := Parse([]byte(strings.Replace(minimal, "    upstream: echo\n", "    upstream: echo\n    x: &x {trusts: 1}\n", 1)), "certgate.yaml")
	if got := fieldErrors(t, err); len(got) != 1 || !strings.Contains(got[0], `sites[0]: unknown field "x"`) {
		t.Errorf("errors = %q", got)
	}
	_, err = Parse([]byte(minimal+"    client_auth:\n      <<: {trusts: x}\n"), "certgate.yaml")
	if got := fieldErrors(t, err); len(got) != 1 || !strings.Contains(got[0], `sites[0].client_auth: unknown field "trusts"`) {
		t.Errorf("unknown key in a merged mapping: errors = %q", got)
	}
}

// TestDocExamples parses every complete config shown in the docs, so that
// the documentation cannot drift from the schema.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, block := range strings.Split(string(doc), "```yaml\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		if !strings.Contains(block, "sites:") {
			continue
		}
		n++
		if _, err := Parse([]byte(block), "config.md-example-"+strconv.Itoa(i+1)+".yaml"); err != nil {
			t.Errorf("docs/config.md YAML block %d:\n%v", i+1, err)
		}
	}
	if n == 0 {
		t.Error("no config examples found in docs/config.md")
	}
	if _, err := Load("../../docs/certgate.production.yaml"); err != nil {
		t.Errorf("docs/certgate.production.yaml: %v", err)
	}
}

// FuzzParse: arbitrary input yields a config or *FieldErrors, never a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(minimal + "    client_auth: {trust: {roots: [a, b]}}\n    locations: [{path: /, client_cert: require}]\n"))
	f.Add([]byte("a: &a [x]\nb: *a\n<<: *a\n"))
	f.Add([]byte("sites:\n  - name: a\n    hosts: [a\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yaml")
		if err == nil {
			if len(c.Sites) == 0 {
				t.Fatal("accepted a config without sites")
			}
			return
		}
		fieldErrors(t, err)
	})
}
