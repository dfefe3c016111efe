package pattern

import (
	"fmt"
	"strings"
)

// Template is a parsed user template such as "svc-{CN}": literal text with
// {FIELD} placeholders. "{{" and "}}" stand for literal braces. A template
// without placeholders is a plain user name.
type Template struct {
	src   string
	parts []part
}

type part struct {
	text  string
	field bool // text names a field
}

// ParseTemplate parses s. canon validates a placeholder name and returns its
// canonical spelling ("cn" -> "CN"); a name it rejects is an error.
func ParseTemplate(s string, canon func(name string) (string, bool)) (*Template, error) {
	t := &Template{src: s}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, part{text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '{':
			if i+1 < len(s) && s[i+1] == '{' {
				lit.WriteByte('{')
				i++
				continue
			}
			end := strings.IndexByte(s[i+1:], '}')
			if end < 0 {
				return nil, fmt.Errorf("%w %q: unclosed { at offset %d (write {{ for a literal brace)", ErrBadTemplate, s, i)
			}
			name := strings.TrimSpace(s[i+1 : i+1+end])
			if name == "" {
				return nil, fmt.Errorf("%w %q: empty placeholder {} at offset %d", ErrBadTemplate, s, i)
			}
			cn, ok := canon(name)
			if !ok {
				return nil, fmt.Errorf("%w %q: unknown placeholder {%s}", ErrBadTemplate, s, name)
			}
			flush()
			t.parts = append(t.parts, part{text: cn, field: true})
			i += end + 1
		case '}':
			if i+1 < len(s) && s[i+1] == '}' {
				lit.WriteByte('}')
				i++
				continue
			}
			return nil, fmt.Errorf("%w %q: unmatched } at offset %d (write }} for a literal brace)", ErrBadTemplate, s, i)
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return t, nil
}

// String returns the source template.
func (t *Template) String() string { return t.src }

// Fields returns the canonical placeholder names, in order of appearance.
func (t *Template) Fields() []string {
	var out []string
	for _, p := range t.parts {
		if p.field {
			out = append(out, p.text)
		}
	}
	return out
}

// Static reports whether the template has no placeholder.
func (t *Template) Static() bool { return len(t.Fields()) == 0 }

// Expand fills the placeholders with lookup. It fails, naming the field, when
// lookup has no value or an empty one: a rule "svc-{CN}" must not map a
// certificate without a CN to the user "svc-".
func (t *Template) Expand(lookup func(field string) (string, bool)) (string, error) {
	// "alice" and "{CN}" need no new string: the common cases on the
	// gateway's request path.
	if len(t.parts) == 1 {
		p := t.parts[0]
		if !p.field {
			return p.text, nil
		}
		v, ok := lookup(p.text)
		if !ok || v == "" {
			return "", fmt.Errorf("expand user template %q: certificate has no %s", t.src, p.text)
		}
		return v, nil
	}
	var b strings.Builder
	for _, p := range t.parts {
		if !p.field {
			b.WriteString(p.text)
			continue
		}
		v, ok := lookup(p.text)
		if !ok || v == "" {
			return "", fmt.Errorf("expand user template %q: certificate has no %s", t.src, p.text)
		}
		b.WriteString(v)
	}
	return b.String(), nil
}
