package mapping

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// RuleDescription describes one effective rule, in evaluation order, for
// `certgate map list`.
type RuleDescription struct {
	// Rule is the label used in results and logs ("many_to_one[2] (name)").
	Rule string `json:"rule"`
	// Kind is one_to_one, many_to_one or upn.
	Kind string `json:"kind"`
	Name string `json:"name,omitempty"`
	// Criteria are the conditions, all of which must hold:
	// `subject.CN matches "web*" (case-insensitive)`.
	Criteria []string `json:"criteria"`
	// User is the user name or template; empty for deny rules.
	User   string   `json:"user,omitempty"`
	Groups []string `json:"groups,omitempty"`
	Deny   bool     `json:"deny,omitempty"`
}

// Action renders "deny" or "user alice, groups staff, admins".
func (d RuleDescription) Action() string {
	if d.Deny {
		return "deny (403.12)"
	}
	s := "user " + d.User
	if len(d.Groups) > 0 {
		s += ", groups " + strings.Join(d.Groups, ", ")
	}
	return s
}

// Rules lists the effective rules in evaluation order. UPN mapping appears
// last when enabled.
func (m *Mapper) Rules() []RuleDescription {
	var out []RuleDescription
	for _, o := range m.ones {
		c := "certificate SHA-256 " + hex.EncodeToString(o.fp[:])
		if o.source != "fingerprint" {
			c += fmt.Sprintf(" (from %s)", o.source)
		}
		out = append(out, RuleDescription{Rule: o.label, Kind: "one_to_one", Criteria: []string{c}, User: o.user, Groups: clone(o.groups)})
	}
	for _, r := range m.many {
		d := RuleDescription{Rule: r.label, Kind: "many_to_one", Name: r.name, Groups: clone(r.groups), Deny: r.deny}
		for _, c := range r.conds {
			verb := "matches"
			if c.glob.Literal() {
				verb = "equals"
			}
			how := "case-sensitive"
			if c.glob.Fold() {
				how = "case-insensitive"
			}
			d.Criteria = append(d.Criteria, fmt.Sprintf("%s %s %q (%s)", c.field, verb, c.glob, how))
		}
		if r.pin != nil {
			d.Criteria = append(d.Criteria, "a CA in the chain has SHA-256 "+hex.EncodeToString(r.pin[:]))
		}
		if len(d.Criteria) == 0 {
			d.Criteria = []string{"any certificate"}
		}
		if r.user != nil {
			d.User = r.user.String()
		}
		out = append(out, d)
	}
	if m.dir != nil {
		var ms []string
		for _, x := range m.dir.Methods() {
			ms = append(ms, fmt.Sprintf("%s (%s)", x, strength(x.Strong())))
		}
		out = append(out, RuleDescription{Rule: RuleDirectory, Kind: "directory",
			Criteria: []string{"one account in " + m.dir.URL() + " found by, in order: " + strings.Join(ms, ", ")},
			User:     "the account's userPrincipalName (else sAMAccountName), groups from the directory"})
	}
	if m.upn.Enabled {
		c := "certificate has a UPN (SAN otherName 1.3.6.1.4.1.311.20.2.3)"
		user := "the UPN"
		if m.upn.FallbackEmail {
			c += ", or else an email SAN"
			user = "the UPN, or else the first email SAN"
		}
		crit := []string{c, "issued directly by a CA of upn.issuers: " + strings.Join(m.upn.Issuers, ", ")}
		out = append(out, RuleDescription{Rule: RuleUPN, Kind: "upn", Criteria: crit, User: user, Groups: clone(m.upn.Groups)})
	}
	return out
}
