package doctor

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteText renders r for people. The first line is the verdict alone
// ("200", "403.13") so that a harness can read it with head -n1.
func (r *VerifyReport) WriteText(w io.Writer) error {
	p := &printer{w: w}
	p.line("%s", r.Verdict)
	v := r.Verdict + " " + r.Title
	if r.Code != nil {
		v += fmt.Sprintf(" — %s (%s, %s)", r.Code.Name, r.Code.Hex, r.Code.Decimal)
	}
	p.line("verdict: %s", v)
	if r.Element != "" {
		p.line("failing element: %s", r.Element)
	}
	if r.Reason != "" {
		p.line("reason: %s", r.Reason)
	}
	if r.Next != "" {
		p.line("next: %s", r.Next)
	}

	p.blank()
	p.line("certificate: %s", r.Certificate)
	p.line("at: %s", day(r.At))
	p.line("trust: %s", r.Trust)
	purpose := r.Purpose
	if r.PeerName != "" {
		purpose += fmt.Sprintf(", peer name %q", r.PeerName)
	}
	p.line("purpose: %s", purpose)
	rev := fmt.Sprintf("%s (%s), on_unavailable %s", r.Revocation.Mode, r.Revocation.Why, r.Revocation.OnUnavailable)
	if len(r.Revocation.CRLFiles) > 0 {
		rev += ", CRL files " + strings.Join(r.Revocation.CRLFiles, ", ")
	}
	p.line("revocation: %s", rev)
	if len(r.PolicySet) > 0 {
		p.line("valid for policies: %s", strings.Join(r.PolicySet, ", "))
	}
	if r.URLFetch {
		p.line("urlfetch: yes (AIA caIssuers fetched for missing issuers)")
	} else {
		p.line("urlfetch: no (nothing fetched from the network)")
	}

	if len(r.AIA) > 0 {
		p.blank()
		p.line("AIA fetches:")
		for _, f := range r.AIA {
			p.line("  for %s: %s", f.For, f.URL)
			p.line("    %s", fetchLine(VerifyFetch{Kind: "aia", OK: f.OK, Detail: f.Detail, duration: f.duration, DurationMS: f.DurationMS}))
		}
	}

	p.blank()
	p.line("chain: %s, leaf first", count(len(r.Chain), "certificate"))
	for _, e := range r.Chain {
		writeElement(p, e)
	}

	if r.IssuerList != nil {
		p.blank()
		switch {
		case !r.IssuerList.Send:
			p.line("issuer list: not sent")
		default:
			p.line("issuer list: %s sent", count(r.IssuerList.Names, "CA name"))
		}
		p.line("  %s", r.IssuerList.Note)
	}
	if m := r.Mapping; m != nil {
		p.blank()
		state := "not configured"
		if m.Configured {
			state = "configured, not required"
			if m.Required {
				state = "configured, required"
			}
		}
		p.line("mapping: %s", state)
		if m.Result != nil {
			p.line("  result: %s", m.Result)
			if m.Result.Reason != "" {
				p.line("  reason: %s", m.Result.Reason)
			}
		}
		if m.Denied {
			p.line("  denied: the gateway answers %s", r.Verdict)
		}
		if m.Note != "" {
			p.line("  %s", m.Note)
		}
	}
	if len(r.Warnings) > 0 {
		p.blank()
		p.line("warnings:")
		for _, w := range r.Warnings {
			p.line("  - %s", w)
		}
	}
	return p.err
}

func writeElement(p *printer, e VerifyElement) {
	field := func(name, format string, args ...any) {
		p.line("    %-14s %s", name, fmt.Sprintf(format, args...))
	}
	p.blank()
	p.line("[%d] %s: %s", e.Index, e.Label, e.Subject)
	field("issuer", "%s", e.Issuer)
	field("serial", "%s", e.Serial)
	mark := ""
	switch {
	case e.Expired:
		mark = " (EXPIRED)"
	case e.NotYetValid:
		mark = " (NOT YET VALID)"
	}
	field("validity", "%s to %s%s", day(e.NotBefore), day(e.NotAfter), mark)
	field("key", "%s", e.Key)
	field("key usage", "%s", e.KeyUsage)
	field("ext key usage", "%s", e.ExtKeyUsage)
	field("sha256", "%s", e.SHA256)
	field("from", "%s", e.From)
	for _, u := range e.URLs {
		field(u.Kind, "%s", u.URL)
		for _, f := range u.Fetches {
			p.line("    %-14s   %s", "", fetchLine(f))
		}
		if u.Note != "" {
			p.line("    %-14s   %s", "", u.Note)
		}
	}
	rv := e.Revocation
	status := rv.Status
	if status != "good" && status != "not checked" {
		status = strings.ToUpper(status)
	}
	if rv.Reason != "" {
		field("revocation", "%s: %s", status, rv.Reason)
	} else {
		field("revocation", "%s", status)
	}
	for _, f := range rv.Other {
		p.line("    %-14s   %s: %s", "", f.Source, fetchLine(f))
	}
}

// fetchLine renders one source consulted: "ok (crl, 3ms): fetched and
// verified base CRL #1, ..." or "FAILED (crl, 1ms): connection refused".
func fetchLine(f VerifyFetch) string {
	meta := f.Kind
	if f.Kind == "cache" {
		// A cached copy answered: the URL itself was not contacted, which
		// "ok (cache)" alone let people read as "the CDP is up".
		meta = "cache, URL not contacted"
	}
	if f.duration > 0 {
		meta += ", " + roundDuration(f.duration)
	}
	if f.OK {
		return fmt.Sprintf("ok (%s): %s", meta, f.Detail)
	}
	return fmt.Sprintf("FAILED (%s): %s", meta, strings.TrimPrefix(f.Detail, "failed: "))
}

func roundDuration(d time.Duration) string {
	if d < time.Millisecond {
		return "<1ms"
	}
	return d.Round(time.Millisecond).String()
}
