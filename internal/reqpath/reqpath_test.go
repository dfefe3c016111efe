package reqpath

import (
	"net/url"
	"path"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		raw   string
		allow Rule
		want  Rule
	}{
		{raw: "/", want: 0},
		{raw: "/public/x/", want: 0},
		{raw: "/a/b.c/d-e_f~g", want: 0},
		{raw: "/caf%C3%A9/%E2%82%AC", want: 0},
		{raw: "/api/items:batchGet", want: 0},
		{raw: "/a%20b", want: 0},
		{raw: "/.well-known/x", want: 0},
		{raw: "/a..b/c", want: 0},
		{raw: "", want: NotAbsolute},
		{raw: "*", want: NotAbsolute},
		{raw: "a.example.test:443", want: NotAbsolute},
		{raw: "/a%2", want: BadEscape},
		{raw: "/a%zz", want: BadEscape},
		{raw: "/a%", want: BadEscape},
		// The paths of the attack report, with /public ignore and / require.
		{raw: "/public/..;/secret", want: Semicolon},
		{raw: "/public/%2e%2e;/secret", want: Semicolon},
		{raw: "/public/..%5csecret", want: Backslash},
		{raw: "/public/..\\secret", want: Backslash},
		{raw: "/public/..%252fsecret", want: DoubleEncoding},
		{raw: "/public/%252e%252e/secret", want: DoubleEncoding},
		{raw: "/public/..%c0%afsecret", want: InvalidUTF8},
		{raw: "/public/..%00/secret", want: Control},
		// With /secret require and / ignore.
		{raw: "/secret;x", want: Semicolon},
		{raw: "/secret%3bx", want: Semicolon},
		{raw: "/secret%00", want: Control},
		{raw: "/secret.", want: TrailingDotSpace},
		{raw: "/secret%20", want: TrailingDotSpace},
		{raw: "/secret::$DATA", want: NTFSStream},
		{raw: "/secret:stream:$DATA", want: NTFSStream},
		{raw: "/secret%09", want: Control},
		{raw: "/secret#x", want: InvalidCharacter},
		{raw: "/secret x", want: InvalidCharacter},
		{raw: "/secr\xc3\xa9t", want: InvalidCharacter},
		{raw: "/secret%3fx", want: EncodedDelimiter},
		{raw: "/secret%23x", want: EncodedDelimiter},
		// Dot and empty segments, encoded or not.
		{raw: "/public/../secret", want: DotSegment},
		{raw: "/public/%2e%2e/secret", want: DotSegment},
		{raw: "/public/%2E./secret", want: DotSegment},
		{raw: "/public/.", want: DotSegment},
		{raw: "/./x", want: DotSegment},
		{raw: "//public", want: EmptySegment},
		{raw: "/a//b", want: EmptySegment},
		{raw: "/public%2F..%2Fsecret", want: EncodedSlash},
		{raw: "/a/...", want: TrailingDotSpace},
		// Invalid UTF-8: overlong, surrogate, truncated, stray continuation.
		{raw: "/%e0%80%af", want: InvalidUTF8},
		{raw: "/%ed%a0%80", want: InvalidUTF8},
		{raw: "/%f4%90%80%80", want: InvalidUTF8},
		{raw: "/%c3", want: InvalidUTF8},
		{raw: "/%c3/x", want: InvalidUTF8},
		{raw: "/%80", want: InvalidUTF8},
		{raw: "/%c3a", want: InvalidUTF8},
		// Opting out by name; mandatory rules stay.
		{raw: "/a;b", allow: Semicolon, want: 0},
		{raw: "/a%2Fb", allow: EncodedSlash, want: 0},
		{raw: "/public%2F..%2Fsecret", allow: EncodedSlash, want: DotSegment},
		{raw: "/a%2F%2Fb", allow: EncodedSlash, want: EmptySegment},
		{raw: "/a/../b", allow: ^Rule(0), want: DotSegment},
		{raw: "/a%zz", allow: ^Rule(0), want: BadEscape},
		{raw: "/secret.", allow: TrailingDotSpace, want: 0},
		{raw: "/%c0%af", allow: InvalidUTF8, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, at := Check(tt.raw, tt.allow)
			if got != tt.want {
				t.Fatalf("Check(%q, %v) = %v at %d, want %v", tt.raw, tt.allow, got, at, tt.want)
			}
			if got != 0 && (at < 0 || at > len(tt.raw)) {
				t.Errorf("offset %d outside the path", at)
			}
		})
	}
}

func TestRuleNames(t *testing.T) {
	for _, n := range Names() {
		r, ok := Parse(n)
		if !ok || r.String() != n || r.Describe() == "" {
			t.Errorf("rule %q: Parse = %v %v, String %q", n, r, ok, r.String())
		}
	}
	if len(Names()) != 14 {
		t.Errorf("%d rules", len(Names()))
	}
	for _, r := range []Rule{NotAbsolute, BadEscape, DotSegment} {
		if r.Optional() {
			t.Errorf("%v must not be optional", r)
		}
	}
	if !Semicolon.Optional() {
		t.Error("semicolon must be optional")
	}
	if Rule(0).String() != "canonical" {
		t.Errorf("zero rule %q", Rule(0).String())
	}
}

func TestHasPrefixFold(t *testing.T) {
	tests := []struct {
		path, prefix string
		n            int
		ok           bool
	}{
		{"/SECRET/x", "/secret", 7, true},
		{"/Secret", "/secret", 7, true},
		{"/secre", "/secret", 0, false},
		{"/\u017fecret", "/secret", 8, true}, // ſ (long s) folds to s
		{"/\u212aey", "/key", 6, true},       // Kelvin sign folds to k
		{"/public", "/secret", 0, false},
		{"/x", "/", 1, true},
	}
	for _, tt := range tests {
		n, ok := HasPrefixFold(tt.path, tt.prefix)
		if n != tt.n || ok != tt.ok {
			t.Errorf("HasPrefixFold(%q, %q) = %d %v, want %d %v", tt.path, tt.prefix, n, ok, tt.n, tt.ok)
		}
	}
}

// TestCheckDoesNotAllocate: Check runs on every request.
func TestCheckDoesNotAllocate(t *testing.T) {
	for _, raw := range []string{"/app/orders/12345/items", "/public/..;/secret", "/caf%C3%A9/x"} {
		if n := testing.AllocsPerRun(100, func() { Check(raw, 0) }); n != 0 {
			t.Errorf("Check(%q) allocates %v times", raw, n)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	for b.Loop() {
		Check("/app/orders/12345/items/index.html", 0)
	}
}

// FuzzCheck: Check never panics, and a path it calls canonical has one
// meaning: it decodes, is valid UTF-8, resolves to itself, and holds none
// of the bytes backends read differently.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"/", "/public/..;/secret", "/a%2Fb", "/caf%C3%A9", "/secret::$DATA", "/%c0%af", "/a//b/", "/x%252e"} {
		f.Add(s, uint16(0))
	}
	f.Fuzz(func(t *testing.T, raw string, allow uint16) {
		got, at := Check(raw, Rule(allow))
		if got != 0 {
			if at < 0 || at > len(raw) {
				t.Fatalf("offset %d outside %q", at, raw)
			}
			return
		}
		if Rule(allow)&(EncodedSlash|DoubleEncoding|InvalidUTF8|Control|InvalidCharacter) != 0 {
			return // opted out: the properties below do not hold
		}
		dec, err := url.PathUnescape(raw)
		if err != nil {
			t.Fatalf("canonical %q does not decode: %v", raw, err)
		}
		if !utf8.ValidString(dec) {
			t.Fatalf("canonical %q decodes to invalid UTF-8", raw)
		}
		clean := path.Clean(dec)
		if strings.HasSuffix(dec, "/") && clean != "/" {
			clean += "/"
		}
		if clean != dec && Rule(allow)&EmptySegment == 0 {
			t.Fatalf("canonical %q decodes to %q, which resolves to %q", raw, dec, clean)
		}
		if strings.ContainsAny(dec, "%\x00\t\r\n#") || (Rule(allow)&Semicolon == 0 && strings.Contains(dec, ";")) ||
			(Rule(allow)&Backslash == 0 && strings.Contains(dec, "\\")) {
			t.Fatalf("canonical %q decodes to %q", raw, dec)
		}
	})
}
