package doctor

import (
	"fmt"
	"io"
	"strings"

	"github.com/certgate/certgate/internal/substatus"
)

// WriteText renders e for people.
func (e *Explanation) WriteText(w io.Writer) error {
	p := &printer{w: w}
	switch e.Kind {
	case KindSubStatus:
		p.line("%s: %s", e.Sub.Text, e.Sub.Heading)
	case KindCode:
		p.line("%s  %s  %s (signed %s)", e.Code.Name, e.Code.Hex, e.Code.Decimal, e.Code.Signed)
		p.line("  %s", e.Meaning)
		p.line("certgate answers: %s", e.Sub.Heading)
	case KindProfileRule:
		p.line("%s", e.Meaning)
		p.line("under profile: strict certgate answers: %s (%s)", e.Sub.Heading, e.Code.Name)
	case KindEvent:
		p.line("%s event %d (%s)", e.Event.Source, e.Event.ID, e.Event.Level)
		p.line("  %q", e.Event.Message)
		p.blank()
		p.line("Meaning:")
		p.line("  %s", e.Meaning)
		if e.Sub != nil {
			p.line("Clients typically get: %s", e.Sub.Heading)
		}
	case KindLogLine:
		f := e.Request.Fields
		p.line("Request: %s %s %s%s from %s", join(f["date"], f["time"]), orDash(f["cs-method"]), orDash(f["cs-uri-stem"]), query(f["cs-uri-query"]), orDash(f["c-ip"]))
		for _, name := range e.Request.sortedFields() {
			if name == "date" || name == "time" {
				continue
			}
			p.line("  %-16s %s", name, orDash(f[name]))
		}
		p.blank()
		if e.Sub.Status < 400 {
			// The catalogue heading reads "HTTP Error ..."; not for a success.
			p.line("Result: %s %s (not an error)", e.Sub.Text, substatus.Must(substatus.Sub{Status: e.Sub.Status, Sub: e.Sub.SubStatus}).Reason)
		} else {
			p.line("Result: %s", e.Sub.Heading)
		}
		if e.Code != nil {
			if e.Code.Logged != "" {
				p.line("Win32:  %s (logged as %s, as IIS writes it)  %s  %s", e.Code.Name, e.Code.Logged, e.Code.Hex, e.Code.Decimal)
			} else if e.Code.Name == e.Code.Hex {
				p.line("Win32:  %s  %s", e.Code.Hex, e.Code.Decimal)
			} else {
				p.line("Win32:  %s  %s  %s", e.Code.Name, e.Code.Hex, e.Code.Decimal)
			}
			if e.Code.Message != "" {
				p.line("  %s", e.Code.Message)
			}
		}
	}
	if e.ClientAdvice != "" {
		p.blank()
		p.line("What the client is told:")
		p.line("  %s", e.ClientAdvice)
	}
	if len(e.RelatedCodes) > 0 {
		p.blank()
		p.line("Win32 codes logged with it (sc-win32-status):")
		for _, c := range e.RelatedCodes {
			p.line("  %-30s %s  %s", c.Name, c.Hex, c.Decimal)
		}
	}
	if len(e.Causes) > 0 {
		p.blank()
		p.line("Likely causes, most frequent first:")
		for i, c := range e.Causes {
			p.line("  %d. %s", i+1, c)
		}
	}
	if len(e.NextSteps) > 0 {
		p.blank()
		p.line("Next:")
		for _, s := range e.NextSteps {
			p.line("  %s", s)
		}
	}
	return p.err
}

// WriteExplanations renders several explanations separated by a rule.
func WriteExplanations(w io.Writer, es []*Explanation) error {
	for i, e := range es {
		if i > 0 {
			if _, err := fmt.Fprintln(w, "\n----"); err != nil {
				return err
			}
		}
		if err := e.WriteText(w); err != nil {
			return err
		}
	}
	return nil
}

func join(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func query(q string) string {
	if q == "" {
		return ""
	}
	return "?" + q
}

// printer keeps the first write error so rendering code stays linear.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(format string, args ...any) {
	if p.err != nil {
		return
	}
	_, p.err = fmt.Fprintf(p.w, format+"\n", args...)
}

func (p *printer) blank() { p.line("") }
