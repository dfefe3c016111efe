package gateway

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/certfile"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/verify"
)

// CheckReport is what `certgate check` prints: the result of building a
// Snapshot from a config without serving it, with each site's effective
// issuer list. It is derived from the same Build the gateway runs, so a
// config that checks is a config that serves.
type CheckReport struct {
	Config      string      `json:"config"`
	Listen      string      `json:"listen"`
	AdminListen string      `json:"admin_listen"`
	Sites       []SiteCheck `json:"sites"`
	// Warnings are Build's load-time findings (Snapshot.Warnings) plus
	// certificates near expiry.
	Warnings []string `json:"warnings"`
}

// SiteCheck summarises one site.
type SiteCheck struct {
	Name     string   `json:"name"`
	Hosts    []string `json:"hosts"`
	Default  bool     `json:"default"`
	Upstream string   `json:"upstream"`
	// RequestsCert: the handshake asks for a client certificate.
	RequestsCert bool     `json:"requests_cert"`
	Server       *CertRef `json:"server_certificate,omitempty"`
	IssuerList   ListRef  `json:"issuer_list"`
}

// ListRef is a site's effective issuer list, as sent on the wire.
type ListRef struct {
	Send       bool      `json:"send"`
	Count      int       `json:"count"`
	Bytes      int       `json:"bytes"`
	TotalBytes int       `json:"total_bytes"`
	WarnBytes  int       `json:"warn_bytes"`
	MaxBytes   int       `json:"max_bytes"`
	Sent       []CertRef `json:"sent"`
	Dropped    []CertRef `json:"dropped"`
	Duplicates []CertRef `json:"duplicates,omitempty"`
}

// CertRef names a certificate in reports: never PEM.
type CertRef struct {
	Subject  string    `json:"subject"`
	SHA256   string    `json:"sha256"`
	NotAfter time.Time `json:"not_after"`
}

func certRef(c *x509.Certificate) CertRef {
	return CertRef{Subject: c.Subject.String(), SHA256: verify.Fingerprint(c), NotAfter: c.NotAfter.UTC()}
}

func certRefs(cs []*x509.Certificate) []CertRef {
	out := make([]CertRef, 0, len(cs))
	for _, c := range cs {
		out = append(out, certRef(c))
	}
	return out
}

// ExpiryWarning is how close to notAfter a server certificate or trusted CA
// is reported by `certgate check` and logged at load time.
const ExpiryWarning = 30 * 24 * time.Hour

// Check summarises snap for `certgate check`; at is the time expiry is
// judged against.
func Check(snap *Snapshot, at time.Time) *CheckReport {
	cfg := snap.Config
	r := &CheckReport{Config: cfg.Path, Listen: cfg.Listen, AdminListen: cfg.Admin.Listen,
		Warnings: append([]string{}, snap.Warnings...)}
	for _, s := range snap.Sites {
		r.Warnings = append(r.Warnings, s.LayoutWarnings()...)
	}
	for _, s := range snap.Sites {
		sc := SiteCheck{
			Name: s.Name, Hosts: s.Config.Hosts, Default: s == snap.Default,
			Upstream: s.Config.Upstream, RequestsCert: s.RequestsCert,
		}
		if leaf := s.ServerCertificate(); leaf != nil {
			ref := certRef(leaf)
			sc.Server = &ref
			r.Warnings = append(r.Warnings, uncoveredHosts(s.Name, leaf, s.Config.Hosts)...)
		}
		if l := s.Issuers; l != nil {
			sc.IssuerList = ListRef{
				Send: l.Send, WarnBytes: l.WarnBytes, MaxBytes: l.MaxBytes, TotalBytes: l.TotalBytes,
				Sent: certRefs(l.Kept), Dropped: certRefs(l.Dropped), Duplicates: certRefs(l.Duplicates),
			}
			if l.Send {
				sc.IssuerList.Count, sc.IssuerList.Bytes = len(l.Kept), l.Bytes
			}
		}
		for _, e := range s.Expiring(at, ExpiryWarning) {
			r.Warnings = append(r.Warnings, fmt.Sprintf("site %q: %s", s.Name, e))
		}
		r.Sites = append(r.Sites, sc)
	}
	return r
}

// ServerCertificate returns the site's server certificate (the leaf).
func (site *Site) ServerCertificate() *x509.Certificate {
	if site.cert == nil {
		return nil
	}
	return certfile.Leaf(site.cert)
}

// Expiring describes the server certificate and trusted CAs of the site
// that expire within window of at (or already have).
func (site *Site) Expiring(at time.Time, window time.Duration) []string {
	var out []string
	check := func(kind string, c *x509.Certificate) {
		left := c.NotAfter.Sub(at)
		switch {
		case left <= 0:
			out = append(out, fmt.Sprintf("%s certificate %q (sha256 %s) expired on %s", kind, c.Subject, verify.Fingerprint(c), c.NotAfter.UTC().Format(time.DateOnly)))
		case left <= window:
			out = append(out, fmt.Sprintf("%s certificate %q (sha256 %s) expires on %s, in %d days", kind, c.Subject, verify.Fingerprint(c), c.NotAfter.UTC().Format(time.DateOnly), int(left.Hours()/24)))
		}
	}
	if leaf := site.ServerCertificate(); leaf != nil {
		check("server", leaf)
	}
	for _, ca := range site.TrustedCAs() {
		check("trusted CA", ca)
	}
	return out
}

// WriteText prints the report for people.
func (r *CheckReport) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "config %s: OK, %d site(s); listen %s, admin %s\n", r.Config, len(r.Sites), r.Listen, r.AdminListen)
	for _, s := range r.Sites {
		fmt.Fprintf(&b, "\nsite %q", s.Name)
		if len(s.Hosts) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(s.Hosts, ", "))
		}
		if s.Default {
			b.WriteString(" [default]")
		}
		fmt.Fprintf(&b, " -> %s\n", s.Upstream)
		if s.Server != nil {
			fmt.Fprintf(&b, "  server certificate: %s, expires %s\n", s.Server.Subject, s.Server.NotAfter.Format(time.DateOnly))
		}
		l := s.IssuerList
		switch {
		case !s.RequestsCert:
			b.WriteString("  client certificates: not requested (every location is ignore)\n")
		case !l.Send:
			b.WriteString("  issuer list: not sent (issuer_list.send: false); clients choose among all their certificates\n")
		default:
			fmt.Fprintf(&b, "  issuer list: %d CA(s), %d bytes (warn_bytes %d, max_bytes %d)\n", l.Count, l.Bytes, l.WarnBytes, l.MaxBytes)
			for _, c := range l.Sent {
				fmt.Fprintf(&b, "    sent     %s  sha256 %s\n", c.Subject, c.SHA256)
			}
			if len(l.Dropped) > 0 {
				fmt.Fprintf(&b, "  dropped: %d CA(s) did not fit max_bytes %d (the full list is %d bytes); browsers will not offer certificates that chain only to them:\n",
					len(l.Dropped), l.MaxBytes, l.TotalBytes)
				for _, c := range l.Dropped {
					fmt.Fprintf(&b, "    DROPPED  %s  sha256 %s\n", c.Subject, c.SHA256)
				}
			} else {
				b.WriteString("  dropped: none\n")
			}
			for _, c := range l.Duplicates {
				fmt.Fprintf(&b, "    duplicate (sent once) %s  sha256 %s\n", c.Subject, c.SHA256)
			}
		}
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintf(&b, "\nwarnings (%d):\n", len(r.Warnings))
		for _, w := range r.Warnings {
			fmt.Fprintf(&b, "  - %s\n", w)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// CheckFiles loads the files a config names that Build would load first
// (each site's server certificate and key, trust roots and intermediates,
// issuer list source) with the same loaders, and returns every problem as
// a field error. `certgate check` calls it when the config itself has
// errors, so that one run reports decode, validation and file problems
// together instead of one kind per run. A config that passed validation
// goes through Build, which loads everything.
func CheckFiles(cfg *config.Config) error {
	var errs []error
	for i := range cfg.Sites {
		sc := &cfg.Sites[i]
		p := "sites[" + strconv.Itoa(i) + "]"
		if c := sc.Certificate; c.PFX != "" || (c.Cert != "" && c.Key != "") {
			if _, err := loadServerCertificate(c); err != nil {
				errs = append(errs, cfg.FieldErr(p+".certificate", err))
			}
		}
		for _, f := range []struct {
			path  string
			paths config.Paths
		}{
			{p + ".client_auth.trust.roots", sc.ClientAuth.Trust.Roots},
			{p + ".client_auth.trust.intermediates", sc.ClientAuth.Trust.Intermediates},
			{p + ".client_auth.issuer_list.source", sc.ClientAuth.IssuerList.Source},
		} {
			if len(f.paths) == 0 || (f.path == p+".client_auth.issuer_list.source" && slices.Equal(f.paths, sc.ClientAuth.Trust.Roots)) {
				continue
			}
			if _, err := certfile.LoadCertificates(f.paths...); err != nil {
				errs = append(errs, cfg.FieldErr(f.path, err))
			}
		}
	}
	return errors.Join(errs...)
}

// uncoveredHosts names the hosts of a site its server certificate is not
// valid for: browsers and curl would refuse the connection
// (NET::ERR_CERT_COMMON_NAME_INVALID) before certgate sees a request. A
// wildcard host needs a certificate valid for every name under it, so a
// name under it is tried. crypto/x509 decides, as clients do.
func uncoveredHosts(site string, leaf *x509.Certificate, hosts []string) []string {
	var out []string
	for _, h := range hosts {
		name := h
		if rest, ok := strings.CutPrefix(h, "*."); ok {
			name = "certgate-check." + rest
		}
		if err := leaf.VerifyHostname(name); err != nil {
			out = append(out, fmt.Sprintf("site %q: the server certificate %q does not cover host %q (its names: %s); clients will refuse the connection",
				site, leaf.Subject, h, strings.Join(leaf.DNSNames, ", ")))
		}
	}
	return out
}
