package mapping

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/certgate/certgate/internal/certfile"
	"github.com/certgate/certgate/internal/mapping/pattern"
)

// Rule labels that are not a configured rule.
const (
	// RuleNone is Result.Rule when nothing mapped the certificate.
	RuleNone = "no rule matched"
	// RuleUPN is Result.Rule when UPN (or email fallback) mapping decided.
	RuleUPN = "upn"
	// RuleDirectory is Result.Rule when the directory decided.
	RuleDirectory = "directory"
)

// Mapper is compiled Options. It is immutable and safe for
// concurrent use; a reload builds a new one.
type Mapper struct {
	required bool
	byFP     map[[32]byte]int // fingerprint -> index in ones
	ones     []oneRule
	many     []manyRule
	upn      UPN
	// upnIssuers is UPN.Issuers compiled: the CAs whose direct leaves may
	// map by UPN.
	upnIssuers issuerSet
	dir        Directory
}

type oneRule struct {
	label  string
	fp     [32]byte
	source string // "fingerprint" or the PEM file, for Rules()
	user   string
	groups []string
	reason string
}

type manyRule struct {
	label  string
	name   string
	conds  []cond
	pin    *[32]byte
	user   *pattern.Template
	groups []string
	deny   bool
	// summary is the Reason of a match outside a trace (summarize).
	summary string
}

// cond is one criterion of a many_to_one rule.
type cond struct {
	field string // "subject.CN", "issuer.O", "san.email"
	glob  *pattern.Glob
	where int                   // inSubject, inIssuer or inSAN
	attr  string                // DN attribute, canonical ("CN")
	oid   asn1.ObjectIdentifier // of attr
	san   string                // SAN kind: email, dns, uri, upn
}

// Compile builds a Mapper from o. Relative one_to_one Cert paths are
// resolved against baseDir (pass "" when they are already resolved, as the
// site build does for a loaded config).
//
// Compile refuses options it cannot turn into a well-defined Mapper: a
// pattern, template or fingerprint that does not parse, an unknown or
// repeated DN attribute, a user or group name that could not be forwarded,
// a rule that is neither a mapping nor a deny, an unreadable cert file, a
// certificate mapped twice. Errors are *FieldError values (or an
// errors.Join of them) with paths relative to o ("one_to_one[0].cert").
// Configuration advice that does not change what the Mapper does
// (unreachable rules, settings with no effect, duplicate rule names) is
// config validation's job: certgate.yaml goes through both.
func Compile(o *Options, baseDir string) (*Mapper, error) {
	if o == nil {
		// No mapping block: nothing maps and nothing is required.
		return &Mapper{byFP: map[[32]byte]int{}}, nil
	}
	m := &Mapper{required: o.Required, byFP: map[[32]byte]int{}, upn: o.UPN, dir: o.Directory}
	m.upn.Groups = clone(o.UPN.Groups)

	var errs []error
	fail := func(path string, err error) { errs = append(errs, &FieldError{Path: path, Err: err}) }
	for i, e := range o.OneToOne {
		label := "one_to_one[" + strconv.Itoa(i) + "]"
		r := oneRule{label: label, user: e.User, groups: clone(e.Groups)}
		ok := checkUser(label, e.User, fail)
		ok = checkGroups(label, e.Groups, fail) && ok
		switch {
		case (e.Cert == "") == (e.Fingerprint == ""):
			fail(label, errors.New("needs exactly one of fingerprint (SHA-256 of the certificate) and cert (its file)"))
			continue
		case e.Cert != "":
			fp, err := certFingerprint(resolve(baseDir, e.Cert))
			if err != nil {
				fail(label+".cert", err)
				continue
			}
			r.fp, r.source = fp, e.Cert
		default:
			fp, err := ParseFingerprint(e.Fingerprint)
			if err != nil {
				fail(label+".fingerprint", err)
				continue
			}
			r.fp, r.source = fp, "fingerprint"
		}
		if !ok {
			continue
		}
		if j, dup := m.byFP[r.fp]; dup {
			fail(label, fmt.Errorf("%w: certificate %s is already mapped by %s; a certificate maps to one user",
				ErrDuplicateCertificate, hex.EncodeToString(r.fp[:]), m.ones[j].label))
			continue
		}
		r.reason = "certificate SHA-256 " + hex.EncodeToString(r.fp[:]) + " is mapped one-to-one"
		m.byFP[r.fp] = len(m.ones)
		m.ones = append(m.ones, r)
	}

	for i, e := range o.ManyToOne {
		if r, ok := compileMany(i, e, fail); ok {
			m.many = append(m.many, r)
		}
	}
	checkGroups("upn", o.UPN.Groups, fail)
	m.upn.Issuers = clone(o.UPN.Issuers)
	m.upnIssuers = compileIssuers(o.UPN, baseDir, fail)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

// checkUser reports through fail a user name that cannot be forwarded in
// a header, and whether it is fine.
func checkUser(path, user string, fail func(string, error)) bool {
	if err := CheckUserName(user); err != nil {
		fail(path+".user", fmt.Errorf("%w (got %q)", err, user))
		return false
	}
	return true
}

// checkGroups is checkUser for group names.
func checkGroups(path string, groups []string, fail func(string, error)) bool {
	ok := true
	for j, g := range groups {
		if err := CheckGroupName(g); err != nil {
			fail(path+".groups["+strconv.Itoa(j)+"]", fmt.Errorf("%w (got %q)", err, g))
			ok = false
		}
	}
	return ok
}

// compileMany compiles many_to_one[i], reporting its problems through fail.
func compileMany(i int, e ManyToOne, fail func(string, error)) (manyRule, bool) {
	path := "many_to_one[" + strconv.Itoa(i) + "]"
	r := manyRule{label: path, name: e.Name, groups: clone(e.Groups), deny: e.Deny}
	if e.Name != "" {
		r.label += " (" + e.Name + ")"
	}
	ok := true
	bad := func(field string, err error) {
		fail(path+field, err)
		ok = false
	}
	for _, dn := range []struct {
		side  string
		match map[string]string
		where int
	}{
		{"subject", e.Match.Subject, inSubject},
		{"issuer", e.Match.Issuer, inIssuer},
	} {
		// Iterate in DNAttributes order so that Rules() and the first
		// failing criterion in a trace are deterministic.
		canon := map[string]string{}
		// Sorted keys: which spelling of a repeated attribute is reported
		// does not depend on map order.
		for _, k := range slices.Sorted(maps.Keys(dn.match)) {
			v := dn.match[k]
			a, known := CanonicalDNAttribute(k)
			switch _, dup := canon[a]; {
			case !known:
				bad(".match."+dn.side+"."+k, fmt.Errorf("unknown attribute %q (want one of %s)", k, strings.Join(DNAttributes, ", ")))
			case dup:
				bad(".match."+dn.side+"."+k, fmt.Errorf("attribute %s is given twice", a))
			default:
				canon[a] = v
			}
		}
		for _, attr := range DNAttributes {
			p, found := canon[attr]
			if !found {
				continue
			}
			g, err := pattern.Compile(p, true)
			if err != nil {
				bad(".match."+dn.side+"."+attr, err)
				continue
			}
			r.conds = append(r.conds, cond{field: dn.side + "." + attr, glob: g, where: dn.where, attr: attr, oid: attributeOIDs[attr]})
		}
	}
	for _, s := range []struct {
		kind, pattern string
		fold          bool
	}{
		{"email", e.Match.SAN.Email, true},
		{"dns", e.Match.SAN.DNS, true},
		{"uri", e.Match.SAN.URI, false},
		{"upn", e.Match.SAN.UPN, true},
	} {
		if s.pattern == "" {
			continue
		}
		g, err := pattern.Compile(s.pattern, s.fold)
		if err != nil {
			bad(".match.san."+s.kind, err)
			continue
		}
		r.conds = append(r.conds, cond{field: "san." + s.kind, glob: g, where: inSAN, san: s.kind})
	}
	if e.IssuerFingerprint != "" {
		fp, err := ParseFingerprint(e.IssuerFingerprint)
		if err != nil {
			bad(".issuer_fingerprint", err)
		}
		r.pin = &fp
	}
	switch {
	case e.Deny && e.User != "":
		bad("", errors.New("a rule either maps to a user or denies, not both"))
	case !e.Deny && e.User == "":
		bad("", errors.New("needs a user (the user to map to) or deny"))
	case !e.Deny:
		t, err := pattern.ParseTemplate(e.User, CanonicalDNAttribute)
		if err != nil {
			bad(".user", err)
			break
		}
		r.user = t
		if t.Static() && !checkUser(path, e.User, fail) {
			ok = false
		}
	}
	if !checkGroups(path, e.Groups, fail) {
		ok = false
	}
	if !ok {
		return manyRule{}, false
	}
	r.summary = r.summarize()
	return r, true
}

// certFingerprint reads a PEM or DER file (certfile's rules: DER as
// exported from the Windows certificate store works too) that must hold
// exactly one certificate.
func certFingerprint(file string) ([32]byte, error) {
	certs, err := certfile.LoadCertificates(file)
	if err != nil {
		// certfile's errors already name the file.
		return [32]byte{}, fmt.Errorf("%w: %w", ErrCertFile, err)
	}
	if len(certs) != 1 {
		return [32]byte{}, fmt.Errorf("%w %q: holds %d certificates; a one_to_one cert: file must hold only the client certificate, not its chain", ErrCertFile, file, len(certs))
	}
	return sha256.Sum256(certs[0].Raw), nil
}

func resolve(baseDir, p string) string {
	if baseDir == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(baseDir, p)
}

// clone copies s with len == cap: Results share the compiled slices, and
// a caller appending to one gets a copy instead of writing into the Mapper.
func clone(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Clip(slices.Clone(s))
}

// Required reports whether an unmapped certificate is refused (403.12).
func (m *Mapper) Required() bool { return m.required }

// Map maps a verified chain (leaf first, as verify.Outcome.Chain) to a user.
// It never fails: a certificate nothing maps gives Matched false and
// Rule RuleNone, and Decide turns that into a 403.12 when mapping is
// required.
func (m *Mapper) Map(chain []*x509.Certificate) Result {
	r, _ := m.eval(chain, false)
	return r
}

// Explain is Map with the evaluation trace: one Step per rule (kind)
// considered, in order, saying why it did or did not match. `certgate map
// test` prints it; the gateway uses Map.
func (m *Mapper) Explain(chain []*x509.Certificate) (Result, []Step) {
	return m.eval(chain, true)
}

// Step is one line of an evaluation trace.
type Step struct {
	Rule    string `json:"rule"`
	Matched bool   `json:"matched"`
	Detail  string `json:"detail"`
}

func (m *Mapper) eval(chain []*x509.Certificate, trace bool) (Result, []Step) {
	var steps []Step
	// step records a trace line. Callers test trace first: formatting
	// (even boxing the arguments) would cost allocations on the gateway's
	// request path, where there is no trace.
	step := func(rule string, matched bool, format string, args ...any) {
		steps = append(steps, Step{Rule: rule, Matched: matched, Detail: fmt.Sprintf(format, args...)})
	}
	if len(chain) == 0 || chain[0] == nil {
		return Result{Rule: RuleNone, Reason: "no client certificate to map"}, steps
	}
	leaf := chain[0]
	fp := sha256.Sum256(leaf.Raw)
	// The hex form is built only where a reason needs it (fpHex): the
	// gateway maps on every request.

	// 1. one_to_one: exact certificate.
	if i, ok := m.byFP[fp]; ok {
		o := m.ones[i]
		if trace {
			step(o.label, true, "fingerprint %s", fpHex(&fp))
		}
		return Result{Matched: true, User: o.user, Groups: o.groups, Rule: o.label, Reason: o.reason}, steps
	}
	if trace && len(m.ones) > 0 {
		step("one_to_one", false, "no entry for fingerprint %s (%d entries)", fpHex(&fp), len(m.ones))
	}

	// 2. many_to_one: first match wins.
	var issuerFPs [][32]byte
	for i := range m.many {
		r := &m.many[i]
		if r.pin != nil && issuerFPs == nil {
			issuerFPs = make([][32]byte, 0, len(chain)-1)
			for _, c := range chain[1:] {
				if c != nil {
					issuerFPs = append(issuerFPs, sha256.Sum256(c.Raw))
				}
			}
		}
		matched, why := r.match(leaf, issuerFPs, trace)
		if !matched {
			if trace {
				step(r.label, false, "%s", why)
			}
			continue
		}
		if r.deny {
			if trace {
				step(r.label, true, "deny: %s", why)
			} else {
				// A refusal is rare and its reason reaches the operator
				// and the detailed 403.12: name the certificate's values.
				_, why = r.match(leaf, issuerFPs, true)
			}
			return Result{Matched: true, Denied: true, Rule: r.label, Reason: "deny rule matched: " + why}, steps
		}
		user, err := r.user.Expand(func(f string) (string, bool) { return firstAttribute(&leaf.Subject, f) })
		if err == nil {
			err = CheckUserName(user)
			if err != nil {
				err = fmt.Errorf("user %q from template %q: %w", user, r.user, err)
			}
		}
		if err != nil {
			// The criteria matched but no usable user name results: the
			// rule does not apply, the next one may.
			if trace {
				step(r.label, false, "%s, but %v", why, err)
			}
			continue
		}
		if trace {
			step(r.label, true, "%s", why)
		}
		return Result{Matched: true, User: user, Groups: r.groups, Rule: r.label, Reason: why}, steps
	}

	// 3. The directory (Active Directory certificate mapping).
	dirWhy := ""
	if m.dir != nil {
		r, st, decided := m.directoryResult(chain, trace)
		if trace {
			steps = append(steps, st...)
		}
		if decided {
			return r, steps
		}
		dirWhy = r.Reason
	}

	// 4. UPN (Active Directory style), optionally the email SAN.
	upnWhy := "upn mapping is off"
	if m.upn.Enabled {
		user, why, ok := m.upnUser(chain)
		if trace {
			step(RuleUPN, ok, "%s", why)
		}
		if ok {
			return Result{Matched: true, User: user, Groups: m.upn.Groups, Rule: RuleUPN, Reason: why}, steps
		}
		upnWhy = why
	}

	if len(m.ones) == 0 && len(m.many) == 0 && !m.upn.Enabled && m.dir == nil {
		return Result{Rule: RuleNone, Reason: "no mapping rules are configured"}, steps
	}
	var parts []string
	if len(m.ones) > 0 {
		parts = append(parts, "no one_to_one entry has fingerprint "+fpHex(&fp))
	}
	if len(m.many) > 0 {
		parts = append(parts, fmt.Sprintf("none of %d many_to_one rules matched", len(m.many)))
	}
	if dirWhy != "" {
		parts = append(parts, dirWhy)
	}
	parts = append(parts, upnWhy)
	return Result{Rule: RuleNone, Reason: strings.Join(parts, "; ")}, steps
}

func fpHex(fp *[32]byte) string { return hex.EncodeToString(fp[:]) }

// upnUser applies UPN mapping to the leaf of chain, once its issuing CA
// (chain[1]) is one of upn.issuers.
func (m *Mapper) upnUser(chain []*x509.Certificate) (user, why string, ok bool) {
	leaf := chain[0]
	if len(chain) < 2 || chain[1] == nil {
		return "", "the verified chain has no issuing CA above the certificate, so it cannot be checked against upn.issuers", false
	}
	if !m.upnIssuers.has(chain[1]) {
		return "", fmt.Sprintf("issuing CA %q (SHA-256 %s) is not in upn.issuers, so the certificate's UPN is not trusted to name an account",
			chain[1].Subject.String(), hex.EncodeToString(sha256Of(chain[1].Raw))), false
	}
	upns, err := UPNs(leaf)
	if err != nil {
		// Do not fall back to the email: the certificate does carry a UPN,
		// certgate just cannot read it, and the email may name someone else.
		return "", fmt.Sprintf("certificate UPN unreadable: %v", err), false
	}
	if len(upns) > 0 {
		if err := CheckUserName(upns[0]); err != nil {
			return "", fmt.Sprintf("UPN %q unusable as a user name: %v", upns[0], err), false
		}
		return upns[0], fmt.Sprintf("UPN %q from the subjectAltName", upns[0]), true
	}
	if !m.upn.FallbackEmail {
		return "", "certificate has no UPN", false
	}
	if len(leaf.EmailAddresses) == 0 {
		return "", "certificate has no UPN and no email subjectAltName", false
	}
	email := leaf.EmailAddresses[0]
	if err := CheckUserName(email); err != nil {
		return "", fmt.Sprintf("email %q unusable as a user name: %v", email, err), false
	}
	return email, fmt.Sprintf("email %q from the subjectAltName (no UPN; fallback_email)", email), true
}

// match reports whether every criterion of r holds for leaf, and says which
// criteria matched, or (with explain) the first one that did not. Most rules
// do not match most certificates, so the miss text is only built for a trace.
func (r *manyRule) match(leaf *x509.Certificate, issuerFPs [][32]byte, explain bool) (bool, string) {
	var hits []string
	for i := range r.conds {
		c := &r.conds[i]
		hit, found, n := c.firstMatch(leaf)
		if !found {
			if !explain {
				return false, ""
			}
			if n == 0 {
				return false, fmt.Sprintf("%s: certificate has none (pattern %q)", c.field, c.glob)
			}
			return false, fmt.Sprintf("%s: %s does not match %q", c.field, quoteList(c.allValues(leaf)), c.glob)
		}
		if explain {
			hits = append(hits, fmt.Sprintf("%s %q matches %q", c.field, hit, c.glob))
		}
	}
	if r.pin != nil {
		found := false
		for _, fp := range issuerFPs {
			if fp == *r.pin {
				found = true
				break
			}
		}
		if !found {
			if !explain {
				return false, ""
			}
			return false, fmt.Sprintf("issuer_fingerprint: no CA in the chain has SHA-256 %s", hex.EncodeToString(r.pin[:]))
		}
		if explain {
			hits = append(hits, "issuer pinned to SHA-256 "+hex.EncodeToString(r.pin[:]))
		}
	}
	switch {
	case !explain:
		// The gateway's path: the summary was built at compile time, so a
		// match costs no formatting per request.
		return true, r.summary
	case len(hits) == 0:
		return true, noCriteria
	}
	return true, strings.Join(hits, ", ")
}

// noCriteria is the reason of a rule without criteria.
const noCriteria = "rule has no criteria (matches every certificate)"

// summarize is the reason a rule gives when it matches outside a trace:
// its criteria, without the certificate's values.
func (r *manyRule) summarize() string {
	var parts []string
	for _, c := range r.conds {
		parts = append(parts, fmt.Sprintf("%s matches %q", c.field, c.glob))
	}
	if r.pin != nil {
		parts = append(parts, "issuer pinned to SHA-256 "+hex.EncodeToString(r.pin[:]))
	}
	if len(parts) == 0 {
		return noCriteria
	}
	return strings.Join(parts, ", ")
}

// quoteList renders at most 5 values, for a trace line.
func quoteList(vals []string) string {
	const maxShown = 5
	q := make([]string, 0, min(len(vals), maxShown))
	for i, v := range vals {
		if i == maxShown {
			q = append(q, fmt.Sprintf("and %d more", len(vals)-maxShown))
			break
		}
		q = append(q, strconv.Quote(v))
	}
	return strings.Join(q, ", ")
}
