package doctor

import (
	"fmt"
	"io"
)

// WriteText renders r for people.
func (r *LintReport) WriteText(w io.Writer) error {
	p := &printer{w: w}
	name := ""
	if r.Name != "" {
		name = fmt.Sprintf(" of site %q", r.Name)
	}
	p.line("Lint%s at %s: %d root(s), %d intermediate(s), %d CRL(s)", name, day(r.At), r.Roots, r.Intermediates, r.CRLs)
	il := r.IssuerList
	if il.Sent {
		p.line("Issuer list: %d CA(s), %d bytes encoded (warn_bytes %d, max_bytes %d; Schannel truncates past %d)",
			il.Count, il.Bytes, il.WarnBytes, il.MaxBytes, il.SchannelBytes)
	} else {
		p.line("Issuer list: not sent (issuer_list.send: false); size checks skipped")
	}
	for _, f := range r.Findings {
		p.blank()
		switch {
		case f.Cert != nil:
			p.line("%-7s %s: %s", f.Severity, f.Check, f.Cert.Subject)
			p.line("        sha256 %s  %s", f.Cert.SHA256, f.Cert.Source)
		case f.CRL != nil:
			p.line("%-7s %s: CRL of %s (%d entries, next update %s)", f.Severity, f.Check, f.CRL.Issuer, f.CRL.Entries, day(f.CRL.NextUpdate))
			p.line("        %s", f.CRL.Source)
		default:
			p.line("%-7s %s", f.Severity, f.Check)
		}
		p.line("        %s", f.Message)
		for _, rel := range f.Related {
			p.line("          - %s  sha256 %s  %s", rel.Subject, rel.SHA256, rel.Source)
		}
		if f.Sub != "" {
			p.line("        clients get: %s", f.Sub)
		}
		p.line("        fix: %s", f.Fix)
	}
	p.blank()
	if len(r.Findings) == 0 {
		p.line("No findings.")
	} else {
		p.line("%d error(s), %d warning(s).", r.Errors(), r.Warnings())
	}
	return p.err
}
