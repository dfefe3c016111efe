package doctor

import (
	"io"
	"strings"
)

// WriteText renders r for people.
func (r *SelectReport) WriteText(w io.Writer) error {
	p := &printer{w: w}
	p.line("Simulated %s client-certificate selection at %s (%s)", browserName(r.Browser), day(r.At), r.TLSVersion)
	if r.Source != "" {
		p.line("CA names from: %s", r.Source)
	}
	writeNames(p, r.CANames)
	for _, wr := range r.Warnings {
		p.line("store: %s", wr)
	}
	if len(r.ChainCerts) > 0 {
		p.line("CA certificates in the store (used to build chains):")
		for _, c := range r.ChainCerts {
			p.line("  %s  sha256 %s", c.Subject, c.SHA256)
		}
	}
	for _, c := range r.Candidates {
		p.blank()
		verdict := "not offered"
		if c.Offered {
			verdict = "OFFERED"
		}
		p.line("%-11s  %s", verdict, c.Cert.Subject)
		p.line("             issuer %s", c.Cert.Issuer)
		p.line("             sha256 %s  %s", c.Cert.SHA256, c.Cert.Source)
		if len(c.Chain) > 1 {
			var subs []string
			for _, x := range c.Chain {
				subs = append(subs, x.Subject)
			}
			p.line("             chain: %s", strings.Join(subs, " <- "))
		}
		if c.Matched != "" {
			p.line("             matched CA name: %s", c.Matched)
		}
		for _, rs := range c.Reasons {
			p.line("             - %s", rs.Message)
		}
		for _, rs := range c.Warnings {
			p.line("             ! %s", rs.Message)
		}
	}
	p.blank()
	p.line("%d of %d certificate(s) offered.", r.Offered, len(r.Candidates))
	return p.err
}

// writeNames prints a CA name list the way probe and select both show it.
func writeNames(p *printer, names []CAName) {
	if len(names) == 0 {
		p.line("Acceptable CA names: none sent (any CA is acceptable; browsers offer every usable certificate)")
		return
	}
	p.line("Acceptable CA names (%d):", len(names))
	for i, n := range names {
		p.line("  %2d. %s", i+1, n.DN)
	}
}
