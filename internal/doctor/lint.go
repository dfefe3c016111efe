package doctor

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/directory"
	"github.com/certgate/certgate/internal/dname"
	"github.com/certgate/certgate/internal/issuerlist"
	"github.com/certgate/certgate/internal/revocation"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// Severity of a lint finding. Both make `certgate lint` exit 1.
type Severity string

const (
	// SevError: clients are, or will be, rejected because of it.
	SevError Severity = "error"
	// SevWarning: works in certgate but breaks some clients or other
	// servers (IIS), or will break soon.
	SevWarning Severity = "warning"
)

// Lint check identifiers, stable for scripts (the "check" JSON field).
const (
	CheckNotCA              = "not-a-ca"
	CheckRootNotSelfSigned  = "root-not-self-signed"
	CheckExpired            = "ca-expired"
	CheckNotYetValid        = "ca-not-yet-valid"
	CheckEKU                = "ca-eku-excludes-clientauth"
	CheckWeakSignature      = "weak-signature"
	CheckWeakKey            = "weak-rsa-key"
	CheckIntermediateChain  = "intermediate-chains-to-no-root"
	CheckDuplicateSubject   = "duplicate-subject"
	CheckIssuerListSchannel = "issuer-list-schannel-truncation"
	CheckIssuerListWarn     = "issuer-list-over-warn-bytes"
	CheckIssuerListMax      = "issuer-list-truncated"
	CheckIssuerListUntrust  = "issuer-list-names-untrusted-ca"
	CheckRootNotInList      = "root-not-in-issuer-list"
	CheckRevokedCA          = "ca-revoked"
	CheckWeakMapping        = "weak-directory-mapping"
	CheckNoStrongMapping    = "directory-without-strong-methods"
	CheckCRLExpired         = "crl-expired"
	CheckCRLExpiring        = "crl-expiring"
	CheckCRLIssuer          = "crl-issuer-unknown"
	CheckCRLSignature       = "crl-bad-signature"
	// CheckProfile: the certificate breaks an RFC 5280 profile rule
	// (substatus.ProfileRules); the message names the rule.
	CheckProfile = "rfc5280-profile"
)

// CRLExpiryWarning is how close to nextUpdate a CRL triggers a warning:
// a week leaves time to notice a CA that stopped publishing.
const CRLExpiryWarning = 7 * 24 * time.Hour

// Finding is one problem lint found.
type Finding struct {
	Check    string   `json:"check"`
	Severity Severity `json:"severity"`
	// Cert is the certificate concerned; nil for CRL and list findings.
	Cert *CertRef `json:"cert,omitempty"`
	// CRL is the CRL file concerned.
	CRL *CRLRef `json:"crl,omitempty"`
	// Message says what is wrong and what clients get, in one or two sentences.
	Message string `json:"message"`
	// Fix says what to change.
	Fix string `json:"fix"`
	// Sub is what clients end up with because of it, when there is one.
	Sub string `json:"substatus,omitempty"`
	// Related lists other certificates involved (dropped CAs, duplicates).
	Related []CertRef `json:"related,omitempty"`
}

// CRLRef names a CRL in reports.
type CRLRef struct {
	Issuer     string    `json:"issuer"`
	Number     string    `json:"number,omitempty"`
	ThisUpdate time.Time `json:"this_update"`
	NextUpdate time.Time `json:"next_update"`
	Entries    int       `json:"entries"`
	Source     string    `json:"source"`
}

// LintInput is a trust configuration to lint: one site's, or files given
// on the command line.
type LintInput struct {
	// Name labels the report (a site name); may be empty.
	Name          string
	Roots         []Cert
	Intermediates []Cert
	// IssuerList is the list of CAs sent; nil means Roots (the default
	// issuer_list.source).
	IssuerList []Cert
	// SendIssuerList false means no list is sent (issuer_list.send: false);
	// the size checks are skipped.
	SendIssuerList bool
	// CRLs are the CRL files (revocation.crls), as LoadCRLs or CRLsOf
	// give them.
	CRLs []CRL
	// Revocation answers from those files (the engine LoadCRLs or the
	// site build returns); nil: configured intermediates are not looked
	// up in them.
	Revocation LocalChecker
	// WarnBytes and MaxBytes are issuer_list.warn_bytes / max_bytes; 0
	// means the config defaults.
	WarnBytes, MaxBytes int
	At                  time.Time
	// Profile is client_auth.profile: under strict a certificate breaking
	// an RFC 5280 profile rule is an error (every chain through it is
	// refused), otherwise a warning.
	Profile verify.Profile
}

// IssuerListSummary is the size of the list that would be sent.
type IssuerListSummary struct {
	Sent      bool `json:"sent"`
	Count     int  `json:"count"`
	Bytes     int  `json:"bytes"`
	WarnBytes int  `json:"warn_bytes"`
	MaxBytes  int  `json:"max_bytes"`
	// SchannelBytes is the Windows truncation point, for comparison.
	SchannelBytes int `json:"schannel_bytes"`
}

// LintReport is the result of Lint.
type LintReport struct {
	Name          string            `json:"name,omitempty"`
	At            time.Time         `json:"at"`
	Roots         int               `json:"roots"`
	Intermediates int               `json:"intermediates"`
	CRLs          int               `json:"crls"`
	IssuerList    IssuerListSummary `json:"issuer_list"`
	Findings      []Finding         `json:"findings"`
}

// Errors and Warnings count findings by severity.
func (r *LintReport) Errors() int   { return r.count(SevError) }
func (r *LintReport) Warnings() int { return r.count(SevWarning) }

func (r *LintReport) count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// Lint checks a trust configuration for the problems that make client
// certificates fail in ways that are hard to see from a browser. It is
// pure: the caller loads the files.
func Lint(in LintInput) *LintReport {
	if in.WarnBytes <= 0 {
		in.WarnBytes = config.DefaultIssuerListWarnBytes
	}
	if in.MaxBytes <= 0 {
		in.MaxBytes = config.MaxIssuerListBytes
	}
	roots, inters := dedupe(in.Roots), dedupe(in.Intermediates)
	list := roots
	if in.IssuerList != nil {
		list = dedupe(in.IssuerList)
	}
	r := &LintReport{
		Name: in.Name, At: in.At.UTC(),
		Roots: len(roots), Intermediates: len(inters), CRLs: len(in.CRLs),
		Findings: []Finding{},
	}
	l := &linter{in: in, roots: roots, inters: inters, r: r, paths: map[*x509.Certificate][]*x509.Certificate{}}
	// The chain rules ask the engine: a verifier over exactly this trust,
	// as the gateway builds it (New fails only on nil certificates).
	l.v, _ = verify.New(verify.Options{Roots: certsOfCerts(roots), Intermediates: certsOfCerts(inters), ChainCacheSize: -1})
	for _, c := range roots {
		l.cert(c, true)
	}
	for _, c := range inters {
		l.cert(c, false)
		l.chain(c)
	}
	l.duplicates(append(append([]Cert(nil), roots...), inters...))
	r.IssuerList = IssuerListSummary{
		Sent: in.SendIssuerList, WarnBytes: in.WarnBytes, MaxBytes: in.MaxBytes,
		SchannelBytes: issuerlist.SchannelBytes,
	}
	if in.SendIssuerList {
		l.issuerList(list, in.IssuerList != nil)
	}
	if in.Revocation != nil {
		for _, c := range inters {
			l.revoked(c)
		}
	}
	for _, crl := range in.CRLs {
		l.crl(crl)
	}
	return r
}

type linter struct {
	in            LintInput
	roots, inters []Cert
	r             *LintReport
	v             *verify.Verifier
	// paths are the engine's paths from each intermediate to an anchor
	// (chain), for the issuer list and revocation rules.
	paths map[*x509.Certificate][]*x509.Certificate
}

func certsOfCerts(cs []Cert) []*x509.Certificate {
	out := make([]*x509.Certificate, len(cs))
	for i, c := range cs {
		out[i] = c.Certificate
	}
	return out
}

func (l *linter) add(f Finding) { l.r.Findings = append(l.r.Findings, f) }

func (l *linter) certFinding(c Cert, check string, sev Severity, sub substatus.Sub, msg, fix string) {
	ref := refOf(c.Certificate, c.Source)
	f := Finding{Check: check, Severity: sev, Cert: &ref, Message: msg, Fix: fix}
	if !sub.IsZero() {
		f.Sub = sub.String()
	}
	l.add(f)
}

// cert runs the checks that concern one CA certificate on its own.
func (l *linter) cert(c Cert, isRoot bool) {
	role := "intermediate"
	store := "trust.intermediates"
	if isRoot {
		role, store = "root", "trust.roots"
	}
	if !c.BasicConstraintsValid || !c.IsCA {
		l.certFinding(c, CheckNotCA, SevError, substatus.CertUntrusted,
			fmt.Sprintf("Is not a CA (no basicConstraints CA:TRUE) but is configured as a trusted %s: nothing it appears to issue can chain through it (CERT_E_ROLE), and it wastes a slot in the issuer list.", role),
			fmt.Sprintf("Remove it from %s. To admit one specific client certificate, map it with mapping.one_to_one instead of trusting it.", store))
		return
	}
	if isRoot && !verify.IsSelfSigned(c.Certificate) {
		l.certFinding(c, CheckRootNotSelfSigned, SevWarning, substatus.CertUntrusted,
			fmt.Sprintf("Is not self-signed (issued by %s) but is configured as a trusted root. certgate accepts it as a trust anchor, but Windows/IIS rejects client authentication in this setup with 403.16 or 403.7 (KB 2802568), and the issuer list names it instead of its root.", dnString(c.Issuer.String())),
			fmt.Sprintf("Move it to trust.intermediates and put its root (%s) in trust.roots; keep it as an anchor only if you deliberately trust this one issuing CA and not its whole hierarchy.", dnString(c.Issuer.String())))
	}
	if expired, notYet := validity(c.Certificate, l.in.At); expired {
		l.certFinding(c, CheckExpired, SevError, substatus.CertTimeInvalid,
			fmt.Sprintf("Expired on %s (checked at %s): every client chain through this %s is rejected with 403.17 CERT_E_EXPIRED.", day(c.NotAfter), day(l.in.At), role),
			fmt.Sprintf("Replace it in %s with the CA's renewed certificate, or remove it.", store))
	} else if notYet {
		l.certFinding(c, CheckNotYetValid, SevError, substatus.CertTimeInvalid,
			fmt.Sprintf("Not valid before %s (checked at %s): client chains through this %s are rejected with 403.17 until then.", day(c.NotBefore), day(l.in.At), role),
			"Check the server's clock and the CA's notBefore; install it only once it is valid.")
	}
	if !verify.EKUAllows(c.Certificate, x509.ExtKeyUsageClientAuth) {
		l.certFinding(c, CheckEKU, SevError, substatus.CertUntrusted,
			fmt.Sprintf("Restricts Extended Key Usage to %s, which excludes clientAuth: client certificates issued under it are rejected with 403.16 CERT_E_WRONG_USAGE (EKU nests down the chain).", verify.EKUNames(c.Certificate)),
			"Issue client certificates from a CA without an EKU extension or whose EKU includes clientAuth, and remove this one from the client trust.")
	}
	// Whether a weak signature or key breaks the chain is the engine's
	// verdict (chain, intermediate-chains-to-no-root): it accepts SHA-1
	// as IIS does and refuses MD5. Here it is only worth a warning.
	if weakSignature(c.SignatureAlgorithm) {
		if isRoot && verify.IsSelfSigned(c.Certificate) {
			l.certFinding(c, CheckWeakSignature, SevWarning, substatus.Sub{},
				fmt.Sprintf("Is signed with %s. A root's own signature is not checked, but its age suggests a hierarchy that still issues with weak algorithms.", c.SignatureAlgorithm),
				"Plan to replace it with a root signed with SHA-256 or better.")
		} else {
			l.certFinding(c, CheckWeakSignature, SevWarning, substatus.Sub{},
				fmt.Sprintf("Is signed with %s. certgate verifies SHA-1 signatures, as IIS does, so chains through it are accepted today; SHA-1 is deprecated (collisions are practical) and other servers and future releases may refuse it.", c.SignatureAlgorithm),
				"Have the parent CA re-issue it with SHA-256 or better.")
		}
	}
	// The engine's own profile check, on the configured certificate.
	for _, pv := range verify.CheckProfile(c.Certificate) {
		sev, what := SevWarning, "certgate accepts chains through it with a warning (client_auth.profile: standard); profile: strict refuses them with 403.16 CERT_E_MALFORMED"
		sub := substatus.Sub{}
		if l.in.Profile == verify.ProfileStrict {
			sev, what, sub = SevError, "client_auth.profile is strict, so every chain through it is refused with 403.16 CERT_E_MALFORMED", substatus.CertUntrusted
		}
		l.certFinding(c, CheckProfile, sev, sub,
			fmt.Sprintf("Breaks RFC 5280 profile rule %s (%s: %s): %s; %s.", pv.Rule.Name, pv.Rule.Section, pv.Rule.Rule, pv.Detail, what),
			pv.Rule.Fix+" (certgate explain "+pv.Rule.Name+").")
	}
	if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && pub.N.BitLen() < 2048 {
		l.certFinding(c, CheckWeakKey, SevWarning, substatus.Sub{},
			fmt.Sprintf("Has a %d-bit RSA key, under the 2048 bits current baselines require (NIST SP 800-131A, CA/Browser Forum); other servers and clients refuse it, and Go (so certgate) refuses keys under 1024 bits.", pub.N.BitLen()),
			"Replace the CA with one using RSA 2048+ or ECDSA P-256.")
	}
}

// chain reports an intermediate from which the engine builds no path to a
// configured root (verify.Verifier.PathOf: RFC 5280 7.1 name matching and
// the signature rules of every client chain), with the engine's reason.
func (l *linter) chain(c Cert) {
	if l.v == nil {
		return
	}
	path, o := l.v.PathOf(c.Certificate)
	if o == nil {
		l.paths[c.Certificate] = path
		return
	}
	l.certFinding(c, CheckIntermediateChain, SevError, o.Sub,
		fmt.Sprintf("Cannot be chained to any configured root: %s. Client chains through it fail with %s %s.", o.Reason, o.Sub, o.Code.Name()),
		fmt.Sprintf("Add its issuer (%s) to trust.roots or trust.intermediates, or remove this intermediate.", dnString(c.Issuer.String())))
}

// revoked reports a configured intermediate that the configured CRL files
// revoke, as the engine sees it (revocation.Engine.CheckLocal: issuer
// name, signature, validity at l.in.At, scope, delta CRLs): every client
// chain through it is refused with 403.13.
func (l *linter) revoked(c Cert) {
	path := l.paths[c.Certificate]
	if len(path) < 2 {
		return // no issuer to check it against; chain reported it
	}
	res := l.in.Revocation.CheckLocal(c.Certificate, path[1], l.in.At)
	if res.Status != revocation.Revoked {
		return
	}
	crl := res.Source
	l.certFinding(c, CheckRevokedCA, SevError, substatus.CertRevoked,
		fmt.Sprintf("Is revoked by the CRL file %s (serial %s, revoked %s, reason %s): every client chain through this intermediate is refused with 403.13 %s.",
			crl, c.SerialNumber.Text(16), day(res.RevokedAt), verify.ReasonName(res.ReasonCode), substatus.CryptERevoked.Name()),
		fmt.Sprintf("Remove it from trust.intermediates and have its clients re-issued under a valid CA; if the revocation is a mistake, have the CA publish a CRL without it (%s).", crl))
}

// duplicates reports CAs that share a subject but not a key: chain
// building may pick the wrong one, and the issuer list names them twice.
func (l *linter) duplicates(all []Cert) {
	reported := map[int]bool{}
	for i, a := range all {
		if reported[i] {
			continue
		}
		var others []CertRef
		for j := i + 1; j < len(all); j++ {
			b := all[j]
			if dname.Equal(a.RawSubject, b.RawSubject) && !bytes.Equal(a.RawSubjectPublicKeyInfo, b.RawSubjectPublicKeyInfo) {
				others = append(others, refOf(b.Certificate, b.Source))
				reported[j] = true
			}
		}
		if len(others) == 0 {
			continue
		}
		ref := refOf(a.Certificate, a.Source)
		l.add(Finding{
			Check: CheckDuplicateSubject, Severity: SevWarning, Cert: &ref, Related: others,
			Message: fmt.Sprintf("%d other configured CA certificate(s) have the same subject but a different key. Clients see the name once per certificate in the issuer list, and a chain built by name may pick the wrong key (TRUST_E_CERT_SIGNATURE, 403.16).", len(others)),
			Fix:     "Keep both only during a CA key rollover; remove the retired generation once its certificates have expired.",
		})
	}
}

func (l *linter) issuerList(list []Cert, explicit bool) {
	certs := make([]*x509.Certificate, len(list))
	sources := map[*x509.Certificate]string{}
	for i, c := range list {
		certs[i] = c.Certificate
		sources[c.Certificate] = c.Source
	}
	refs := func(cs []*x509.Certificate) []CertRef {
		out := make([]CertRef, len(cs))
		for i, c := range cs {
			out[i] = refOf(c, sources[c])
		}
		return out
	}
	full := issuerlist.Truncate(certs, 0)
	l.r.IssuerList.Count, l.r.IssuerList.Bytes = len(certs), full.TotalBytes
	if full.TotalBytes > issuerlist.SchannelBytes {
		s := issuerlist.Truncate(certs, issuerlist.SchannelBytes)
		l.add(Finding{
			Check: CheckIssuerListSchannel, Severity: SevWarning, Sub: substatus.CertRequired.String(), Related: refs(s.Dropped),
			Message: fmt.Sprintf("The issuer list is %d bytes encoded (%d CAs). Windows Schannel would send only the first %d bytes and drop the %d CA(s) listed below (event 36885); behind such a server or a proxy that copies it, browsers stop offering certificates from those CAs (403.7).", full.TotalBytes, len(certs), issuerlist.SchannelBytes, len(s.Dropped)),
			Fix:     "Send only the CAs that issue client certificates (client_auth.issuer_list.source), most used first.",
		})
	}
	if full.TotalBytes > l.in.WarnBytes {
		l.add(Finding{
			Check: CheckIssuerListWarn, Severity: SevWarning,
			Message: fmt.Sprintf("The issuer list is %d bytes encoded, over warn_bytes (%d): some clients and middleboxes fail on a CertificateRequest this large.", full.TotalBytes, l.in.WarnBytes),
			Fix:     "Shorten client_auth.issuer_list.source to the CAs that issue client certificates.",
		})
	}
	m := issuerlist.Truncate(certs, l.in.MaxBytes)
	if len(m.Dropped) > 0 {
		l.add(Finding{
			Check: CheckIssuerListMax, Severity: SevError, Sub: substatus.CertRequired.String(), Related: refs(m.Dropped),
			Message: fmt.Sprintf("The issuer list is %d bytes encoded, over max_bytes (%d): certgate sends the first %d bytes and drops the %d CA(s) listed below, so browsers will not offer certificates issued under them (403.7).", full.TotalBytes, l.in.MaxBytes, m.Bytes, len(m.Dropped)),
			Fix:     "Shorten client_auth.issuer_list.source, or order it so the CAs your clients use come first.",
		})
	}
	l.rootsNotSent(m, explicit)
	if !explicit {
		return
	}
	trusted := append(append([]Cert(nil), l.roots...), l.inters...)
	for _, c := range list {
		found := false
		for _, t := range trusted {
			if dname.Equal(c.RawSubject, t.RawSubject) {
				found = true
				break
			}
		}
		if !found {
			l.certFinding(c, CheckIssuerListUntrust, SevWarning, substatus.CertUntrusted,
				"Is named in the issuer list but is neither a trusted root nor a trusted intermediate: browsers will offer certificates issued under it, and certgate will reject them with 403.16.",
				"Remove it from client_auth.issuer_list.source, or add it (or its root) to client_auth.trust.")
		}
	}
}

func (l *linter) crl(crl CRL) {
	ref := &CRLRef{
		Issuer: dnString(crl.Issuer.String()), ThisUpdate: crl.ThisUpdate.UTC(), NextUpdate: crl.NextUpdate.UTC(),
		Entries: crl.Len(), Source: crl.Source,
	}
	if crl.Number != nil {
		ref.Number = crl.Number.String()
	}
	add := func(check string, sev Severity, msg, fix string) {
		l.add(Finding{Check: check, Severity: sev, CRL: ref, Sub: substatus.CertRevoked.String(), Message: msg, Fix: fix})
	}
	switch {
	case crl.NextUpdate.IsZero():
		// No nextUpdate: RFC 5280 §5.1.2.5 requires it; treat as never fresh.
		add(CheckCRLExpired, SevError,
			"Has no nextUpdate, so it can never be considered current: in online mode chains covered by it get 403.13 CRYPT_E_REVOCATION_OFFLINE.",
			"Have the CA publish CRLs with a nextUpdate.")
	case l.in.At.After(crl.NextUpdate):
		add(CheckCRLExpired, SevError,
			fmt.Sprintf("Expired: its nextUpdate was %s (checked at %s). An expired CRL is never used in online mode, so certificates it covers get 403.13 CRYPT_E_REVOCATION_OFFLINE unless another source answers.", day(crl.NextUpdate), day(l.in.At)),
			"Fetch the current CRL from the CA's distribution point, or fix the CA's publishing job.")
	case crl.NextUpdate.Sub(l.in.At) < CRLExpiryWarning:
		add(CheckCRLExpiring, SevWarning,
			fmt.Sprintf("Expires soon: its nextUpdate is %s, less than %d days after %s. If no newer CRL arrives by then, covered certificates get 403.13.", day(crl.NextUpdate), int(CRLExpiryWarning/(24*time.Hour)), day(l.in.At)),
			"Make sure the CRL file is refreshed before nextUpdate (or let certgate fetch it from the CDP).")
	}
	named, verified := false, false
	var sigErr error
	for _, c := range append(append([]Cert(nil), l.roots...), l.inters...) {
		if !dname.Equal(c.RawSubject, crl.RawIssuer) {
			continue
		}
		named = true
		if err := crl.CheckSignatureFrom(c.Certificate); err != nil {
			sigErr = err
			continue
		}
		verified = true
		break
	}
	switch {
	case !named:
		add(CheckCRLIssuer, SevWarning,
			fmt.Sprintf("Is issued by %s, which is not a configured root or intermediate: it covers none of the trusted chains and is ignored.", ref.Issuer),
			"Remove it, or add the CA that issued it to the trust configuration.")
	case !verified:
		add(CheckCRLSignature, SevError,
			fmt.Sprintf("Names %s as issuer, but that CA's key does not verify its signature (%v): it is ignored, and in online mode covered certificates get 403.13.", ref.Issuer, sigErr),
			"Replace the file with the CRL the CA actually published (or the CA certificate with the current generation).")
	}
}

func weakSignature(a x509.SignatureAlgorithm) bool {
	switch a {
	case x509.MD2WithRSA, x509.MD5WithRSA, x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1:
		return true
	}
	return false
}

// dedupe drops repeated certificates (same DER), keeping the first: a
// bundle and a directory often hold the same root, and the gateway's pools
// hold it once.
func dedupe(in []Cert) []Cert {
	var out []Cert
	for _, c := range in {
		dup := false
		for _, o := range out {
			if bytes.Equal(o.Raw, c.Raw) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, c)
		}
	}
	return out
}

// LintConfig lints the trust configuration of every site of c (or only the
// site named site), loading the files each site points at. File errors
// name the config field (certgate.yaml:9: sites[0].client_auth.trust.roots: ...).
func LintConfig(c *config.Config, site string, at time.Time) ([]*LintReport, error) {
	return LintSites(c, site, at, nil)
}

// LintSites is LintConfig for a config whose sites' revocation engines are
// already built (`certgate check` builds them as serve does): engines
// returns a site's engine, or nil when it has none (revocation off, no
// certificate requested), and that engine's local CRLs are linted instead
// of being loaded a second time: a million-entry CRL is held once.
func LintSites(c *config.Config, site string, at time.Time, engines func(site string) *revocation.Engine) ([]*LintReport, error) {
	var out []*LintReport
	for i := range c.Sites {
		s := &c.Sites[i]
		if site != "" && s.Name != site {
			continue
		}
		p := fmt.Sprintf("sites[%d].client_auth", i)
		ca := &s.ClientAuth
		in := LintInput{Name: s.Name, At: at, SendIssuerList: ca.IssuerList.Send == nil || *ca.IssuerList.Send}
		var err error
		if in.Profile, err = verify.ParseProfile(ca.Profile); err != nil {
			return nil, c.FieldErr(p+".profile", err)
		}
		if in.Roots, err = loadCertsField(c, p+".trust.roots", ca.Trust.Roots); err != nil {
			return nil, err
		}
		if in.Intermediates, err = loadCertsField(c, p+".trust.intermediates", ca.Trust.Intermediates); err != nil {
			return nil, err
		}
		if !slices.Equal(ca.IssuerList.Source, ca.Trust.Roots) {
			if in.IssuerList, err = loadCertsField(c, p+".issuer_list.source", ca.IssuerList.Source); err != nil {
				return nil, err
			}
			if in.IssuerList == nil {
				in.IssuerList = []Cert{}
			}
		}
		if len(ca.Revocation.CRLs) > 0 {
			var e *revocation.Engine
			if engines != nil {
				e = engines(s.Name)
			}
			if e != nil {
				in.CRLs, in.Revocation = CRLsOf(e), e
			} else {
				issuers := append(append([]Cert(nil), in.Roots...), in.Intermediates...)
				if in.CRLs, e, err = LoadCRLs(issuers, ca.Revocation.CRLs...); err != nil {
					return nil, c.FieldErr(p+".revocation.crls", err)
				}
				in.Revocation = e
			}
		}
		if ca.IssuerList.WarnBytes != nil {
			in.WarnBytes = *ca.IssuerList.WarnBytes
		}
		if ca.IssuerList.MaxBytes != nil {
			in.MaxBytes = *ca.IssuerList.MaxBytes
		}
		rep := Lint(in)
		if s.Mapping != nil && s.Mapping.Directory != nil {
			lintDirectory(rep, fmt.Sprintf("sites[%d].mapping.directory", i), s.Mapping.Directory)
		}
		out = append(out, rep)
	}
	if site != "" && len(out) == 0 {
		return nil, fmt.Errorf("lint %s: %w: no site named %q", c.Path, ErrBadInput, site)
	}
	return out, nil
}

func loadCertsField(c *config.Config, path string, paths config.Paths) ([]Cert, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	certs, err := LoadCerts(paths...)
	if err != nil {
		return nil, c.FieldErr(path, err)
	}
	return certs, nil
}

// rootsNotSent reports trusted roots whose name the issuer list that is
// sent (sent.Kept, after max_bytes) does not carry, directly or through a
// configured intermediate that chains to them: Chromium (and Windows
// clients) offer only certificates whose chain reaches a name in the
// list, so those clients send no certificate and get 403.7. An empty list
// is exempt: with no names a client may offer any certificate (RFC 5246
// 7.4.4, RFC 8446 4.2.4).
func (l *linter) rootsNotSent(sent issuerlist.Result, explicit bool) {
	if len(sent.Kept) == 0 {
		return
	}
	named := func(root *x509.Certificate, list []*x509.Certificate) bool {
		for _, c := range list {
			// A root that is not self-issued is reached through its own
			// issuer in the client's chain, which may be the name sent.
			if dname.Equal(c.RawSubject, root.RawSubject) || !verify.IsSelfIssued(root) && dname.Equal(c.RawSubject, root.RawIssuer) {
				return true
			}
			if p := l.paths[c]; len(p) > 0 && bytes.Equal(p[len(p)-1].Raw, root.Raw) {
				return true
			}
		}
		return false
	}
	for _, r := range l.roots {
		if !r.BasicConstraintsValid || !r.IsCA || named(r.Certificate, sent.Kept) {
			continue
		}
		why, field := "client_auth.issuer_list.source does not include it or a configured intermediate under it", "client_auth.issuer_list.source"
		if named(r.Certificate, sent.Dropped) {
			why, field = fmt.Sprintf("it is cut off by max_bytes (%d)", l.in.MaxBytes), "client_auth.issuer_list.max_bytes"
		} else if !explicit {
			continue // the default source is the roots: only truncation drops one
		}
		l.certFinding(r, CheckRootNotInList, SevError, substatus.CertRequired,
			fmt.Sprintf("Is a trusted root, but the issuer list sent to clients does not name it: %s. Browsers such as Chromium only offer a certificate whose chain reaches a CA named in that list, so clients of this root are never asked for theirs and get 403.7 %s.", why, substatus.SecENoCredentials.Name()),
			fmt.Sprintf("Add it (or the intermediates under it that issue client certificates) to %s, or remove it from trust.roots if it issues no client certificates.", field))
	}
}

// lintDirectory reports the KB5014754 weak mapping methods a site's
// directory uses (allow_weak), and a directory left with no strong method.
// UPN mapping without upn.issuers is a configuration error, reported
// before lint runs.
func lintDirectory(r *LintReport, path string, d *config.Directory) {
	strong := false
	for i, m := range d.Methods {
		dm := directory.Method(m)
		if dm.Strong() {
			strong = true
			continue
		}
		r.Findings = append(r.Findings, Finding{
			Check: CheckWeakMapping, Severity: SevWarning, Sub: substatus.MapperDenied.String(),
			Message: fmt.Sprintf("%s.methods[%d] %q is a weak mapping (KB5014754): it maps by names any trusted CA can write, and Windows domain controllers refuse it in full enforcement", path, i, m),
			Fix:     "give each account a strong altSecurityIdentities value (X509:<I>issuer<SR>serial, X509:<SKI>, X509:<SHA1-PUKEY>) or issue certificates with the SID extension, then remove the method and allow_weak",
		})
	}
	if !strong {
		r.Findings = append(r.Findings, Finding{
			Check: CheckNoStrongMapping, Severity: SevWarning, Sub: substatus.MapperDenied.String(),
			Message: fmt.Sprintf("%s.methods has no strong method: every mapping is weak", path),
			Fix:     "list sid, issuer_serial, ski or sha1_pukey first",
		})
	}
}
