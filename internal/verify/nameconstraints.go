package verify

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/certgate/certgate/internal/dname"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Name constraints (RFC 5280 4.2.1.10, 6.1.3(b,c), 6.1.4(g)) are enforced
// here rather than by crypto/x509, for three reasons PKITS 4.13 shows:
//   - crypto/x509 does not implement directoryName subtrees: it leaves a
//     critical nameConstraints extension that has one in
//     UnhandledCriticalExtensions, which rejects the whole CA;
//   - it reads an rfc822Name or URI constraint without a leading period
//     ("example.com") as "this host and its subdomains", where RFC 5280
//     says "this host only";
//   - it finds chains by comparing names byte for byte, so it cannot check
//     constraints on a path certgate built with RFC 5280 7.1 name matching.
// The dNSName, rfc822Name, uniformResourceIdentifier and iPAddress subtrees
// are read from the fields crypto/x509 already parsed; directoryName and
// otherName UPN subtrees, and the directoryName and UPN subject
// alternative names they apply to, are read from the raw extensions.
//
// otherName UPN subtrees (szOID_NT_PRINCIPAL_NAME) are what Windows CAs
// write for "UPN = @corp.example" in CAPolicy.inf: CryptoAPI enforces them
// on the UPN's domain part, and a partner CA constrained to its own UPN
// suffix must not be rejected whole (CERT_E_CRITICAL) by a gateway that
// could enforce the constraint instead. Other otherName types are still
// not enforced.

var (
	oidNameConstraints = asn1.ObjectIdentifier{2, 5, 29, 30}
	oidSubjectAltName  = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidEmailAddress    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
)

// maxConstraintComparisons bounds the work of one path, as crypto/x509's
// MaxConstraintComparisions does: a CA with thousands of subtrees and a
// leaf with thousands of names must not pin a CPU.
const maxConstraintComparisons = 250000

// GeneralName tags (RFC 5280 4.2.1.6).
const (
	gnRFC822    = 1
	gnDNS       = 2
	gnOtherName = 0
	gnDirectory = 4
	gnURI       = 6
	gnIP        = 7
)

// dnConstraints are the directoryName and otherName UPN subtrees of one
// certificate.
type dnConstraints struct {
	permitted, excluded       []dname.Name
	permittedUPN, excludedUPN []string
	// handled: every subtree is of a form certgate enforces, so a critical
	// extension may be treated as processed.
	handled bool
	// malformed: a directoryName subtree cannot be read, so the constraints
	// cannot be enforced at all.
	malformed bool
}

// readDNConstraints reads the directoryName subtrees of c's
// nameConstraints extension. crypto/x509 has already validated the
// extension's overall shape (it refuses to parse a certificate otherwise).
func readDNConstraints(c *x509.Certificate) dnConstraints {
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidNameConstraints) {
			continue
		}
		out := dnConstraints{handled: true}
		outer := cryptobyte.String(e.Value)
		var top, permitted, excluded cryptobyte.String
		var hasP, hasE bool
		if !outer.ReadASN1(&top, cbasn1.SEQUENCE) ||
			!top.ReadOptionalASN1(&permitted, &hasP, cbasn1.Tag(0).ContextSpecific().Constructed()) ||
			!top.ReadOptionalASN1(&excluded, &hasE, cbasn1.Tag(1).ContextSpecific().Constructed()) {
			return dnConstraints{malformed: true}
		}
		out.permitted, out.permittedUPN = out.readSubtrees(permitted)
		out.excluded, out.excludedUPN = out.readSubtrees(excluded)
		return out
	}
	return dnConstraints{handled: true}
}

// readSubtrees returns the directoryName and otherName UPN bases of
// GeneralSubtrees, and notes forms certgate does not enforce (handled) or
// cannot read (malformed). Other forms are still read, so that a
// non-critical extension with an unsupported form keeps its directoryName
// and UPN subtrees.
func (d *dnConstraints) readSubtrees(s cryptobyte.String) ([]dname.Name, []string) {
	var dns []dname.Name
	var upns []string
	for !s.Empty() {
		var sub, base cryptobyte.String
		var tag cbasn1.Tag
		if !s.ReadASN1(&sub, cbasn1.SEQUENCE) || !sub.ReadAnyASN1(&base, &tag) {
			d.malformed, d.handled = true, false
			return dns, upns
		}
		// minimum and maximum are ignored, as crypto/x509 ignores them:
		// RFC 5280 says minimum MUST be 0 and maximum MUST be absent.
		switch tag {
		case cbasn1.Tag(gnRFC822).ContextSpecific(), cbasn1.Tag(gnDNS).ContextSpecific(),
			cbasn1.Tag(gnURI).ContextSpecific(), cbasn1.Tag(gnIP).ContextSpecific():
			// Parsed by crypto/x509 into the Permitted*/Excluded* fields.
		case cbasn1.Tag(gnDirectory).ContextSpecific().Constructed():
			// [4] is explicit (Name is a CHOICE): base holds a Name.
			rdns, ok := dname.Parse(base)
			if !ok {
				d.malformed, d.handled = true, false
				return dns, upns
			}
			dns = append(dns, rdns)
		case cbasn1.Tag(gnOtherName).ContextSpecific().Constructed():
			upn, isUPN, err := dname.OtherNameUPN(base)
			switch {
			case isUPN && err != nil:
				d.malformed, d.handled = true, false
				return dns, upns
			case isUPN:
				upns = append(upns, upn)
			default:
				// Another otherName type (or none readable): not enforced.
				d.handled = false
			}
		default:
			d.handled = false // x400Address, ediPartyName, registeredID
		}
	}
	return dns, upns
}

// unhandledCritical is c.UnhandledCriticalExtensions without the
// nameConstraints extension when certgate enforces all of its subtrees.
func unhandledCritical(c *x509.Certificate) []asn1.ObjectIdentifier {
	exts := c.UnhandledCriticalExtensions
	if !slices.ContainsFunc(exts, func(id asn1.ObjectIdentifier) bool { return id.Equal(oidNameConstraints) }) {
		return exts
	}
	if !readDNConstraints(c).handled {
		return exts
	}
	out := make([]asn1.ObjectIdentifier, 0, len(exts)-1)
	for _, id := range exts {
		if !id.Equal(oidNameConstraints) {
			out = append(out, id)
		}
	}
	return out
}

func hasNameConstraints(c *x509.Certificate) bool {
	if len(c.PermittedDNSDomains)+len(c.ExcludedDNSDomains)+len(c.PermittedIPRanges)+len(c.ExcludedIPRanges)+
		len(c.PermittedEmailAddresses)+len(c.ExcludedEmailAddresses)+len(c.PermittedURIDomains)+len(c.ExcludedURIDomains) > 0 {
		return true
	}
	return slices.ContainsFunc(c.Extensions, func(e pkix.Extension) bool { return e.Id.Equal(oidNameConstraints) })
}

// certNames are the names of one certificate that constraints apply to.
type certNames struct {
	subject     dname.Name // nil when the subject is empty
	subjectText string
	dirs        []dname.Name
	dns         []string
	emails      []string
	uris        []*url.URL
	ips         []net.IP
	upns        []string
	// upnErr: a UPN alternative name cannot be read. It matters only
	// under a CA with UPN subtrees, where it fails the path.
	upnErr error
}

func namesOf(c *x509.Certificate) (certNames, error) {
	n := certNames{dns: c.DNSNames, emails: c.EmailAddresses, uris: c.URIs, ips: c.IPAddresses}
	subj, ok := dname.Parse(c.RawSubject)
	if !ok {
		return n, fmt.Errorf("subject name cannot be parsed")
	}
	if len(subj) > 0 {
		n.subject, n.subjectText = subj, fmt.Sprintf("%q", c.Subject.String())
	}
	// RFC 5280 4.2.1.10: without an rfc822Name alternative name, rfc822Name
	// constraints apply to emailAddress attributes of the subject.
	if len(n.emails) == 0 {
		for _, a := range c.Subject.Names {
			if s, ok := a.Value.(string); ok && a.Type.Equal(oidEmailAddress) {
				n.emails = append(n.emails, s)
			}
		}
	}
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidSubjectAltName) {
			continue
		}
		in := cryptobyte.String(e.Value)
		var seq cryptobyte.String
		if !in.ReadASN1(&seq, cbasn1.SEQUENCE) {
			return n, fmt.Errorf("subject alternative name extension cannot be parsed")
		}
		for !seq.Empty() {
			var v cryptobyte.String
			var tag cbasn1.Tag
			if !seq.ReadAnyASN1(&v, &tag) {
				return n, fmt.Errorf("subject alternative name extension cannot be parsed")
			}
			switch tag {
			case cbasn1.Tag(gnDirectory).ContextSpecific().Constructed():
				rdns, ok := dname.Parse(v)
				if !ok {
					return n, fmt.Errorf("directoryName alternative name cannot be parsed")
				}
				n.dirs = append(n.dirs, rdns)
			case cbasn1.Tag(gnOtherName).ContextSpecific().Constructed():
				upn, isUPN, err := dname.OtherNameUPN(v)
				if err != nil && n.upnErr == nil {
					n.upnErr = err
				}
				if isUPN && err == nil {
					n.upns = append(n.upns, upn)
				}
			}
		}
	}
	return n, nil
}

// nameViolation describes why a certificate's name breaks a CA's
// constraints.
type nameViolation struct {
	cert, ca int // indexes in the path
	detail   string
}

// checkNameConstraints applies the constraints of every CA in the path
// (the anchor included, as crypto/x509 and CryptoAPI do: an operator who
// trusts a name-constrained root expects the constraint to hold) to every
// certificate below it. Self-issued intermediates are exempt (RFC 5280
// 6.1.3(b)): they are key rollover certificates of the CA itself.
func checkNameConstraints(path []*x509.Certificate) *nameViolation {
	budget := maxConstraintComparisons
	names := make([]*certNames, len(path))
	for j := 1; j < len(path); j++ {
		ca := path[j]
		if !hasNameConstraints(ca) {
			continue
		}
		dn := readDNConstraints(ca)
		if dn.malformed {
			return &nameViolation{cert: j - 1, ca: j, detail: "the name constraints extension of the CA above cannot be read, so they cannot be enforced"}
		}
		for i := 0; i < j; i++ {
			if i > 0 && selfIssued(path[i]) {
				continue
			}
			if names[i] == nil {
				n, err := namesOf(path[i])
				if err != nil {
					return &nameViolation{cert: i, ca: j, detail: err.Error() + ", so the name constraints of the CA above cannot be checked"}
				}
				names[i] = &n
			}
			if d := checkNames(names[i], ca, dn, &budget); d != "" {
				return &nameViolation{cert: i, ca: j, detail: d}
			}
		}
	}
	return nil
}

// checkNames checks one certificate's names against one CA's constraints
// and returns "" or what is wrong.
func checkNames(n *certNames, ca *x509.Certificate, dn dnConstraints, budget *int) string {
	spend := func(k int) bool {
		*budget -= k
		return *budget >= 0
	}
	const tooMany = "needs too many name constraint comparisons (more than 250000)"

	dirNames := n.dirs
	if n.subject != nil {
		dirNames = append([]dname.Name{n.subject}, n.dirs...)
	}
	for k, name := range dirNames {
		what := "subject " + n.subjectText
		if n.subject == nil || k > 0 {
			what = fmt.Sprintf("directoryName alternative name %q", name)
		}
		if !spend(len(dn.permitted) + len(dn.excluded)) {
			return tooMany
		}
		for _, base := range dn.excluded {
			if name.Within(base) {
				return fmt.Sprintf("%s is in the excluded directoryName subtree %q", what, base)
			}
		}
		if len(dn.permitted) > 0 && !slices.ContainsFunc(dn.permitted, func(base dname.Name) bool { return name.Within(base) }) {
			bases := make([]string, len(dn.permitted))
			for i, b := range dn.permitted {
				bases[i] = fmt.Sprintf("%q", b.String())
			}
			return fmt.Sprintf("%s is not within the permitted directoryName subtrees (%s)", what, strings.Join(bases, ", "))
		}
	}

	if len(dn.permittedUPN)+len(dn.excludedUPN) > 0 {
		if n.upnErr != nil {
			return fmt.Sprintf("a UPN alternative name cannot be read (%v), so the UPN name constraints of the CA above cannot be checked", n.upnErr)
		}
		for _, upn := range n.upns {
			if !spend(len(dn.permittedUPN) + len(dn.excludedUPN)) {
				return tooMany
			}
			for _, c := range dn.excludedUPN {
				m, err := matchUPNConstraint(upn, c)
				if err != nil {
					return fmt.Sprintf("UPN %q cannot be checked against the constraint %q: %v", upn, c, err)
				}
				if m {
					return fmt.Sprintf("UPN %q is excluded by the constraint %q", upn, c)
				}
			}
			if len(dn.permittedUPN) == 0 {
				continue
			}
			found := false
			for _, c := range dn.permittedUPN {
				m, err := matchUPNConstraint(upn, c)
				if err != nil {
					return fmt.Sprintf("UPN %q cannot be checked against the constraint %q: %v", upn, c, err)
				}
				if m {
					found = true
					break
				}
			}
			if !found {
				return fmt.Sprintf("UPN %q is not within the permitted UPN subtrees %q", upn, dn.permittedUPN)
			}
		}
	}

	type check struct {
		kind                string
		names               []string
		permitted, excluded []string
		match               func(name, constraint string) (bool, error)
		// excludedMatch, when set, replaces match for excluded subtrees.
		excludedMatch func(name, constraint string) (bool, error)
	}
	uris := make([]string, len(n.uris))
	for i, u := range n.uris {
		uris[i] = u.String()
	}
	checks := []check{
		{"dNSName", n.dns, ca.PermittedDNSDomains, ca.ExcludedDNSDomains, matchDNSConstraint, matchDNSExcluded},
		{"rfc822Name", n.emails, ca.PermittedEmailAddresses, ca.ExcludedEmailAddresses, matchEmailConstraint, nil},
		{"URI", uris, ca.PermittedURIDomains, ca.ExcludedURIDomains, matchURIConstraint, nil},
	}
	// Every rfc822Name must be a mailbox before any constraint is applied
	// to it, whichever forms the CA constrains (crypto/x509 does the same):
	// a name that is not one has no domain to compare.
	for _, e := range n.emails {
		if _, ok := parseMailbox(e); !ok {
			return fmt.Sprintf("rfc822Name %q is not a mailbox (RFC 5280 4.2.1.6, RFC 5321 4.1.2), so it cannot be checked against name constraints", e)
		}
	}
	for _, ch := range checks {
		excludedMatch := ch.match
		if ch.excludedMatch != nil {
			excludedMatch = ch.excludedMatch
		}
		if len(ch.permitted)+len(ch.excluded) == 0 {
			continue
		}
		// The whole cost up front: a certificate over the budget is
		// refused before any comparison is made, so it costs nothing.
		if !spend(len(ch.names) * (len(ch.permitted) + len(ch.excluded))) {
			return tooMany
		}
		for _, name := range ch.names {
			for _, c := range ch.excluded {
				m, err := excludedMatch(name, c)
				if err != nil {
					return fmt.Sprintf("%s %q cannot be checked against the constraint %q: %v", ch.kind, name, c, err)
				}
				if m {
					return fmt.Sprintf("%s %q is excluded by the constraint %q", ch.kind, name, c)
				}
			}
			if len(ch.permitted) == 0 {
				continue
			}
			found := false
			for _, c := range ch.permitted {
				m, err := ch.match(name, c)
				if err != nil {
					return fmt.Sprintf("%s %q cannot be checked against the constraint %q: %v", ch.kind, name, c, err)
				}
				if m {
					found = true
					break
				}
			}
			if !found {
				return fmt.Sprintf("%s %q is not within the permitted subtrees %q", ch.kind, name, ch.permitted)
			}
		}
	}

	if len(ca.PermittedIPRanges)+len(ca.ExcludedIPRanges) > 0 {
		for _, ip := range n.ips {
			if !spend(len(ca.PermittedIPRanges) + len(ca.ExcludedIPRanges)) {
				return tooMany
			}
			for _, r := range ca.ExcludedIPRanges {
				if ipInRange(ip, r) {
					return fmt.Sprintf("iPAddress %s is excluded by the constraint %s", ip, r)
				}
			}
			if len(ca.PermittedIPRanges) > 0 && !slices.ContainsFunc(ca.PermittedIPRanges, func(r *net.IPNet) bool { return ipInRange(ip, r) }) {
				return fmt.Sprintf("iPAddress %s is not within the permitted subtrees %v", ip, ca.PermittedIPRanges)
			}
		}
	}
	return ""
}

// matchDNSConstraint: a dNSName is within "example.com" when it is that
// name or ends in ".example.com" (zero or more labels added on the left,
// RFC 5280 4.2.1.10). A constraint with a leading period requires at least
// one added label, as crypto/x509 and most verifiers read it; an empty
// constraint matches every name.
func matchDNSConstraint(name, constraint string) (bool, error) {
	return matchDomain(name, constraint, true)
}

// matchDNSExcluded is matchDNSConstraint for an excluded subtree, where a
// wildcard name is the set of names it stands for (RFC 6125 6.4.3: "*"
// is one whole left-most label): "*.example.com" is excluded by
// "bar.example.com", because it also names bar.example.com. A CA that
// excluded a host must not see it come back through a wildcard (the
// CVE-2025-61727 class; crypto/x509 since Go 1.25.5 reads it this way).
// In a permitted subtree the wildcard needs no such care: "*" compared
// as a label is permitted only where every name it stands for is.
func matchDNSExcluded(name, constraint string) (bool, error) {
	m, err := matchDomain(name, constraint, true)
	if m || err != nil {
		return m, err
	}
	rest, ok := strings.CutPrefix(name, "*.")
	if !ok || constraint == "" || constraint[0] == '.' {
		// A leading-period constraint excludes names below its domain: a
		// one-label wildcard over the parent never reaches them.
		return false, nil
	}
	dot := strings.IndexByte(constraint, '.')
	return dot > 0 && strings.EqualFold(constraint[dot+1:], rest), nil
}

// matchEmailConstraint follows RFC 5280 4.2.1.10 for rfc822Name: a
// constraint with "@" is one mailbox; one with a leading period is any
// host in that domain (not the domain itself); otherwise it is exactly
// that host. Host names compare case-insensitively, local parts exactly.
func matchEmailConstraint(email, constraint string) (bool, error) {
	mb, ok := parseMailbox(email)
	if !ok {
		return false, fmt.Errorf("not a mailbox")
	}
	if strings.ContainsRune(constraint, '@') {
		want, ok := parseMailbox(constraint)
		if !ok {
			return false, fmt.Errorf("the constraint is not a mailbox")
		}
		return mb.local == want.local && strings.EqualFold(mb.domain, want.domain), nil
	}
	return matchDomain(mb.domain, constraint, false)
}

// matchUPNConstraint applies an otherName UPN constraint the way Windows
// reads the CAPolicy.inf forms: "user@corp.example" is that one UPN
// (compared case-insensitively, as Active Directory compares UPNs);
// "@corp.example" and "corp.example" are every UPN whose domain part
// (after the last "@", RFC 4120 section 6.1 principal@REALM) is exactly
// that domain; ".corp.example" is every UPN in a subdomain of it. A UPN
// without a domain part cannot be checked and fails.
func matchUPNConstraint(upn, constraint string) (bool, error) {
	at := strings.LastIndexByte(upn, '@')
	if at <= 0 || at == len(upn)-1 {
		return false, fmt.Errorf("not of the form user@domain")
	}
	domain := upn[at+1:]
	switch i := strings.LastIndexByte(constraint, '@'); {
	case i > 0:
		return strings.EqualFold(upn, constraint), nil
	case i == 0:
		constraint = constraint[1:]
		if constraint == "" || constraint[0] == '.' {
			return false, fmt.Errorf("not a valid UPN constraint")
		}
	}
	return matchDomain(domain, constraint, false)
}

// matchURIConstraint applies a host constraint to the host of a URI, with
// the same reading as rfc822Name (RFC 5280 4.2.1.10). A URI without a
// host name (a URN, or an IP address as host) cannot be checked and fails.
func matchURIConstraint(raw, constraint string) (bool, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return false, err
	}
	host := u.Hostname()
	if host == "" || net.ParseIP(host) != nil {
		return false, fmt.Errorf("the URI has no host name")
	}
	return matchDomain(host, constraint, false)
}

// matchDomain compares label by label from the right, case-insensitively:
// name is within constraint when it ends in constraint at a label
// boundary. subdomainsWithoutDot: a constraint without a leading period
// also matches subdomains (dNSName) rather than only the host itself
// (rfc822Name host and URI). It allocates nothing: a hostile certificate
// may make the verifier call it up to maxConstraintComparisons times.
func matchDomain(name, constraint string, subdomainsWithoutDot bool) (bool, error) {
	if constraint == "" {
		return true, nil
	}
	if !validDomain(name) {
		return false, fmt.Errorf("not a valid domain name")
	}
	mustAdd := false
	if constraint[0] == '.' {
		mustAdd = true
		constraint = constraint[1:]
	}
	if !validDomain(constraint) {
		return false, fmt.Errorf("not a valid domain constraint")
	}
	switch {
	case len(name) < len(constraint):
		return false, nil
	case len(name) == len(constraint):
		return !mustAdd && strings.EqualFold(name, constraint), nil
	case !mustAdd && !subdomainsWithoutDot:
		return false, nil
	}
	cut := len(name) - len(constraint)
	return name[cut-1] == '.' && strings.EqualFold(name[cut:], constraint), nil
}

// validDomain reports whether domain is labels of printable ASCII
// separated by single periods: no empty label, so no leading or trailing
// period.
func validDomain(domain string) bool {
	if domain == "" || domain[0] == '.' || domain[len(domain)-1] == '.' {
		return false
	}
	for i := 0; i < len(domain); i++ {
		c := domain[i]
		if c < 0x21 || c > 0x7e || (c == '.' && domain[i-1] == '.') {
			return false
		}
	}
	return true
}

func ipInRange(ip net.IP, r *net.IPNet) bool {
	if len(ip) != len(r.IP) || len(r.Mask) != len(ip) {
		return false
	}
	for i := range ip {
		if ip[i]&r.Mask[i] != r.IP[i]&r.Mask[i] {
			return false
		}
	}
	return true
}

// selfIssued reports whether c's subject and issuer match (RFC 5280 3.3
// "self-issued", names compared as 7.1 says). A self-issued intermediate
// is a CA's own key rollover certificate: it does not count toward path
// length and is exempt from name constraints.
func selfIssued(c *x509.Certificate) bool { return dname.Equal(c.RawSubject, c.RawIssuer) }
