package report

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/certfile"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/mapping"
	"github.com/certgate/certgate/internal/revocation"
	"github.com/certgate/certgate/internal/site"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// ErrUnknownSite is returned when --site names no site of the config, or is
// missing while the config has several sites.
var ErrUnknownSite = errors.New("unknown site")

// Test is the report of `certgate map test`: what the gateway would do with
// one certificate on one site.
type Test struct {
	Site        string `json:"site"`
	Certificate Cert   `json:"certificate"`
	// Verification is the verify engine's outcome for the presented chain,
	// with the site's revocation engine, cache-only (no network). Only a
	// verified certificate is mapped by the gateway.
	Verification Verification `json:"verification"`
	// Configured is false when the site has no mapping block.
	Configured bool `json:"configured"`
	Required   bool `json:"required"`
	// Result and Trace are the mapping of the verified chain, or of the
	// presented chain, for reference, when verification failed.
	Result   mapping.Result `json:"result"`
	Trace    []mapping.Step `json:"trace"`
	Decision Decision       `json:"decision"`
	// Locations is what each location with allow_users / allow_groups
	// would answer the mapped user.
	Locations []LocationAccess `json:"locations,omitempty"`
}

// Cert summarises the tested certificate.
type Cert struct {
	File     string   `json:"file"`
	Subject  string   `json:"subject"`
	Issuer   string   `json:"issuer"`
	Serial   string   `json:"serial"`
	SHA256   string   `json:"sha256"`
	UPNs     []string `json:"upns,omitempty"`
	UPNError string   `json:"upn_error,omitempty"`
	Emails   []string `json:"emails,omitempty"`
	DNS      []string `json:"dns,omitempty"`
	URIs     []string `json:"uris,omitempty"`
}

// Verification is the verify outcome in printable form.
type Verification struct {
	OK bool `json:"ok"`
	// Status is "200" when accepted, else the sub-status ("403.16").
	Status string   `json:"status"`
	Code   string   `json:"code,omitempty"`
	Reason string   `json:"reason,omitempty"`
	Chain  []string `json:"chain,omitempty"`
	Note   string   `json:"note,omitempty"`
}

// Decision is the answer the gateway would give.
type Decision struct {
	Allowed bool   `json:"allowed"`
	Status  string `json:"status"`
	Code    string `json:"code,omitempty"`
	// Heading is the 403 page heading; empty when allowed.
	Heading string `json:"heading,omitempty"`
	Reason  string `json:"reason"`
}

// LocationAccess is the allow-list decision of one location.
type LocationAccess struct {
	Path    string `json:"path"`
	Allowed bool   `json:"allowed"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
}

// OK reports whether the certificate verifies, maps to a user and is not
// refused: `certgate map test` exits 0 exactly then.
func (t *Test) OK() bool {
	return t.Verification.OK && t.Decision.Allowed && t.Result.Mapped()
}

// SiteIndex finds a site by name. An empty name selects the only site.
func SiteIndex(cfg *config.Config, name string) (int, error) {
	var names []string
	for i, s := range cfg.Sites {
		if name != "" && s.Name == name {
			return i, nil
		}
		names = append(names, fmt.Sprintf("%q", s.Name))
	}
	if name == "" && len(cfg.Sites) == 1 {
		return 0, nil
	}
	if name == "" {
		return 0, fmt.Errorf("%w: the config has %d sites, choose one with --site (%s)", ErrUnknownSite, len(cfg.Sites), strings.Join(names, ", "))
	}
	return 0, fmt.Errorf("%w %q: the config has %s", ErrUnknownSite, name, strings.Join(names, ", "))
}

// RunTest maps the certificate in certPath (leaf first, optionally followed
// by the intermediates the client would send) for the named site of cfg, as
// the gateway would at time at (zero: now). The site is built with
// site.Build (the gateway's trust, verifier with revocation, and mapper;
// no server key) and judged with site.Decide. Revocation is checked as the
// site configures it, except that an online site is checked cache-only:
// map test never uses the network. cfg must come from config.Load.
func RunTest(ctx context.Context, cfg *config.Config, siteName, certPath string, at time.Time) (*Test, error) {
	i, err := SiteIndex(cfg, siteName)
	if err != nil {
		return nil, err
	}
	sc := &cfg.Sites[i]
	if at.IsZero() {
		at = time.Now()
	}
	var mode revocation.Mode
	noNetwork := func(o *revocation.Options) {
		mode = o.Mode
		if o.Mode == revocation.Online {
			o.Mode = revocation.CacheOnly
		}
		// The engine's clock judges the freshness of cached CRLs and OCSP
		// answers: "at --at" reads --at too.
		o.Now = func() time.Time { return at }
	}
	s, err := site.Build(cfg, i, site.Options{Revocation: noNetwork})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	presented, err := certfile.LoadCertificates(certPath)
	if err != nil {
		return nil, fmt.Errorf("read certificate: %w", err)
	}
	m := s.Mapper
	t := &Test{
		Site:        sc.Name,
		Certificate: describeCert(certPath, presented[0]),
		Configured:  sc.Mapping != nil,
		Required:    m.Required(),
	}

	chain := presented
	var outcome *verify.Outcome
	switch {
	case len(sc.ClientAuth.Trust.Roots) == 0:
		t.Verification = Verification{Status: "not verified",
			Note: "the site has no client_auth.trust.roots, so the gateway never verifies, and never maps, a client certificate"}
	case s.Verifier == nil:
		t.Verification = Verification{Status: "not verified",
			Note: "no location of the site has client_cert accept or require, so the gateway never verifies, and never maps, a client certificate"}
	default:
		outcome = s.Verifier.Verify(ctx, presented, at)
		t.Verification = describeOutcome(outcome, mode)
		if outcome.OK() {
			chain = outcome.Chain
		}
	}

	t.Result, t.Trace = m.Explain(chain)
	if !t.Verification.OK {
		t.Decision = Decision{Status: t.Verification.Status, Code: t.Verification.Code,
			Reason: "the certificate does not verify, so the gateway refuses it (require, or accept with reject_invalid) or treats the request as anonymous (accept) before mapping runs; the mapping above is of the presented chain, for reference"}
		if sub, err := substatus.ParseSub(t.Verification.Status); err == nil {
			t.Decision.Heading = substatus.Must(sub).Heading()
		}
	} else if d := site.Decide(site.AnyLocation, outcome, m); d.Deny != nil {
		t.Decision = Decision{Status: d.Deny.Sub.String(), Code: d.Deny.Code.String(), Heading: substatus.Must(d.Deny.Sub).Heading(), Reason: d.Deny.Reason}
	} else {
		t.Decision = Decision{Allowed: true, Status: substatus.OK.String()}
		switch {
		case t.Result.Mapped():
			t.Decision.Reason = fmt.Sprintf("mapped to %q by %s", t.Result.User, t.Result.Rule)
		case !t.Configured:
			t.Decision.Reason = "the site has no mapping block: the request goes on without a user"
		default:
			t.Decision.Reason = "no rule maps the certificate and mapping is not required: the request goes on without a user"
		}
	}

	// Each location with allow lists, in config order, as site.Decide
	// answers a request for it.
	for j, l := range sc.Locations {
		if len(l.AllowUsers) == 0 && len(l.AllowGroups) == 0 {
			continue
		}
		la := LocationAccess{Path: l.Path, Allowed: true, Status: substatus.OK.String()}
		if !t.Decision.Allowed {
			// The gateway answers the earlier refusal; the allow list is
			// never consulted.
			la.Allowed, la.Status, la.Reason = false, t.Decision.Status, "refused before the allow list is checked"
		} else if loc := s.Location(j); loc != nil {
			if d := site.Decide(loc, outcome, m); d.Deny != nil {
				la.Allowed, la.Status, la.Reason = false, d.Deny.Sub.String(), d.Deny.Reason
			}
		}
		t.Locations = append(t.Locations, la)
	}
	return t, nil
}

// describeOutcome renders o; mode is the site's configured revocation
// mode, for the note on how revocation was checked.
func describeOutcome(o *verify.Outcome, mode revocation.Mode) Verification {
	v := Verification{OK: o.OK(), Status: o.Sub.String()}
	switch mode {
	case revocation.Online:
		v.Note = "revocation checked from the local CRLs and the disk cache only: map test does not use the network (run certgate verify --urlfetch for the online answer)"
	case revocation.CacheOnly:
		v.Note = "revocation checked as the gateway does (cache-only)"
	case revocation.Off:
		v.Note = "revocation is not checked for this site (revocation.mode off)"
	}
	if !o.OK() {
		v.Code = o.Code.String()
		v.Reason = o.Reason
		if o.Element != nil {
			v.Reason = o.Element.String() + ": " + o.Reason
		}
	}
	last := len(o.Chain) - 1
	for j, c := range o.Chain {
		role := verify.RoleIntermediate
		switch {
		case j == 0:
			role = verify.RoleLeaf
		case j == last && o.OK():
			role = verify.RoleRoot
		}
		v.Chain = append(v.Chain, verify.Element{Index: j, Role: role, Cert: c}.String())
	}
	return v
}

func describeCert(file string, c *x509.Certificate) Cert {
	out := Cert{
		File:    file,
		Subject: c.Subject.String(),
		Issuer:  c.Issuer.String(),
		SHA256:  verify.Fingerprint(c),
		Emails:  c.EmailAddresses,
		DNS:     c.DNSNames,
	}
	if c.SerialNumber != nil {
		out.Serial = fmt.Sprintf("%X", c.SerialNumber)
	}
	for _, u := range c.URIs {
		out.URIs = append(out.URIs, u.String())
	}
	upns, err := mapping.UPNs(c)
	if err != nil {
		out.UPNError = err.Error()
	}
	out.UPNs = upns
	return out
}

// List is the report of `certgate map list`.
type List struct {
	Site       string                    `json:"site"`
	Configured bool                      `json:"configured"`
	Required   bool                      `json:"required"`
	Rules      []mapping.RuleDescription `json:"rules"`
	Locations  []LocationRule            `json:"locations,omitempty"`
}

// LocationRule is a location's allow lists.
type LocationRule struct {
	Path        string   `json:"path"`
	ClientCert  string   `json:"client_cert"`
	AllowUsers  []string `json:"allow_users,omitempty"`
	AllowGroups []string `json:"allow_groups,omitempty"`
}

// RunList describes the effective mapping of the named site of cfg.
func RunList(cfg *config.Config, name string) (*List, error) {
	i, err := SiteIndex(cfg, name)
	if err != nil {
		return nil, err
	}
	m, err := site.CompileMapping(cfg, i)
	if err != nil {
		return nil, err
	}
	sc := &cfg.Sites[i]
	l := &List{Site: sc.Name, Configured: sc.Mapping != nil, Required: m.Required(), Rules: m.Rules()}
	for _, loc := range sc.Locations {
		if len(loc.AllowUsers) > 0 || len(loc.AllowGroups) > 0 {
			l.Locations = append(l.Locations, LocationRule{Path: loc.Path, ClientCert: loc.ClientCert, AllowUsers: loc.AllowUsers, AllowGroups: loc.AllowGroups})
		}
	}
	return l, nil
}
