package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText renders t for people.
func (t *Test) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	c := t.Certificate
	row("site", t.Site)
	row("certificate", fmt.Sprintf("%s (sha256 %s)", orEmpty(c.Subject), c.SHA256))
	row("issuer", orEmpty(c.Issuer))
	var names []string
	for _, u := range c.UPNs {
		names = append(names, "UPN "+u)
	}
	if c.UPNError != "" {
		names = append(names, "UPN unreadable: "+c.UPNError)
	}
	for _, e := range c.Emails {
		names = append(names, "email "+e)
	}
	for _, d := range c.DNS {
		names = append(names, "DNS "+d)
	}
	for _, u := range c.URIs {
		names = append(names, "URI "+u)
	}
	if len(names) > 0 {
		row("names", strings.Join(names, "; "))
	}

	v := t.Verification
	switch {
	case v.OK:
		row("verified", "yes")
	case v.Status == "not verified":
		row("verified", "no")
	default:
		row("verified", fmt.Sprintf("no: %s %s", v.Status, v.Code))
		row("", v.Reason)
	}
	if len(v.Chain) > 0 {
		row("chain", strings.Join(v.Chain, " <- "))
	}
	if v.Note != "" {
		row("", v.Note)
	}

	switch {
	case !t.Configured:
		row("mapping", "none configured for this site")
	case t.Required:
		row("mapping", "required (a certificate no rule maps gets 403.12)")
	default:
		row("mapping", "optional (a certificate no rule maps goes on without a user)")
	}
	r := t.Result
	switch {
	case r.Denied:
		row("result", "denied")
	case r.Mapped():
		s := fmt.Sprintf("user %q", r.User)
		if len(r.Groups) > 0 {
			s += ", groups " + strings.Join(r.Groups, ", ")
		}
		row("result", s)
	default:
		row("result", "unmapped")
	}
	row("rule", r.Rule)
	row("reason", r.Reason)
	d := t.Decision
	if d.Allowed {
		row("decision", fmt.Sprintf("%s allowed: %s", d.Status, d.Reason))
	} else {
		row("decision", fmt.Sprintf("%s %s", d.Status, d.Code))
		if d.Heading != "" {
			row("", d.Heading)
		}
		row("", d.Reason)
	}
	for _, l := range t.Locations {
		s := "allowed"
		if !l.Allowed {
			s = l.Status + " " + l.Reason
		}
		row("location "+l.Path, s)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	if len(t.Trace) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nevaluation, in order:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range t.Trace {
		mark := "no"
		if s.Matched {
			mark = "MATCH"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", mark, s.Rule, s.Detail)
	}
	return tw.Flush()
}

// WriteText renders l for people.
func (l *List) WriteText(w io.Writer) error {
	switch {
	case !l.Configured:
		fmt.Fprintf(w, "site %q has no mapping block: certificates are not mapped and no user header is sent.\n", l.Site)
	case l.Required:
		fmt.Fprintf(w, "site %q: mapping required; a certificate no rule maps gets 403.12.\n", l.Site)
	default:
		fmt.Fprintf(w, "site %q: mapping optional; a certificate no rule maps goes on without a user.\n", l.Site)
	}
	if l.Configured {
		fmt.Fprintln(w, "Order: one_to_one (exact certificate), then many_to_one (first match wins, deny stops), then upn. Deny rules answer 403.12 even when mapping is optional.")
	}
	if len(l.Rules) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "RULE\tMATCHES WHEN\tTHEN")
		for _, r := range l.Rules {
			for i, c := range r.Criteria {
				rule, action := "", ""
				if i == 0 {
					rule, action = r.Rule, r.Action()
				} else {
					c = "and " + c
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", rule, c, action)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(l.Locations) > 0 {
		fmt.Fprintln(w, "\nLocations with allow lists (others answer 403.100):")
		for _, loc := range l.Locations {
			var parts []string
			if len(loc.AllowUsers) > 0 {
				parts = append(parts, "users "+strings.Join(loc.AllowUsers, ", "))
			}
			if len(loc.AllowGroups) > 0 {
				parts = append(parts, "groups "+strings.Join(loc.AllowGroups, ", "))
			}
			fmt.Fprintf(w, "  %s (client_cert: %s): %s\n", loc.Path, loc.ClientCert, strings.Join(parts, "; "))
		}
	}
	return nil
}

func orEmpty(s string) string {
	if s == "" {
		return "(empty)"
	}
	return s
}
