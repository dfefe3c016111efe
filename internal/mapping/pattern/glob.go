package pattern

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Glob is a compiled glob pattern. The zero value is not usable; use Compile.
// A Glob is immutable and safe for concurrent use.
type Glob struct {
	src  string
	fold bool
	toks []token
	// literal is true when the pattern has no wildcard at all, so that
	// Describe can say "equals" rather than "matches".
	literal bool
}

type tokenKind uint8

const (
	tokLiteral tokenKind = iota
	tokAny               // ?
	tokStar              // *
	tokClass             // [...]
)

type runeRange struct{ lo, hi rune }

type token struct {
	kind   tokenKind
	r      rune        // tokLiteral
	ranges []runeRange // tokClass
	negate bool        // tokClass
}

// Compile parses pattern. With fold set, letters match case-insensitively
// (Unicode simple case folding, as strings.EqualFold): "CN=Alice" matches
// "alice*".
//
// An empty pattern is rejected: it could only match an empty value, which is
// never what a rule means; omit the field instead.
func Compile(pattern string, fold bool) (*Glob, error) {
	if pattern == "" {
		return nil, fmt.Errorf("%w %q: empty pattern (omit the field to not match on it, or use \"*\" for any value)", ErrBadPattern, pattern)
	}
	if !utf8.ValidString(pattern) {
		return nil, fmt.Errorf("%w %q: not valid UTF-8", ErrBadPattern, pattern)
	}
	g := &Glob{src: pattern, fold: fold, literal: true}
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '*':
			g.literal = false
			// Consecutive stars are one star; collapsing them keeps Match linear.
			if n := len(g.toks); n > 0 && g.toks[n-1].kind == tokStar {
				continue
			}
			g.toks = append(g.toks, token{kind: tokStar})
		case '?':
			g.literal = false
			g.toks = append(g.toks, token{kind: tokAny})
		case '\\':
			if i+1 >= len(rs) {
				return nil, fmt.Errorf("%w %q: trailing backslash (write \\\\ for a literal backslash)", ErrBadPattern, pattern)
			}
			i++
			g.toks = append(g.toks, token{kind: tokLiteral, r: rs[i]})
		case '[':
			g.literal = false
			t, next, err := parseClass(rs, i)
			if err != "" {
				return nil, fmt.Errorf("%w %q: %s", ErrBadPattern, pattern, err)
			}
			g.toks = append(g.toks, t)
			i = next
		case ']':
			return nil, fmt.Errorf("%w %q: unmatched ] at offset %d (write \\] for a literal bracket)", ErrBadPattern, pattern, runeOffset(rs, i))
		default:
			g.toks = append(g.toks, token{kind: tokLiteral, r: c})
		}
	}
	return g, nil
}

// parseClass parses the class starting at rs[start] == '[' and returns the
// index of its closing ']'.
func parseClass(rs []rune, start int) (token, int, string) {
	t := token{kind: tokClass}
	i := start + 1
	if i < len(rs) && (rs[i] == '!' || rs[i] == '^') {
		t.negate = true
		i++
	}
	for ; i < len(rs); i++ {
		if rs[i] == ']' {
			if len(t.ranges) == 0 {
				return t, 0, fmt.Sprintf("empty character class at offset %d", runeOffset(rs, start))
			}
			return t, i, ""
		}
		lo, ok := classChar(rs, &i)
		if !ok {
			break
		}
		hi := lo
		if i+2 < len(rs) && rs[i+1] == '-' && rs[i+2] != ']' {
			i += 2
			if hi, ok = classChar(rs, &i); !ok {
				break
			}
			if hi < lo {
				return t, 0, fmt.Sprintf("range %c-%c out of order at offset %d", lo, hi, runeOffset(rs, start))
			}
		}
		t.ranges = append(t.ranges, runeRange{lo, hi})
	}
	return t, 0, fmt.Sprintf("unterminated character class at offset %d (write \\[ for a literal bracket)", runeOffset(rs, start))
}

// classChar reads one possibly escaped character of a class at rs[*i].
func classChar(rs []rune, i *int) (rune, bool) {
	if rs[*i] == '\\' {
		if *i+1 >= len(rs) {
			return 0, false
		}
		*i++
	}
	return rs[*i], true
}

// runeOffset converts a rune index into the byte offset people see in an editor.
func runeOffset(rs []rune, i int) int { return len(string(rs[:i])) }

// String returns the source pattern.
func (g *Glob) String() string { return g.src }

// Literal reports whether the pattern has no wildcard: it matches one value
// (up to case when folding).
func (g *Glob) Literal() bool { return g.literal }

// Fold reports whether the pattern matches case-insensitively.
func (g *Glob) Fold() bool { return g.fold }

// Match reports whether the whole of s matches the pattern.
//
// It is the classic single-backtrack wildcard algorithm: every non-star token
// consumes exactly one character, so on a mismatch only the most recent star
// needs to absorb one more character. That bounds the work by
// len(tokens)*len(s) for any pattern.
func (g *Glob) Match(s string) bool {
	// i and starI are byte offsets into s; every step decodes one rune, so
	// invalid UTF-8 counts as one U+FFFD character per byte.
	p, i := 0, 0
	starP, starI := -1, 0
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		if p < len(g.toks) {
			t := &g.toks[p]
			if t.kind == tokStar {
				starP, starI = p, i
				p++
				continue
			}
			if g.one(t, r) {
				p++
				i += w
				continue
			}
		}
		if starP < 0 {
			return false
		}
		// Let the last star absorb one more character and retry after it.
		_, sw := utf8.DecodeRuneInString(s[starI:])
		starI += sw
		p, i = starP+1, starI
	}
	for p < len(g.toks) && g.toks[p].kind == tokStar {
		p++
	}
	return p == len(g.toks)
}

// one matches a single character against a non-star token.
func (g *Glob) one(t *token, r rune) bool {
	switch t.kind {
	case tokAny:
		return true
	case tokLiteral:
		if t.r == r {
			return true
		}
		return g.fold && equalFold(t.r, r)
	case tokClass:
		in := inRanges(t.ranges, r)
		if !in && g.fold {
			// Try every case variant of r: [A-Z] must accept "q" when folding.
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				if inRanges(t.ranges, f) {
					in = true
					break
				}
			}
		}
		return in != t.negate
	}
	return false
}

func inRanges(rs []runeRange, r rune) bool {
	for _, x := range rs {
		if x.lo <= r && r <= x.hi {
			return true
		}
	}
	return false
}

func equalFold(a, b rune) bool {
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return false
}

// Quote renders s so that it matches itself literally when used as a
// pattern: "a*b" -> "a\*b". `certgate map` uses it to suggest rules.
func Quote(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
