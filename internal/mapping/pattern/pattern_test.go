package pattern

import (
	"errors"
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		fold    bool
		value   string
		want    bool
	}{
		{"literal equal", "alice", false, "alice", true},
		{"literal differs", "alice", false, "alicia", false},
		{"literal case sensitive", "Alice", false, "alice", false},
		{"literal folded", "Alice", true, "aLICE", true},
		{"fold kelvin sign", "k", true, "\u212a", true},
		{"star prefix", "a*", false, "alice", true},
		{"star matches empty", "alice*", false, "alice", true},
		{"star only", "*", false, "", true},
		{"star suffix domain", "*@example.com", true, "Bob@Example.COM", true},
		{"star not other domain", "*@example.com", true, "bob@example.com.evil", false},
		{"star crosses slash", "spiffe://example.org/*", false, "spiffe://example.org/ns/prod/sa/web", true},
		{"star crosses dot", "*.example.com", false, "a.b.example.com", true},
		{"middle star backtracks", "a*b*c", false, "aXbYbZc", true},
		{"middle star no match", "a*b*c", false, "aXbYbZ", false},
		{"question one char", "user?", false, "user1", true},
		{"question needs a char", "user?", false, "user", false},
		{"question is a rune", "?", false, "é", true},
		{"class", "[abc]x", false, "bx", true},
		{"class miss", "[abc]x", false, "dx", false},
		{"range", "team-[0-9]", false, "team-7", true},
		{"negated bang", "[!0-9]*", false, "x1", true},
		{"negated caret", "[^0-9]*", false, "1x", false},
		{"class folded", "[A-C]*", true, "bob", true},
		{"class folded negated", "[!A-C]*", true, "bob", false},
		{"escaped star literal", `a\*`, false, "a*", true},
		{"escaped star not wildcard", `a\*`, false, "ab", false},
		{"escaped bracket", `\[x\]`, false, "[x]", true},
		{"class with escaped bracket", `[\]]`, false, "]", true},
		{"dash at class end literal", "[a-]", false, "-", true},
		{"double star", "a**b", false, "ab", true},
		{"pathological star", "*a*a*a*a*a*a*a*b", false, strings.Repeat("a", 4096), false},
		{"invalid utf8 value", "*", false, "\xff", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Compile(tt.pattern, tt.fold)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.pattern, err)
			}
			if got := g.Match(tt.value); got != tt.want {
				t.Errorf("Compile(%q, fold=%v).Match(%q) = %v, want %v", tt.pattern, tt.fold, tt.value, got, tt.want)
			}
		})
	}
}

func TestGlobCompileErrors(t *testing.T) {
	tests := []struct {
		pattern string
		detail  string
	}{
		{"", "empty pattern"},
		{"[", "unterminated character class"},
		{"[a-", "unterminated character class"},
		{"[]", "empty character class"},
		{"[!]", "empty character class"},
		{"a]", "unmatched ]"},
		{`a\`, "trailing backslash"},
		{"[z-a]", "out of order"},
		{"\xff", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			_, err := Compile(tt.pattern, false)
			if !errors.Is(err, ErrBadPattern) {
				t.Fatalf("Compile(%q) = %v, want ErrBadPattern", tt.pattern, err)
			}
			if !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("Compile(%q) = %q, want it to mention %q", tt.pattern, err, tt.detail)
			}
		})
	}
}

func TestGlobLiteralAndQuote(t *testing.T) {
	for _, s := range []string{"plain", "a*b", "[x]?", `back\slash`} {
		g, err := Compile(Quote(s), false)
		if err != nil {
			t.Fatalf("Compile(Quote(%q)): %v", s, err)
		}
		if !g.Literal() || !g.Match(s) {
			t.Errorf("Quote(%q) = %q: literal=%v match=%v, want a literal pattern matching itself", s, Quote(s), g.Literal(), g.Match(s))
		}
	}
	g, _ := Compile("a*", false)
	if g.Literal() {
		t.Error(`Compile("a*").Literal() = true, want false`)
	}
}

func canonUpper(name string) (string, bool) {
	switch strings.ToUpper(name) {
	case "CN", "O":
		return strings.ToUpper(name), true
	}
	return "", false
}

func TestTemplate(t *testing.T) {
	fields := map[string]string{"CN": "web01", "O": "Example"}
	lookup := func(f string) (string, bool) { v, ok := fields[f]; return v, ok }
	tests := []struct {
		tmpl    string
		want    string
		wantErr string
	}{
		{"alice", "alice", ""},
		{"svc-{CN}", "svc-web01", ""},
		{"{cn}@{O}", "web01@Example", ""},
		{"{{literal}}-{CN}", "{literal}-web01", ""},
		{"{ CN }", "web01", ""},
		{"svc-{L}", "", "unknown placeholder {L}"},
		{"svc-{CN", "", "unclosed {"},
		{"svc-}", "", "unmatched }"},
		{"svc-{}", "", "empty placeholder"},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			tp, err := ParseTemplate(tt.tmpl, canonUpper)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrBadTemplate) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseTemplate(%q) = %v, want ErrBadTemplate mentioning %q", tt.tmpl, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTemplate(%q): %v", tt.tmpl, err)
			}
			got, err := tp.Expand(lookup)
			if err != nil || got != tt.want {
				t.Errorf("Expand = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestTemplateMissingField(t *testing.T) {
	tp, err := ParseTemplate("svc-{O}", canonUpper)
	if err != nil {
		t.Fatal(err)
	}
	if tp.Static() || len(tp.Fields()) != 1 || tp.Fields()[0] != "O" {
		t.Fatalf("Fields() = %v, want [O]", tp.Fields())
	}
	for _, lookup := range []func(string) (string, bool){
		func(string) (string, bool) { return "", false },
		func(string) (string, bool) { return "", true },
	} {
		if got, err := tp.Expand(lookup); err == nil || !strings.Contains(err.Error(), "certificate has no O") {
			t.Errorf("Expand with no O = %q, %v; want an error naming O", got, err)
		}
	}
}

func BenchmarkGlobPathological(b *testing.B) {
	g, err := Compile("*a*a*a*a*a*a*a*b", false)
	if err != nil {
		b.Fatal(err)
	}
	s := strings.Repeat("a", 1024)
	for b.Loop() {
		g.Match(s)
	}
}
