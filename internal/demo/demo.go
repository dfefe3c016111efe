// Package demo generates a complete certgate setup on a fresh PKI: CAs,
// a server certificate, one client certificate per failure class, a
// certgate.yaml, and the list of cases with the answer the gateway must give.
// `certgate demo` serves it; `certgate demo --check` and the tests run every
// case over real TLS and compare.
package demo

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/substatus"
)

// Host names of the demo sites. They resolve nowhere: clients connect to
// 127.0.0.1 and send the name as SNI (curl --resolve).
const (
	HostMain    = "localhost"
	HostAnchor  = "anchor.demo.test"
	HostOffline = "offline.demo.test"
	HostNoCheck = "nocheck.demo.test"
	HostApp     = "app.demo.test"
)

// P12Password protects every demo .p12 file.
const P12Password = "demo"

// Case is one request the demo makes and the answer it expects.
type Case struct {
	Name string
	Host string
	Path string
	// Client is the base name of the client certificate in clients/, or ""
	// for no certificate.
	Client string
	Want   substatus.Sub
	// WantUser is the user the upstream must report, when set.
	WantUser string
	// SpoofIdentity makes the client send its own X-Remote-User and
	// Client-Cert headers, which must never reach the upstream.
	SpoofIdentity bool
	Why           string
}

// Env is a generated demo: files on disk and the cases to run.
type Env struct {
	Dir        string
	ConfigPath string
	RootPEM    string // the CA that signed the server certificate, for clients
	Cases      []Case
	// CDPAddr is where the demo's CRL distribution point must listen
	// (127.0.0.1:port); CRLDir holds the CRLs it serves.
	CDPAddr string
	CRLDir  string
}

// ClientCert returns the paths of a client's chain PEM, key and .p12.
func (e *Env) ClientCert(name string) (chain, key, p12 string) {
	base := filepath.Join(e.Dir, "clients", name)
	return base + "-chain.pem", base + ".key", base + ".p12"
}

// Options control Generate.
type Options struct {
	// Listen is the gateway address written into the config.
	Listen string
	// CDPAddr is a free 127.0.0.1 address for the demo CRL server: the
	// client certificates carry CRL distribution points pointing at it.
	CDPAddr string
	// DeadCDPAddr is an address where nothing listens, for the "CDP
	// unreachable" case.
	DeadCDPAddr string
	// UpstreamURL is the demo application behind the "app" site, which
	// reports the headers it received (BackendHandler).
	UpstreamURL string
	Now         time.Time
}

// Generate writes the demo PKI and config into dir.
func Generate(dir string, o Options) (*Env, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	now := o.Now
	g := &gen{dir: dir, now: now}
	for _, sub := range []string{"ca", "clients", "server", "crl"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	cdp := func(name string) pki.Option {
		return pki.WithCRLDistributionPoints("http://" + o.CDPAddr + "/" + name + ".crl")
	}
	years := func(n int) pki.Option { return pki.WithValidity(now.Add(-time.Hour), now.AddDate(n, 0, 0)) }

	root := g.ca(pki.NewRoot("certgate Demo Root", years(10)))
	issuing := g.ca(root.NewIntermediate("certgate Demo Issuing CA", years(5), cdp("root")))
	expiredCA := g.ca(root.NewIntermediate("certgate Demo Expired CA", pki.WithValidity(now.AddDate(-2, 0, 0), now.AddDate(0, 0, -1)), cdp("root")))
	department := g.ca(root.NewIntermediate("certgate Demo Department CA", years(5), cdp("root")))
	revokedCA := g.ca(root.NewIntermediate("certgate Demo Revoked CA", years(5), cdp("root")))
	offlineCA := g.ca(root.NewIntermediate("certgate Demo Offline CA", years(5), cdp("root")))
	unknownRoot := g.ca(pki.NewRoot("Unknown Root (not trusted)", years(10)))
	g.writeCA("root", root)
	g.writeCA("issuing", issuing)
	g.writeCA("department", department)
	g.writeCA("unknown-root", unknownRoot)

	server := g.leaf(root.IssueServer(HostMain, []string{HostMain, "127.0.0.1", "::1", HostAnchor, HostOffline, HostNoCheck, HostApp}, years(1)))
	g.write(pki.WriteCertsPEM(filepath.Join(dir, "server", "server.pem"), server.Chain()...))
	g.write(pki.WriteKeyPEM(filepath.Join(dir, "server", "server.key"), server.Key))

	leafValid := pki.WithValidity(now.Add(-time.Hour), now.AddDate(1, 0, 0))
	clientCDP := cdp("issuing")
	g.client("alice", issuing, "alice", leafValid, clientCDP, pki.WithEmail("alice@demo.test"), pki.WithUPN("alice@corp.demo.test"))
	g.client("expired", issuing, "expired user", pki.WithValidity(now.AddDate(-1, 0, 0), now.AddDate(0, 0, -1)), clientCDP)
	g.client("not-yet-valid", issuing, "future user", pki.WithValidity(now.AddDate(0, 0, 7), now.AddDate(1, 0, 0)), clientCDP)
	untrusted := g.client("untrusted", unknownRoot, "mallory", leafValid)
	// Like many real clients, this one sends its root along: the gateway
	// then names the untrusted root (CERT_E_UNTRUSTEDROOT) instead of a
	// missing issuer (CERT_E_CHAINING).
	if g.err == nil {
		g.write(pki.WriteCertsPEM(filepath.Join(dir, "clients", "untrusted-chain.pem"), untrusted.Cert, unknownRoot.Cert))
	}
	g.client("intermediate-expired", expiredCA, "bob", leafValid, cdp("expired"))
	g.client("eku-serverauth", issuing, "server-only", leafValid, clientCDP, pki.WithExtKeyUsage(x509.ExtKeyUsageServerAuth))
	g.client("ku-keyencipherment", issuing, "keyenc-only", leafValid, clientCDP, pki.WithKeyUsage(x509.KeyUsageKeyEncipherment))
	g.client("department", department, "dora", leafValid, cdp("department"))
	g.client("engineer", issuing, "erin", leafValid, clientCDP, pki.WithSubject(pkix.Name{CommonName: "erin", OrganizationalUnit: []string{"Engineering"}, Organization: []string{"Demo Corp"}}))
	g.client("contractor", issuing, "carl", leafValid, clientCDP, pki.WithSubject(pkix.Name{CommonName: "carl", OrganizationalUnit: []string{"Contractors"}, Organization: []string{"Demo Corp"}}))
	g.client("unmapped", issuing, "nobody", leafValid, clientCDP)
	revokedLeaf := g.client("revoked", issuing, "revoked user", leafValid, clientCDP)
	g.client("revoked-intermediate", revokedCA, "carol", leafValid, cdp("revoked-ca"))
	g.client("cdp-unreachable", offlineCA, "dave", leafValid, pki.WithCRLDistributionPoints("http://"+o.DeadCDPAddr+"/offline.crl"))

	// CRLs the demo CDP serves: the issuing CA revoked "revoked"; the root
	// revoked the "Revoked CA" intermediate.
	crl := func(name string, ca *pki.CA, revoked ...*x509.Certificate) {
		var entries []pki.Revoked
		for _, c := range revoked {
			entries = append(entries, pki.RevokedCert(c, now.Add(-30*time.Minute), pki.ReasonKeyCompromise))
		}
		der, err := ca.CRL(entries, pki.CRLOptions{ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(7 * 24 * time.Hour)})
		g.write(err)
		g.write(pki.WriteCRL(filepath.Join(dir, "crl", name+".crl"), der))
	}
	crl("root", root, revokedCA.Cert)
	crl("issuing", issuing, revokedLeaf.Cert)
	crl("department", department)
	crl("revoked-ca", revokedCA)
	crl("expired", expiredCA)
	crl("offline", offlineCA)
	if g.err != nil {
		return nil, g.err
	}

	env := &Env{
		Dir:        dir,
		ConfigPath: filepath.Join(dir, "certgate.yaml"),
		RootPEM:    filepath.Join(dir, "ca", "root.pem"),
		Cases:      Cases(),
		CDPAddr:    o.CDPAddr,
		CRLDir:     filepath.Join(dir, "crl"),
	}
	if err := os.WriteFile(env.ConfigPath, []byte(configYAML(o.Listen, o.UpstreamURL)), 0o644); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return env, nil
}

// Cases lists what the demo demonstrates, in the order it prints them.
func Cases() []Case {
	return []Case{
		{Name: "valid certificate, mapped by UPN", Host: HostMain, Path: "/secure/", Client: "alice", Want: substatus.OK, WantUser: "alice@corp.demo.test", Why: "chains to the trusted root, not revoked, clientAuth; user from the UPN SAN"},
		{Name: "no certificate on a require path", Host: HostMain, Path: "/secure/", Want: substatus.CertRequired, Why: "client_cert: require and nothing was presented"},
		{Name: "no certificate on a public path", Host: HostMain, Path: "/public/", Want: substatus.OK, Why: "client_cert: ignore"},
		{Name: "expired certificate on an accept path", Host: HostMain, Path: "/optional/", Client: "expired", Want: substatus.OK, Why: "client_cert: accept proceeds as anonymous and logs the failure"},
		{Name: "expired", Host: HostMain, Path: "/secure/", Client: "expired", Want: substatus.CertTimeInvalid, Why: "leaf notAfter is in the past"},
		{Name: "not yet valid", Host: HostMain, Path: "/secure/", Client: "not-yet-valid", Want: substatus.CertTimeInvalid, Why: "leaf notBefore is in the future"},
		{Name: "untrusted root", Host: HostMain, Path: "/secure/", Client: "untrusted", Want: substatus.CertUntrusted, Why: "issued by a root the site does not trust (CERT_E_UNTRUSTEDROOT)"},
		{Name: "intermediate expired", Host: HostMain, Path: "/secure/", Client: "intermediate-expired", Want: substatus.CertTimeInvalid, Why: "the leaf is fine, its issuing CA expired yesterday"},
		{Name: "EKU serverAuth only", Host: HostMain, Path: "/secure/", Client: "eku-serverauth", Want: substatus.CertUntrusted, Why: "EKU without clientAuth (CERT_E_WRONG_USAGE)"},
		{Name: "KU keyEncipherment only", Host: HostMain, Path: "/secure/", Client: "ku-keyencipherment", Want: substatus.CertUntrusted, Why: "Key Usage without digitalSignature (CERT_E_WRONG_USAGE)"},
		{Name: "intermediate installed as a root", Host: HostAnchor, Path: "/", Client: "department", Want: substatus.OK, Why: "the site trusts only the Department CA (not self-signed): accepted as an anchor, with a warning at load (KB 2802568)"},
		{Name: "certificate from another CA on the anchor site", Host: HostAnchor, Path: "/", Client: "alice", Want: substatus.CertUntrusted, Why: "alice's chain does not pass through the Department CA"},
		{Name: "revoked leaf", Host: HostMain, Path: "/secure/", Client: "revoked", Want: substatus.CertRevoked, Why: "listed on the issuing CA's CRL (CRYPT_E_REVOKED)"},
		{Name: "revoked intermediate", Host: HostMain, Path: "/secure/", Client: "revoked-intermediate", Want: substatus.CertRevoked, Why: "the issuing CA is listed on the root's CRL"},
		{Name: "CDP unreachable, revocation online", Host: HostOffline, Path: "/", Client: "cdp-unreachable", Want: substatus.CertRevoked, Why: "the CRL cannot be fetched (CRYPT_E_REVOCATION_OFFLINE)"},
		{Name: "CDP unreachable, revocation off", Host: HostNoCheck, Path: "/", Client: "cdp-unreachable", Want: substatus.OK, Why: "mode: off does not check revocation (and logs that)"},
		{Name: "many-to-one rule maps a group", Host: HostMain, Path: "/engineering/", Client: "engineer", Want: substatus.OK, WantUser: "eng-erin", Why: "rule \"engineering\" (OU=Engineering) maps to eng-{CN} in group engineering"},
		{Name: "mapped user outside allow_groups", Host: HostMain, Path: "/engineering/", Client: "alice", Want: substatus.UserNotAllowedHere, Why: "alice is mapped but not in group engineering"},
		{Name: "deny rule", Host: HostMain, Path: "/secure/", Client: "contractor", Want: substatus.MapperDenied, Why: "rule \"contractors\" denies OU=Contractors (SEC_E_LOGON_DENIED)"},
		{Name: "no mapping rule matches", Host: HostMain, Path: "/secure/", Client: "unmapped", Want: substatus.MapperDenied, Why: "mapping.required and no rule, UPN or email maps the certificate"},
		{Name: "upstream receives the identity, spoofed headers dropped", Host: HostApp, Path: "/", Client: "alice", SpoofIdentity: true, Want: substatus.OK, WantUser: "alice@corp.demo.test",
			Why: "the app behind certgate gets X-Remote-User and RFC 9440 Client-Cert from certgate, never the client's own"},
	}
}

func configYAML(listen, upstream string) string {
	return strings.NewReplacer("LISTEN", listen, "UPSTREAM", upstream).Replace(`# Generated by certgate demo. Paths are relative to this file.
listen: LISTEN
admin: {listen: "off"}
sites:
  - name: main
    hosts: [localhost]
    default: true
    certificate: {cert: server/server.pem, key: server/server.key}
    upstream: echo
    client_auth:
      trust: {roots: ca/root.pem}
      issuer_list: {send: true}
      revocation: {mode: online, timeout: 2s}
    mapping: &mapping
      required: true
      many_to_one:
        - name: contractors
          match: {subject: {OU: Contractors}}
          deny: true
        - name: engineering
          match: {subject: {OU: Engineering}}
          user: "eng-{CN}"
          groups: [engineering]
      upn: {enabled: true, fallback_email: true, issuers: [ca/issuing.pem]}
    locations:
      - {path: /public/, client_cert: ignore}
      - {path: /optional/, client_cert: accept}
      - {path: /engineering/, client_cert: require, allow_groups: [engineering]}
      - {path: /, client_cert: require}
  - name: app
    hosts: [app.demo.test]
    certificate: {cert: server/server.pem, key: server/server.key}
    upstream: UPSTREAM
    client_auth:
      trust: {roots: ca/root.pem}
      revocation: {mode: online, timeout: 2s}
    mapping: *mapping
    locations:
      - {path: /, client_cert: require}
  - name: anchor
    hosts: [anchor.demo.test]
    certificate: {cert: server/server.pem, key: server/server.key}
    upstream: echo
    client_auth:
      # An intermediate configured as the only trusted root.
      trust: {roots: ca/department.pem}
      revocation: {mode: "off"}
    locations:
      - {path: /, client_cert: require}
  - name: offline
    hosts: [offline.demo.test]
    certificate: {cert: server/server.pem, key: server/server.key}
    upstream: echo
    client_auth:
      trust: {roots: ca/root.pem}
      revocation: {mode: online, timeout: 2s}
    locations:
      - {path: /, client_cert: require}
  - name: nocheck
    hosts: [nocheck.demo.test]
    certificate: {cert: server/server.pem, key: server/server.key}
    upstream: echo
    client_auth:
      trust: {roots: ca/root.pem}
      revocation: {mode: "off"}
    locations:
      - {path: /, client_cert: require}
`)
}

// gen collects the first error so that Generate reads as a list of steps.
type gen struct {
	dir string
	now time.Time
	err error
}

func (g *gen) write(err error) {
	if g.err == nil && err != nil {
		g.err = fmt.Errorf("demo: %w", err)
	}
}

func (g *gen) ca(ca *pki.CA, err error) *pki.CA {
	g.write(err)
	if ca == nil {
		return &pki.CA{}
	}
	return ca
}

func (g *gen) leaf(l *pki.Leaf, err error) *pki.Leaf {
	g.write(err)
	if l == nil {
		return &pki.Leaf{Cert: &x509.Certificate{}}
	}
	return l
}

func (g *gen) writeCA(name string, ca *pki.CA) {
	if g.err != nil {
		return
	}
	g.write(pki.WriteCertsPEM(filepath.Join(g.dir, "ca", name+".pem"), ca.Cert))
}

func (g *gen) client(name string, ca *pki.CA, cn string, opts ...pki.Option) *pki.Leaf {
	if g.err != nil {
		return &pki.Leaf{Cert: &x509.Certificate{}}
	}
	l := g.leaf(ca.IssueClient(cn, opts...))
	if g.err != nil {
		return l
	}
	base := filepath.Join(g.dir, "clients", name)
	g.write(pki.WriteCertsPEM(base+".pem", l.Cert))
	g.write(pki.WriteCertsPEM(base+"-chain.pem", l.Chain()...))
	g.write(pki.WriteKeyPEM(base+".key", l.Key))
	g.write(pki.WritePKCS12(base+".p12", l, P12Password, true))
	return l
}
