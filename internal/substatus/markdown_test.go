package substatus

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated part of docs/errors.md")

const (
	beginMarker = "<!-- BEGIN GENERATED: go test ./internal/substatus -update -->\n"
	endMarker   = "<!-- END GENERATED -->\n"
)

// TestErrorsDocUpToDate keeps docs/errors.md identical to the catalogue.
func TestErrorsDocUpToDate(t *testing.T) {
	const path = "../../docs/errors.md"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start := strings.Index(doc, beginMarker)
	end := strings.Index(doc, endMarker)
	if start < 0 || end < start {
		t.Fatalf("%s: generated-section markers missing", path)
	}
	want := doc[:start+len(beginMarker)] + Markdown() + doc[end:]
	if want == doc {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("%s is out of date with the catalogue: run go test ./internal/substatus -update", path)
}

func TestParseCode(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Code
	}{
		{"2148204809", CertEUntrustedRoot},
		{"0x800b0109", CertEUntrustedRoot},
		{"0x800B0109", CertEUntrustedRoot},
		{"800B0109", CertEUntrustedRoot},
		{"CERT_E_UNTRUSTEDROOT", CertEUntrustedRoot},
		{"-2146762487", CertEUntrustedRoot},
		{"2148081680", CryptERevoked},
	} {
		got, err := ParseCode(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseCode(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	if _, err := ParseCode("banana"); err == nil {
		t.Error("ParseCode(banana) succeeded")
	}
}

func TestEveryCodeMapsToACataloguedSub(t *testing.T) {
	for _, c := range Codes() {
		if _, ok := Lookup(c.Sub); !ok {
			t.Errorf("%s maps to %s, which is not in the catalogue", c.Name, c.Sub)
		}
	}
	if got := Must(CertUntrusted).Heading(); got != "HTTP Error 403.16 - Forbidden: Client certificate is untrusted or invalid" {
		t.Errorf("heading = %q", got)
	}
}
