package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"net/url"

	"github.com/certgate/certgate/internal/directory"
	"github.com/certgate/certgate/internal/mapping"
	"github.com/certgate/certgate/internal/mapping/pattern"
)

// This file is the mapping block's hook into ApplyDefaults and Validate
// (owned with mapping.go by the mapping owner, issue 4). The glob,
// template, attribute, fingerprint and name checks call internal/mapping
// and internal/mapping/pattern, the code the gateway maps with, so a rule
// that validates is a rule that runs. (config imports the engine's
// vocabulary; the engine never imports config.)

// applyDefaults resolves the one_to_one cert: files and the upn.issuers
// files (not fingerprints) against the config file's directory. Nothing
// else in the block has a non-zero default.
func (m *Mapping) applyDefaults(resolve func(string) string) {
	for i := range m.OneToOne {
		m.OneToOne[i].Cert = resolve(m.OneToOne[i].Cert)
	}
	for i, e := range m.UPN.Issuers {
		if !mapping.IsFingerprint(e) {
			m.UPN.Issuers[i] = resolve(e)
		}
	}
	if d := m.Directory; d != nil {
		d.CA = resolve(d.CA)
		d.PasswordFile = resolve(d.PasswordFile)
		def := func(v *time.Duration, x time.Duration) {
			if *v == 0 {
				*v = x
			}
		}
		def(&d.Timeout, 3*time.Second)
		def(&d.DialTimeout, 2*time.Second)
		def(&d.Cache.TTL, 5*time.Minute)
		def(&d.Cache.NegativeTTL, time.Minute)
		if d.Pool == 0 {
			d.Pool = 4
		}
		if d.Cache.Size == 0 {
			d.Cache.Size = 10000
		}
		if d.GroupDepth == 0 {
			d.GroupDepth = 8
		}
		if len(d.Methods) == 0 {
			for _, dm := range directory.DefaultMethods {
				// The SID is a name the CA wrote: it counts only from the
				// CAs of upn.issuers, so without them it is left out.
				if dm == directory.MethodSID && len(m.UPN.Issuers) == 0 {
					continue
				}
				d.Methods = append(d.Methods, string(dm))
			}
		}
	}
}

// validateDirectory checks mapping.directory; the engine (directory.New)
// repeats the checks that make it work, these add the paths.
func (d *Directory) validate(p string, upn UPNMapping, add func(path string, err error)) {
	addf := func(q, format string, args ...any) { add(q, fmt.Errorf(format, args...)) }
	switch u, err := url.Parse(d.URL); {
	case d.URL == "":
		addf(p+".url", "required: ldaps://host[:port], or ldap://host[:port] (StartTLS is always used)")
	case err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "":
		addf(p+".url", "%q: want ldaps://host[:port] or ldap://host[:port] (StartTLS)", d.URL)
	}
	if d.BaseDN == "" {
		addf(p+".base_dn", "required: where accounts are searched (dc=corp,dc=example)")
	}
	if (d.BindDN == "") != (d.PasswordFile == "") {
		addf(p+".password_file", "bind_dn and password_file go together (both empty binds anonymously)")
	}
	for _, x := range []struct {
		name string
		v    time.Duration
	}{{"timeout", d.Timeout}, {"dial_timeout", d.DialTimeout}, {"cache.ttl", d.Cache.TTL}, {"cache.negative_ttl", d.Cache.NegativeTTL}} {
		if x.v < 0 {
			addf(p+"."+x.name, "must be > 0")
		}
	}
	if d.Cache.StaleIfError < 0 {
		addf(p+".cache.stale_if_error", "must be >= 0")
	}
	if d.Pool < 0 || d.Cache.Size < 0 || d.GroupDepth < 0 {
		addf(p, "pool, cache.size and group_depth must be > 0")
	}
	seen := map[string]bool{}
	for i, m := range d.Methods {
		q := p + ".methods[" + strconv.Itoa(i) + "]"
		dm := directory.Method(m)
		switch {
		case !dm.Known():
			addf(q, "unknown method %q (want one of sid, issuer_serial, ski, sha1_pukey, upn, issuer_subject, subject, rfc822)", m)
		case seen[m]:
			addf(q, "%q is listed twice", m)
		case !dm.Strong() && !d.AllowWeak:
			addf(q, "%q is a weak mapping, which Windows refuses since KB5014754 (names any trusted CA can write); remove it or set allow_weak: true", m)
		case (dm == directory.MethodUPN || dm == directory.MethodSID) && len(upn.Issuers) == 0:
			addf(q, "%q reads a name the issuing CA wrote, so it needs upn.issuers (the CAs trusted to write account names, AD's NTAuth store)", m)
		}
		seen[m] = true
	}
}

// Validate checks a mapping block on its own, for a Mapping built in Go.
// Errors are *FieldError values with paths
// starting at "mapping.", joined. Config.Validate runs the same checks with
// the site's path.
func (m *Mapping) Validate() error {
	var errs []error
	m.validate("mapping", func(path string, err error) {
		errs = append(errs, &FieldError{Path: path, Err: err})
	})
	return errors.Join(errs...)
}

// validate reports each problem of the mapping block at path through add,
// with the path of the offending field, so that it reaches the user as
// "certgate.yaml:31: sites[0].mapping.many_to_one[3].match.subject.OU: ...".
// It does not stop at the first problem.
func (m *Mapping) validate(path string, add func(path string, err error)) {
	addf := func(p, format string, args ...any) { add(p, fmt.Errorf(format, args...)) }

	if m.Required && len(m.OneToOne) == 0 && len(m.ManyToOne) == 0 && !m.UPN.Enabled && m.Directory == nil {
		addf(path+".required", "mapping is required but there are no rules, so every certificate would be refused with 403.12; add one_to_one, many_to_one or upn rules, or set required: false")
	}

	fps := map[[32]byte]int{}
	for i, e := range m.OneToOne {
		p := path + ".one_to_one[" + strconv.Itoa(i) + "]"
		switch {
		case e.Fingerprint != "" && e.Cert != "":
			addf(p, "give either fingerprint: or cert:, not both")
		case e.Fingerprint == "" && e.Cert == "":
			addf(p, "needs fingerprint: (SHA-256 of the certificate) or cert: (its PEM file)")
		case e.Fingerprint != "":
			fp, err := mapping.ParseFingerprint(e.Fingerprint)
			if err != nil {
				add(p+".fingerprint", err)
				break
			}
			if j, dup := fps[fp]; dup {
				addf(p+".fingerprint", "certificate already mapped by %s.one_to_one[%d]; a certificate maps to one user", path, j)
				break
			}
			fps[fp] = i
		}
		switch {
		case e.User == "":
			addf(p, "needs user:")
		case strings.ContainsAny(e.User, "{}"):
			addf(p+".user", "templates such as {CN} apply to many_to_one rules; a one_to_one entry names its user (got %q)", e.User)
		default:
			checkUser(p+".user", e.User, add)
		}
		checkGroups(p+".groups", e.Groups, add)
	}

	names := map[string]int{}
	catchAll := -1
	for i, r := range m.ManyToOne {
		p := path + ".many_to_one[" + strconv.Itoa(i) + "]"
		if catchAll >= 0 {
			addf(p, "unreachable: many_to_one[%d] has no match criteria and matches every certificate first; move this rule above it", catchAll)
		}
		if r.Name != "" {
			if err := mapping.CheckUserName(r.Name); err != nil {
				addf(p+".name", "%v (got %q)", err, r.Name)
			} else if j, dup := names[strings.ToLower(r.Name)]; dup {
				addf(p+".name", "%q is already the name of many_to_one[%d]; rule names identify rules in logs and must be unique", r.Name, j)
			} else {
				names[strings.ToLower(r.Name)] = i
			}
		}
		empty := r.Match.validate(p+".match", add) && r.IssuerFingerprint == ""
		if r.IssuerFingerprint != "" {
			if _, err := mapping.ParseFingerprint(r.IssuerFingerprint); err != nil {
				add(p+".issuer_fingerprint", err)
			}
		}
		switch {
		case r.Deny && r.User != "":
			addf(p+".deny", "a rule either maps to a user (user:) or denies (deny: true), not both")
		case r.Deny && len(r.Groups) > 0:
			addf(p+".groups", "a deny rule maps to no user, so groups: has no effect; remove it")
		case !r.Deny && r.User == "":
			addf(p, "needs user: (the user to map to) or deny: true")
		case !r.Deny:
			t, err := pattern.ParseTemplate(r.User, mapping.CanonicalDNAttribute)
			switch {
			case err != nil:
				add(p+".user", fmt.Errorf("%w (placeholders are subject attributes: %s)", err, strings.Join(mapping.DNAttributes, ", ")))
			case t.Static():
				checkUser(p+".user", r.User, add)
			}
		}
		checkGroups(p+".groups", r.Groups, add)
		if empty && catchAll < 0 {
			catchAll = i
		}
	}

	up := path + ".upn"
	if !m.UPN.Enabled {
		if m.UPN.FallbackEmail {
			addf(up+".fallback_email", "has no effect without upn.enabled: true")
		}
		if len(m.UPN.Groups) > 0 {
			addf(up+".groups", "has no effect without upn.enabled: true")
		}
		if len(m.UPN.Issuers) > 0 && m.Directory == nil {
			addf(up+".issuers", "has no effect without upn.enabled: true or a directory")
		}
	} else {
		if len(m.UPN.Issuers) == 0 {
			add(up+".issuers", fmt.Errorf("%w (list the issuing CA certificates, e.g. issuers: [ca/issuing.pem])", mapping.ErrNoUPNIssuers))
		}
		if catchAll >= 0 {
			addf(up+".enabled", "unreachable: many_to_one[%d] has no match criteria and matches every certificate before UPN mapping runs", catchAll)
		}
	}
	checkGroups(up+".groups", m.UPN.Groups, add)
	if m.Directory != nil {
		m.Directory.validate(path+".directory", m.UPN, add)
	}
	for i, e := range m.UPN.Issuers {
		p := up + ".issuers[" + strconv.Itoa(i) + "]"
		switch {
		case e == "":
			addf(p, "empty; give a CA certificate file or a SHA-256 fingerprint")
		case mapping.IsFingerprint(e):
			if _, err := mapping.ParseFingerprint(e); err != nil {
				add(p, err)
			}
		}
	}
}

// validate checks the criteria and reports whether there are none.
func (mt *Match) validate(p string, add func(path string, err error)) (empty bool) {
	n := 0
	for _, side := range []struct {
		name string
		dn   DNMatch
	}{{"subject", mt.Subject}, {"issuer", mt.Issuer}} {
		seen := map[string]string{}
		// Sorted keys: problems are reported in a stable order.
		for _, k := range sortedKeys(side.dn) {
			v := side.dn[k]
			kp := p + "." + side.name + "." + k
			attr, ok := mapping.CanonicalDNAttribute(k)
			if !ok {
				add(kp, fmt.Errorf("unknown attribute %q (want one of %s)", k, strings.Join(mapping.DNAttributes, ", ")))
				continue
			}
			if other, dup := seen[attr]; dup {
				add(kp, fmt.Errorf("attribute %s is already given as %q; give each attribute once", attr, other))
				continue
			}
			seen[attr] = k
			n++
			if _, err := pattern.Compile(v, true); err != nil {
				add(kp, err)
			}
		}
	}
	for _, s := range []struct {
		name, pat string
		fold      bool
	}{
		{"email", mt.SAN.Email, true},
		{"dns", mt.SAN.DNS, true},
		{"uri", mt.SAN.URI, false},
		{"upn", mt.SAN.UPN, true},
	} {
		if s.pat == "" {
			continue
		}
		n++
		if _, err := pattern.Compile(s.pat, s.fold); err != nil {
			add(p+".san."+s.name, err)
		}
	}
	return n == 0
}

func checkUser(p, user string, add func(path string, err error)) {
	if err := mapping.CheckUserName(user); err != nil {
		add(p, fmt.Errorf("%w (got %q)", err, user))
	}
}

func checkGroups(p string, groups []string, add func(path string, err error)) {
	for i, g := range groups {
		if err := mapping.CheckGroupName(g); err != nil {
			add(p+"["+strconv.Itoa(i)+"]", fmt.Errorf("%w (got %q)", err, g))
		}
	}
}

func sortedKeys(m DNMatch) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Order by the canonical attribute order, unknown names last, so that
	// errors follow the order admins read DNs in.
	rank := func(k string) int {
		a, _ := mapping.CanonicalDNAttribute(k)
		for i, x := range mapping.DNAttributes {
			if x == a {
				return i
			}
		}
		return len(mapping.DNAttributes)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return keys
}
