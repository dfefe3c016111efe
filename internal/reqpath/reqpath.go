package reqpath

import (
	"unicode"
	"unicode/utf8"
)

// Rule is one reason a raw request path is refused. The zero Rule means
// the path is canonical.
type Rule uint16

// The rules, each motivated by backends that read the form differently
// from the decoded path certgate matches locations on. docs/security.md
// repeats the motivation.
const (
	// NotAbsolute: the path does not start with "/" (asterisk-form,
	// authority-form). No location can govern it.
	NotAbsolute Rule = 1 << iota
	// BadEscape: a '%' not followed by two hex digits. Decoders disagree
	// (keep it, drop it, reject); Go rejects it.
	BadEscape
	// DotSegment: a "." or ".." segment, also percent-encoded. Every
	// backend resolves them (RFC 3986 section 5.2.4), so /public/../admin
	// is /admin upstream.
	DotSegment
	// EmptySegment: "//" inside the path. nginx (merge_slashes), Spring and
	// Windows collapse it, others keep it.
	EmptySegment
	// Semicolon: ';' or %3B in a segment. Tomcat, Jetty and Spring strip
	// ";param" from each segment before mapping (/public/..;/secret is
	// /secret), other servers keep it as part of the name.
	Semicolon
	// Backslash: '\' or %5C. IIS, ASP.NET and Windows file systems treat
	// it as '/'.
	Backslash
	// EncodedSlash: %2F. Apache (AllowEncodedSlashes), Tomcat and
	// frameworks that decode before routing read it as a segment boundary,
	// others as part of a name.
	EncodedSlash
	// Control: NUL and other control bytes, raw or encoded (%00, %09,
	// %7F). C-based backends end the path at NUL (/secret%00 is /secret);
	// others trim whitespace.
	Control
	// DoubleEncoding: %25, an encoded '%'. Backends, filters and
	// frameworks that decode twice (IIS double escaping, some routers)
	// read %252e%252e as "..".
	DoubleEncoding
	// InvalidUTF8: decoded bytes that are not valid UTF-8, overlong
	// encodings included (%C0%AF, the IIS "Unicode" traversal that reads as
	// '/').
	InvalidUTF8
	// TrailingDotSpace: a segment ending in '.' or ' '. Windows and NTFS
	// strip trailing dots and spaces from names: /secret. and /secret%20
	// open /secret.
	TrailingDotSpace
	// NTFSStream: a segment naming an NTFS stream (":$", as in
	// /secret::$DATA), which IIS serves as the file itself.
	NTFSStream
	// InvalidCharacter: a raw byte RFC 3986 does not allow in a path and
	// clients always encode: space, '#', or a non-ASCII byte. Backends cut
	// at '#' (a fragment) or re-encode differently.
	InvalidCharacter
	// EncodedDelimiter: %3F or %23, an encoded '?' or '#'. A backend that
	// decodes before splitting the query or fragment off reads a shorter
	// path.
	EncodedDelimiter
)

// mandatory are the rules a site cannot opt out of: without them the
// decoded path has no single meaning at all.
const mandatory = NotAbsolute | BadEscape | DotSegment

var names = [...]struct {
	rule Rule
	name string
	desc string
}{
	{NotAbsolute, "not_absolute", "the path does not start with \"/\""},
	{BadEscape, "bad_escape", "a '%' is not followed by two hex digits"},
	{DotSegment, "dot_segment", "a \".\" or \"..\" segment (backends resolve it to another path)"},
	{EmptySegment, "empty_segment", "an empty segment \"//\" (nginx, Spring and Windows merge slashes)"},
	{Semicolon, "semicolon", "a ';' path parameter (Tomcat, Jetty and Spring strip \";...\" from segments)"},
	{Backslash, "backslash", "a '\\' or %5C (IIS, ASP.NET and Windows read it as '/')"},
	{EncodedSlash, "encoded_slash", "an encoded slash %2F (some backends decode it to a segment boundary)"},
	{Control, "control", "a NUL or control byte (C backends end the path at NUL, others trim whitespace)"},
	{DoubleEncoding, "double_encoding", "an encoded '%' (%25): backends that decode twice read another path"},
	{InvalidUTF8, "invalid_utf8", "invalid or overlong UTF-8 (%C0%AF reads as '/' to old decoders)"},
	{TrailingDotSpace, "trailing_dot_space", "a segment ending in '.' or ' ' (Windows strips them: /secret. is /secret)"},
	{NTFSStream, "ntfs_stream", "an NTFS stream name \":$\" (IIS serves /secret::$DATA as /secret)"},
	{InvalidCharacter, "invalid_character", "a raw space, '#' or non-ASCII byte (clients encode them; backends cut at '#')"},
	{EncodedDelimiter, "encoded_delimiter", "an encoded '?' or '#' (%3F, %23): backends that decode first read a shorter path"},
}

// String returns the rule's name as configured in paths.allow, such as
// "semicolon".
func (r Rule) String() string {
	for _, n := range names {
		if n.rule == r {
			return n.name
		}
	}
	return "canonical"
}

// Describe says what the rule refuses and why, for the 400 page and logs.
func (r Rule) Describe() string {
	for _, n := range names {
		if n.rule == r {
			return n.desc
		}
	}
	return ""
}

// Optional reports whether a site may opt out of r (paths.allow).
func (r Rule) Optional() bool { return r&mandatory == 0 }

// Parse returns the rule named name (as String spells it).
func Parse(name string) (Rule, bool) {
	for _, n := range names {
		if n.name == name {
			return n.rule, true
		}
	}
	return 0, false
}

// Names lists every rule name, in order.
func Names() []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n.name
	}
	return out
}

// Check reads raw, a request path as sent (percent-encoded, without the
// query), and returns the first rule it breaks that allow does not
// exempt, with the byte offset in raw where it was found; 0 when the path
// is canonical. Mandatory rules apply whatever allow says. A trailing
// "/" is canonical. Check does not allocate.
func Check(raw string, allow Rule) (Rule, int) {
	allow &^= mandatory
	if raw == "" || raw[0] != '/' {
		return NotAbsolute, 0
	}
	var (
		segLen   int  // decoded bytes in the segment so far
		allDots  bool // every decoded byte of the segment is '.'
		last     byte // last decoded byte of the segment
		utfBuf   [utf8.UTFMax]byte
		utfHave  int
		utfNeed  int
		segStart = 1
	)
	// endSegment judges the segment ending at raw offset end; the next
	// one starts at next.
	endSegment := func(end, next int, final bool) (Rule, int) {
		switch {
		case utfNeed > 0:
			if allow&InvalidUTF8 == 0 {
				return InvalidUTF8, end
			}
		case segLen == 0:
			if !final && allow&EmptySegment == 0 {
				return EmptySegment, end
			}
		case allDots && segLen <= 2:
			return DotSegment, segStart
		case last == '.' || last == ' ':
			if allow&TrailingDotSpace == 0 {
				return TrailingDotSpace, end - 1
			}
		}
		segLen, allDots, last, utfHave, utfNeed = 0, true, 0, 0, 0
		segStart = next
		return 0, 0
	}
	allDots = true
	for i := 1; i < len(raw); {
		c, w, encoded := raw[i], 1, false
		if c == '/' {
			if r, at := endSegment(i, i+1, false); r != 0 {
				return r, at
			}
			i++
			continue
		}
		if c == '%' {
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return BadEscape, i
			}
			c, w, encoded = unhex(raw[i+1])<<4|unhex(raw[i+2]), 3, true
		}
		var broken Rule
		switch {
		case c == '/': // only encoded here
			broken = EncodedSlash
		case c == '%': // only encoded here
			broken = DoubleEncoding
		case c == '\\':
			broken = Backslash
		case c == ';':
			broken = Semicolon
		case c < 0x20 || c == 0x7f:
			broken = Control
		case !encoded && (c == ' ' || c == '#' || c >= 0x80):
			broken = InvalidCharacter
		case encoded && (c == '?' || c == '#'):
			broken = EncodedDelimiter
		case c == '$' && last == ':':
			broken = NTFSStream
		}
		if broken != 0 && allow&broken == 0 {
			return broken, i
		}
		if c == '/' {
			// An encoded slash the site allows: the decoded path, which
			// locations are matched on, has a segment boundary here.
			if r, at := endSegment(i, i+w, false); r != 0 {
				return r, at
			}
			i += w
			continue
		}
		// UTF-8 of the decoded bytes, encoded or raw.
		switch {
		case utfNeed > 0 && c&0xc0 == 0x80:
			utfBuf[utfHave] = c
			utfHave++
			if utfHave == utfNeed {
				if !utf8.Valid(utfBuf[:utfNeed]) && allow&InvalidUTF8 == 0 {
					return InvalidUTF8, i
				}
				utfHave, utfNeed = 0, 0
			}
		case utfNeed > 0:
			if allow&InvalidUTF8 == 0 {
				return InvalidUTF8, i
			}
			utfHave, utfNeed = 0, 0
		case c >= 0x80:
			n := utf8SeqLen(c)
			if n == 0 {
				if allow&InvalidUTF8 == 0 {
					return InvalidUTF8, i
				}
			} else {
				utfBuf[0], utfHave, utfNeed = c, 1, n
			}
		}
		segLen++
		allDots = allDots && c == '.'
		last = c
		i += w
	}
	return endSegment(len(raw), len(raw), true)
}

// utf8SeqLen is the length of the UTF-8 sequence lead byte c starts, or 0
// when c cannot start one (a continuation byte, 0xC0, 0xC1, 0xF5...).
func utf8SeqLen(c byte) int {
	switch {
	case c >= 0xc2 && c <= 0xdf:
		return 2
	case c >= 0xe0 && c <= 0xef:
		return 3
	case c >= 0xf0 && c <= 0xf4:
		return 4
	}
	return 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// HasPrefixFold reports whether path starts with prefix, comparing with
// Unicode simple case folding as strings.EqualFold does, and returns the
// number of bytes of path the prefix covers (it can differ from
// len(prefix) when folded runes have different lengths).
func HasPrefixFold(path, prefix string) (int, bool) {
	i := 0
	for _, pr := range prefix {
		if i >= len(path) {
			return 0, false
		}
		r, w := utf8.DecodeRuneInString(path[i:])
		if !equalFoldRune(r, pr) {
			return 0, false
		}
		i += w
	}
	return i, true
}

// equalFoldRune is strings.EqualFold for one rune each.
func equalFoldRune(a, b rune) bool {
	if a == b {
		return true
	}
	if a > b {
		a, b = b, a
	}
	if b < utf8.RuneSelf {
		return 'A' <= a && a <= 'Z' && b == a+'a'-'A'
	}
	// unicode.SimpleFold walks the orbit of runes equal under folding,
	// in increasing order and wrapping around.
	r := unicode.SimpleFold(a)
	for r != a && r < b {
		r = unicode.SimpleFold(r)
	}
	return r == b
}
