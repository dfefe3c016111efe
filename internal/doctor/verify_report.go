package doctor

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/certgate/certgate/internal/dname"
	"github.com/certgate/certgate/internal/mapping"
	"github.com/certgate/certgate/internal/revocation"
	"github.com/certgate/certgate/internal/site"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// VerifyReport is what `certgate verify` prints: the verdict the gateway
// would answer and everything it was decided from.
type VerifyReport struct {
	// Verdict is "200" or the sub-status ("403.13"): the first line of the
	// text output, for harnesses.
	Verdict  string `json:"verdict"`
	Accepted bool   `json:"accepted"`
	// Title is the catalogue's title of the sub-status.
	Title string      `json:"title"`
	Code  *VerifyCode `json:"code,omitempty"`
	// Element is the chain element that failed (`intermediate 2 "CN=Sub"`)
	// and ElementIndex its index in Chain.
	Element      string `json:"element,omitempty"`
	ElementIndex *int   `json:"element_index,omitempty"`
	Reason       string `json:"reason,omitempty"`
	// Next is the command to run next.
	Next string `json:"next,omitempty"`

	Certificate string                `json:"certificate"`
	At          time.Time             `json:"at"`
	Trust       string                `json:"trust"`
	Site        string                `json:"site,omitempty"`
	Purpose     string                `json:"purpose"`
	PeerName    string                `json:"peer_name,omitempty"`
	Revocation  VerifyRevocationSetup `json:"revocation"`
	URLFetch    bool                  `json:"urlfetch"`

	// Chain is the chain the verdict is about, leaf first: the verified
	// one, or the most promising candidate.
	Chain []VerifyElement `json:"chain"`
	// AIA lists the caIssuers fetches of --urlfetch, in order.
	AIA []AIAFetch `json:"aia_fetches,omitempty"`
	// IssuerList and Mapping are set with a site.
	IssuerList *VerifyIssuerList `json:"issuer_list,omitempty"`
	Mapping    *VerifyMapping    `json:"mapping,omitempty"`
	Warnings   []string          `json:"warnings"`
	// PolicySet is the user-constrained policy set of an accepted chain
	// (RFC 5280 6.1.6) when it names policies: dotted OIDs, 2.5.29.32.0
	// for "any".
	PolicySet []string `json:"policy_set,omitempty"`
}

// VerifyCode is the Win32-style code of a rejection, in the three forms
// logs and tools show it.
type VerifyCode struct {
	Name    string `json:"name"`
	Hex     string `json:"hex"`
	Decimal string `json:"decimal"`
}

// VerifyRevocationSetup says how revocation was checked.
type VerifyRevocationSetup struct {
	Mode string `json:"mode"`
	// Why says where the mode comes from (a flag, the default, the site).
	Why           string   `json:"why"`
	OnUnavailable string   `json:"on_unavailable"`
	CRLFiles      []string `json:"crl_files,omitempty"`
}

// VerifyElement is one certificate of the chain.
type VerifyElement struct {
	Index int `json:"index"`
	// Role is leaf, intermediate or root; Label adds the index and
	// whether a root is trusted ("intermediate 1", "root (not trusted)").
	Role        string    `json:"role"`
	Label       string    `json:"label"`
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	Serial      string    `json:"serial"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	Expired     bool      `json:"expired"`
	NotYetValid bool      `json:"not_yet_valid"`
	Key         string    `json:"key"`
	KeyUsage    string    `json:"key_usage"`
	ExtKeyUsage string    `json:"ext_key_usage"`
	SHA256      string    `json:"sha256"`
	// From says where the certificate came from: presented, fetched from an
	// AIA URL, a trusted root or a configured intermediate.
	From string `json:"from"`
	// URLs are the CDP, delta CDP (Freshest CRL), OCSP and AIA caIssuers
	// URLs the certificate names, with what was fetched from each.
	URLs       []VerifyURL      `json:"urls"`
	Revocation VerifyRevocation `json:"revocation"`
}

// Kinds of VerifyURL.
const (
	URLKindCDP      = "CDP"
	URLKindDeltaCDP = "delta CDP"
	URLKindOCSP     = "OCSP"
	URLKindAIA      = kindAIAIssuer
)

// VerifyURL is one URL a certificate names.
type VerifyURL struct {
	Kind    string        `json:"kind"`
	URL     string        `json:"url"`
	Fetches []VerifyFetch `json:"fetches,omitempty"`
	// Note says why nothing was fetched from it.
	Note string `json:"note,omitempty"`
}

// VerifyFetch is one source consulted (revocation.Attempt, or an AIA fetch).
type VerifyFetch struct {
	// Kind is "crl", "delta-crl", "ocsp", "cache", "file" or "aia".
	Kind string `json:"kind"`
	// Source is set when the source is not one of the certificate's URLs
	// (a local CRL file, a delta CRL named by the base CRL).
	Source     string  `json:"source,omitempty"`
	OK         bool    `json:"ok"`
	Detail     string  `json:"detail"`
	DurationMS float64 `json:"duration_ms"`

	duration time.Duration
}

// VerifyRevocation is the revocation status of one element.
type VerifyRevocation struct {
	// Status is good, revoked, unknown or not checked.
	Status     string     `json:"status"`
	Source     string     `json:"source,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	CRLReason  string     `json:"crl_reason,omitempty"`
	NextUpdate *time.Time `json:"next_update,omitempty"`
	// Other are sources consulted that the certificate does not name.
	Other []VerifyFetch `json:"other_sources,omitempty"`
}

// VerifyIssuerList says whether a browser would offer the certificate to
// the site, given the CA names the site sends.
type VerifyIssuerList struct {
	Send  bool `json:"send"`
	Names int  `json:"names"`
	// Reaches is true when the certificate file's chain reaches a sent name
	// (Chromium's rule), or no names are sent.
	Reaches bool   `json:"reaches"`
	Matched string `json:"matched,omitempty"`
	// BrowserVerdict is what a browser user gets when the browser does not
	// offer the certificate: "403.7".
	BrowserVerdict string `json:"browser_verdict,omitempty"`
	Note           string `json:"note"`
}

// VerifyMapping is the site's certificate mapping of the verified chain.
type VerifyMapping struct {
	Configured bool            `json:"configured"`
	Required   bool            `json:"required"`
	Result     *mapping.Result `json:"result,omitempty"`
	Denied     bool            `json:"denied"`
	Note       string          `json:"note,omitempty"`
}

type reportBuilder struct {
	// reach is what fetching each cache-answered CRL URL gave now
	// (reachability), with --urlfetch.
	reach     map[string]VerifyFetch
	o         VerifyOptions
	env       *verifyEnv
	at        time.Time
	out       *verify.Outcome
	presented []*x509.Certificate
	sources   []string
	walk      aiaResult

	chain    []*x509.Certificate
	anchored bool
}

func (b *reportBuilder) build() *VerifyReport {
	env := b.env
	r := &VerifyReport{
		Certificate: b.o.CertFile,
		At:          b.at,
		Trust:       env.trust,
		Purpose:     "client authentication",
		PeerName:    env.peerName,
		Revocation: VerifyRevocationSetup{Mode: env.mode.String(), Why: env.modeNote,
			OnUnavailable: env.onUnavailable, CRLFiles: env.crlFiles},
		URLFetch: b.o.URLFetch,
		Chain:    []VerifyElement{},
		AIA:      b.walk.fetches,
		Warnings: []string{},
	}
	if env.purpose == verify.PurposeServerAuth {
		r.Purpose = "server authentication"
	}
	if env.mode == revocation.Off {
		r.Revocation.CRLFiles = nil
	}
	r.setVerdict(b.out.Sub, b.out.Code, b.out.Element, b.out.Reason)

	b.chain = b.out.Chain
	if len(b.chain) == 0 {
		// Nothing was built (a presented certificate does not parse):
		// show what did parse.
		b.chain = b.presented
	}
	last := len(b.chain) - 1
	b.anchored = last > 0 && b.isRoot(b.chain[last])
	for i, c := range b.chain {
		e, warns := b.element(i, c)
		r.Chain = append(r.Chain, e)
		r.Warnings = append(r.Warnings, warns...)
	}

	if b.out.OK() {
		// Only an error for a chain the verifier did not accept.
		if set, err := env.verifier.PolicySet(b.out.Chain); err == nil {
			for _, oid := range set {
				r.PolicySet = append(r.PolicySet, oid.String())
			}
		}
	}
	r.Warnings = append(r.Warnings, env.warnings...)
	r.Warnings = append(r.Warnings, env.verifier.Warnings()...)
	r.Warnings = append(r.Warnings, b.out.Warnings...)
	for i, c := range b.out.Chain {
		if u, ok := b.walk.from[string(c.Raw)]; ok {
			r.Warnings = append(r.Warnings, fmt.Sprintf(
				"%s %q was fetched from %s (AIA): the gateway does not fetch missing intermediates, so a client that does not send it gets 403.16 CERT_E_CHAINING; have the client send it, or add it to trust.intermediates",
				b.label(i), dnString(c.Subject.String()), u))
		}
	}
	if env.site != nil {
		b.siteChecks(r)
	}
	return r
}

func (r *VerifyReport) setVerdict(sub substatus.Sub, code substatus.Code, elem *verify.Element, reason string) {
	r.Verdict = sub.String()
	r.Accepted = sub == substatus.OK
	r.Title = substatus.Must(sub).Title
	r.Code, r.Next = nil, ""
	if code != substatus.NoError {
		r.Code = &VerifyCode{Name: code.Name(), Hex: code.Hex(), Decimal: code.Decimal()}
		r.Next = "certgate explain " + code.Name()
	}
	r.Element, r.ElementIndex = "", nil
	if elem != nil {
		r.Element = elem.String()
		idx := elem.Index
		r.ElementIndex = &idx
	}
	r.Reason = reason
}

func (b *reportBuilder) isRoot(c *x509.Certificate) bool {
	for _, r := range b.env.roots {
		if bytes.Equal(r.Raw, c.Raw) {
			return true
		}
	}
	return false
}

// label names chain element i as verify.Element does.
func (b *reportBuilder) label(i int) string {
	last := len(b.chain) - 1
	switch {
	case i == 0:
		return "leaf"
	case i == last && b.anchored:
		return "root"
	case i == last && dname.Equal(b.chain[i].RawIssuer, b.chain[i].RawSubject):
		return "root (not trusted)"
	}
	return fmt.Sprintf("intermediate %d", i)
}

func (b *reportBuilder) element(i int, c *x509.Certificate) (VerifyElement, []string) {
	expired, notYet := validity(c, b.at)
	e := VerifyElement{
		Index:       i,
		Label:       b.label(i),
		Subject:     dnString(c.Subject.String()),
		Issuer:      dnString(c.Issuer.String()),
		Serial:      serialHex(c),
		NotBefore:   c.NotBefore.UTC(),
		NotAfter:    c.NotAfter.UTC(),
		Expired:     expired,
		NotYetValid: notYet,
		Key:         keyDescription(c),
		KeyUsage:    verify.KeyUsageNames(c.KeyUsage),
		ExtKeyUsage: verify.EKUNames(c),
		SHA256:      verify.Fingerprint(c),
		From:        b.from(c),
		URLs:        []VerifyURL{},
	}
	switch {
	case i == 0:
		e.Role = verify.RoleLeaf.String()
	case e.Label == "root" || e.Label == "root (not trusted)":
		e.Role = verify.RoleRoot.String()
	default:
		e.Role = verify.RoleIntermediate.String()
	}
	if c.KeyUsage == 0 {
		e.KeyUsage = "none (extension absent)"
	}

	var warns []string
	crl, delta, err := revocation.DistributionPointURLs(c)
	if err != nil {
		warns = append(warns, fmt.Sprintf("%s %q: %v", e.Label, e.Subject, err))
	}
	add := func(kind string, urls []string) {
		for _, u := range urls {
			e.URLs = append(e.URLs, VerifyURL{Kind: kind, URL: u})
		}
	}
	add(URLKindCDP, crl)
	add(URLKindDeltaCDP, delta)
	add(URLKindOCSP, c.OCSPServer)
	add(URLKindAIA, c.IssuingCertificateURL)

	var res *revocation.Result
	e.Revocation, res = b.revocationOf(i)
	if res != nil {
		for _, a := range res.Attempts {
			f := VerifyFetch{Kind: a.Kind, OK: a.OK, Detail: a.Detail, duration: a.Duration, DurationMS: ms(a.Duration)}
			if j := findURL(e.URLs, a.Source, false); j >= 0 {
				e.URLs[j].Fetches = append(e.URLs[j].Fetches, f)
				continue
			}
			f.Source = a.Source
			e.Revocation.Other = append(e.Revocation.Other, f)
		}
	}
	for j := range e.URLs {
		if f, ok := b.reach[e.URLs[j].URL]; ok && e.URLs[j].Kind != URLKindAIA {
			e.URLs[j].Fetches = append(e.URLs[j].Fetches, f)
			if !f.OK {
				warns = append(warns, fmt.Sprintf("%s %q: %s %s is unreachable now; revocation was answered from a cached CRL, which will not be renewed while it stays down", e.Label, e.Subject, e.URLs[j].Kind, e.URLs[j].URL))
			}
		}
	}
	for _, fe := range b.walk.fetches {
		if !bytes.Equal(fe.forCert.Raw, c.Raw) {
			continue
		}
		if j := findURL(e.URLs, fe.URL, true); j >= 0 {
			e.URLs[j].Fetches = append(e.URLs[j].Fetches, VerifyFetch{Kind: "aia", OK: fe.OK, Detail: fe.Detail, duration: fe.duration, DurationMS: fe.DurationMS})
		}
	}
	for j := range e.URLs {
		u := &e.URLs[j]
		if len(u.Fetches) > 0 {
			continue
		}
		switch {
		case u.Kind == URLKindAIA && !b.o.URLFetch:
			u.Note = "not fetched: needs --urlfetch"
		case u.Kind == URLKindAIA:
			u.Note = "not fetched: not needed (the issuer was presented, configured or already fetched)"
		case res == nil:
			u.Note = "not consulted: this certificate's revocation was not checked (see revocation)"
		case e.Revocation.Status == revocation.Good.String() || e.Revocation.Status == revocation.Revoked.String():
			u.Note = "not consulted: " + e.Revocation.Source + " answered first"
		default:
			u.Note = "not consulted"
		}
	}
	return e, warns
}

func findURL(urls []VerifyURL, u string, aia bool) int {
	for j := range urls {
		if (urls[j].Kind == URLKindAIA) == aia && urls[j].URL == u {
			return j
		}
	}
	return -1
}

// revocationOf reports the engine's answer for element i, or why there is
// none: the verifier checks every element but the anchor, leaf first, and
// stops at the first that fails.
func (b *reportBuilder) revocationOf(i int) (VerifyRevocation, *revocation.Result) {
	notChecked := func(why string) (VerifyRevocation, *revocation.Result) {
		return VerifyRevocation{Status: revocation.NotChecked.String(), Reason: why}, nil
	}
	out := b.out
	switch {
	case b.env.mode == revocation.Off:
		return notChecked("revocation checking is off (" + b.env.modeNote + ")")
	case b.anchored && i == len(b.chain)-1:
		return notChecked("trust anchor: an input of path validation, not part of the path (RFC 5280 6.1)")
	case out.Revocation == nil || i >= len(out.Revocation) || len(out.Chain) == 0:
		return notChecked("the chain was rejected before revocation checking, which runs only on chains whose signatures verify to a trusted root")
	}
	res := out.Revocation[i]
	if res.Status == revocation.NotChecked && res.Reason == "" && len(res.Attempts) == 0 {
		if out.Element != nil && out.Element.Index < i {
			return notChecked(fmt.Sprintf("verification stopped at %s", b.label(out.Element.Index)))
		}
		return notChecked("not checked")
	}
	v := VerifyRevocation{Status: res.Status.String(), Source: res.Source, Reason: res.Reason}
	if res.Status == revocation.Revoked {
		t := res.RevokedAt.UTC()
		v.RevokedAt, v.CRLReason = &t, revocation.ReasonCodeName(res.ReasonCode)
	}
	if !res.NextUpdate.IsZero() {
		t := res.NextUpdate.UTC()
		v.NextUpdate = &t
	}
	return v, &res
}

// from says where certificate c came from.
func (b *reportBuilder) from(c *x509.Certificate) string {
	for i, p := range b.presented {
		if bytes.Equal(p.Raw, c.Raw) {
			return "presented: " + b.sources[i]
		}
	}
	if u, ok := b.walk.from[string(c.Raw)]; ok {
		return "fetched from " + u + " (AIA)"
	}
	for _, r := range b.env.roots {
		if bytes.Equal(r.Raw, c.Raw) {
			return "trusted root: " + r.Source
		}
	}
	for _, r := range b.env.inters {
		if bytes.Equal(r.Raw, c.Raw) {
			return "configured intermediate: " + r.Source
		}
	}
	return "presented"
}

// siteChecks adds what the gateway does around verification: the CA names
// it sends (which decide whether a browser offers the certificate at all)
// and, for a verified chain, the mapping, which may turn 200 into 403.12.
func (b *reportBuilder) siteChecks(r *VerifyReport) {
	env := b.env
	r.Site = env.site.Name

	b.mapCertificate(r)

	il := env.site.Issuers
	chk := &VerifyIssuerList{Send: il.Send}
	names := il.Names()
	chk.Names = len(names)
	switch {
	case !il.Send:
		chk.Reaches = true
		chk.Note = "the site sends no CA names (issuer_list.send: false): browsers offer any usable client certificate"
	case len(names) == 0:
		chk.Reaches = true
		chk.Note = "the site's issuer list is empty: browsers offer any usable client certificate"
	case len(b.presented) == 0:
		chk.Note = "the certificate file does not parse: nothing to match against the issuer list"
	default:
		leaf := b.presented[0]
		if m, ok := reachesName(leaf, b.presented[1:], names, b.at); ok {
			chk.Reaches, chk.Matched = true, DNString(m)
			chk.Note = fmt.Sprintf("the certificate's chain reaches %q, which is in the site's issuer list (%s): browsers offer it", chk.Matched, count(len(names), "CA name"))
			break
		}
		chk.BrowserVerdict = substatus.CertRequired.String()
		chk.Note = fmt.Sprintf("no issuer on the certificate's chain is in the site's issuer list (%s): a browser would not offer it (Chromium's rule; certgate select simulates Firefox and IE), so a browser user gets %s with no certificate; curl or openssl would send it and get %s",
			count(len(names), "CA name"), chk.BrowserVerdict, r.Verdict)
		if len(b.out.Chain) > 1 {
			if m, ok := reachesName(leaf, b.out.Chain[1:], names, b.at); ok {
				chk.Note += fmt.Sprintf("; the verified chain reaches %q through intermediates the certificate file does not hold: put them in the client's store with the certificate, browsers build the chain only from what they hold", DNString(m))
			}
		}
	}
	r.IssuerList = chk
}

// mapCertificate runs the site's mapping on a verified chain, as the
// gateway does after verification: a denial turns 200 into 403.12.
func (b *reportBuilder) mapCertificate(r *VerifyReport) {
	env := b.env
	m := &VerifyMapping{Configured: env.siteConfig.Mapping != nil, Required: env.mapper.Required()}
	r.Mapping = m
	if !b.out.OK() {
		m.Note = "not run: the gateway maps only a verified certificate"
		return
	}
	// The gateway's decision (site.Decide) on a location that requires a
	// certificate and has no allow lists: verify knows no request path.
	dec := site.Decide(site.AnyLocation, b.out, env.mapper)
	res := dec.Mapping
	m.Result = &res
	d := dec.Deny
	if d == nil {
		if !m.Configured {
			m.Note = "the site has no mapping block: the request goes on without a user"
		}
		return
	}
	m.Denied = true
	reason := d.Reason
	if d.Rule != mapping.RuleNone {
		reason = d.Rule + ": " + reason
	}
	r.setVerdict(d.Sub, d.Code, &verify.Element{Index: 0, Role: verify.RoleLeaf, Cert: b.out.Chain[0]}, reason)
	r.Next = "certgate map test -c " + b.o.Config.Path + " --site " + env.site.Name + " " + b.o.CertFile
}

// reachesName applies select's Chromium rule: some issuer on the chain
// built from others reaches one of names.
func reachesName(leaf *x509.Certificate, others []*x509.Certificate, names [][]byte, at time.Time) ([]byte, bool) {
	st := &Store{}
	for _, c := range others {
		st.Certs = append(st.Certs, StoreCert{Cert: Cert{Certificate: c}})
	}
	s := &selector{store: st, o: SelectOptions{CANames: names, Browser: BrowserChromium, At: at}}
	_, m, ok := s.match(leaf)
	return m, ok
}

func keyDescription(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		if k.Curve != nil {
			return "ECDSA " + k.Curve.Params().Name
		}
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return c.PublicKeyAlgorithm.String()
}

func serialHex(c *x509.Certificate) string {
	if c.SerialNumber == nil {
		return "?"
	}
	return fmt.Sprintf("%X", c.SerialNumber)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
