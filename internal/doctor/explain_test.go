package doctor

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/substatus"
)

const logLine = "2030-06-01 10:00:00 127.0.0.1 GET /app a=1 8443 - 10.1.2.3 Mozilla/5.0+(X11;+Linux) - 403 16 2148204810 3"

func TestExplain(t *testing.T) {
	tests := []struct {
		name, thing string
		fields      []string
		kind        string
		sub         string // expected sub-status text
		code        string // expected code name
		lines       int    // explanations returned
	}{
		{"substatus-403.16", "403.16", nil, KindSubStatus, "403.16", "", 1},
		{"substatus-403.7", "403.7", nil, KindSubStatus, "403.7", "", 1},
		{"code-decimal", "2148204809", nil, KindCode, "403.16", "CERT_E_UNTRUSTEDROOT", 1},
		{"code-hex", "0x800b0109", nil, KindCode, "403.16", "CERT_E_UNTRUSTEDROOT", 1},
		{"code-symbolic", "CERT_E_UNTRUSTEDROOT", nil, KindCode, "403.16", "CERT_E_UNTRUSTEDROOT", 1},
		{"code-signed", "-2146762487", nil, KindCode, "403.16", "CERT_E_UNTRUSTEDROOT", 1},
		{"code-revocation-offline", "0x80092013", nil, KindCode, "403.13", "CRYPT_E_REVOCATION_OFFLINE", 1},
		{"event-36885", "36885", nil, KindEvent, "403.7", "", 1},
		{"log-line", logLine, nil, KindLogLine, "403.16", "CERT_E_CHAINING", 1},
		{"log-fields-flag", "10.1.2.3 /private 403 7 2148074254", []string{"c-ip", "cs-uri-stem", "sc-status", "sc-substatus", "sc-win32-status"}, KindLogLine, "403.7", "SEC_E_NO_CREDENTIALS", 1},
		{"log-with-directive", "#Software: certgate\n#Fields: time c-ip cs-uri-stem sc-status sc-substatus sc-win32-status\n10:00:00 10.1.2.3 / 403 17 2148204801\n10:00:01 10.1.2.4 / 200 0 0\n", nil, KindLogLine, "403.17", "CERT_E_EXPIRED", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es, err := Explain(tt.thing, ExplainOptions{Fields: tt.fields})
			if err != nil {
				t.Fatalf("Explain(%q): %v", tt.thing, err)
			}
			if len(es) != tt.lines {
				t.Fatalf("Explain(%q) returned %d explanations, want %d", tt.thing, len(es), tt.lines)
			}
			e := es[0]
			if e.Kind != tt.kind {
				t.Errorf("kind = %q, want %q", e.Kind, tt.kind)
			}
			if e.Sub == nil || e.Sub.Text != tt.sub {
				t.Errorf("substatus = %+v, want %s", e.Sub, tt.sub)
			}
			if tt.code != "" && (e.Code == nil || e.Code.Name != tt.code) {
				t.Errorf("code = %+v, want %s", e.Code, tt.code)
			}
			if len(e.Causes) == 0 || len(e.NextSteps) == 0 {
				t.Errorf("explanation has %d causes and %d next steps; every kind must give both", len(e.Causes), len(e.NextSteps))
			}
			var b bytes.Buffer
			if err := WriteExplanations(&b, es); err != nil {
				t.Fatal(err)
			}
			golden(t, "explain-"+tt.name+".txt", b.Bytes())
			golden(t, "explain-"+tt.name+".json", jsonOf(t, es))
		})
	}
}

// The catalogue is the only source of text: what explain prints for a
// sub-status is exactly the catalogue entry.
func TestExplainUsesCatalogue(t *testing.T) {
	es, err := Explain("403.13", ExplainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	entry := substatus.Must(substatus.CertRevoked)
	if es[0].Meaning != entry.Heading() || len(es[0].Causes) != len(entry.Causes) || es[0].Causes[0] != entry.Causes[0] {
		t.Errorf("explain 403.13 = %+v, want the catalogue entry %+v", es[0], entry)
	}
}

func TestExplainErrors(t *testing.T) {
	tests := []struct {
		name, thing string
		want        error
	}{
		{"empty", "  ", ErrUnknownThing},
		{"word", "banana", ErrUnknownThing},
		{"uncatalogued sub-status", "403.99", ErrNotCatalogued},
		{"status without a reason phrase", "599", ErrNotCatalogued},
		{"uncatalogued code", "0x80001234", ErrNotCatalogued},
		{"short log line", "2030-06-01 10:00:00 GET / 403", ErrLogLine},
		{"status not a number", "2030-06-01 10:00:00 127.0.0.1 GET / - 8443 - 10.1.2.3 - - xyz 16 0 3", ErrLogLine},
		{"directives only", "#Fields: date time\n#Software: x", ErrLogLine},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Explain(tt.thing, ExplainOptions{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Explain(%q) error = %v, want %v", tt.thing, err, tt.want)
			}
		})
	}
}

func TestDecodeW3C(t *testing.T) {
	for in, want := range map[string]string{
		"-":                 "",
		"Mozilla/5.0+(X11)": "Mozilla/5.0 (X11)",
		"a%0Ab":             "a\nb",
		"100%":              "100%",
		"%zz":               "%zz",
	} {
		if got := decodeW3C(in); got != want {
			t.Errorf("decodeW3C(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestExplainIISStatuses covers statuses certgate does not answer with but
// that IIS logs and probe print: explained by their IIS title, with the
// Win32 code named.
func TestExplainIISStatuses(t *testing.T) {
	for _, tc := range []struct{ thing, meaning, code string }{
		{"401.2", "HTTP Error 401.2 - Unauthorized: Logon failed due to server configuration", ""},
		{"403", "HTTP Error 403 - Forbidden", ""},
		{"421", "HTTP Error 421 - Misdirected Request", ""},
		{"404.7", "HTTP Error 404.7 - Not Found: File extension denied", ""},
		{"2030-06-01 10:00:00 127.0.0.1 GET / - 443 - 10.1.2.3 - - 401 2 5 3", "HTTP Error 401.2 - Unauthorized: Logon failed due to server configuration. Access is denied.", "ERROR_ACCESS_DENIED"},
		{"2030-06-01 10:00:00 127.0.0.1 GET / - 443 - 10.1.2.3 - - 403 7 5 3", "HTTP Error 403.7 - Forbidden: Client certificate required. No credentials are available in the security package: the client sent no certificate.", "SEC_E_NO_CREDENTIALS"},
	} {
		t.Run(tc.thing, func(t *testing.T) {
			es, err := Explain(tc.thing, ExplainOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if es[0].Meaning != tc.meaning {
				t.Errorf("meaning = %q, want %q", es[0].Meaning, tc.meaning)
			}
			if tc.code != "" && (es[0].Code == nil || es[0].Code.Name != tc.code) {
				t.Errorf("code = %+v, want %s", es[0].Code, tc.code)
			}
		})
	}
}

// TestExplainProfileRules: explain knows every RFC 5280 profile rule the
// verifier names in its warnings, with the rule and the fix from the
// catalogue.
func TestExplainProfileRules(t *testing.T) {
	for _, r := range substatus.ProfileRules() {
		t.Run(r.Name, func(t *testing.T) {
			es, err := Explain(r.Name, ExplainOptions{})
			if err != nil {
				t.Fatal(err)
			}
			e := es[0]
			if e.Kind != KindProfileRule || !strings.Contains(e.Meaning, r.Rule) || !strings.Contains(e.Meaning, r.Section) ||
				len(e.NextSteps) == 0 || e.NextSteps[0] != r.Fix || e.Code == nil || e.Code.Name != "CERT_E_MALFORMED" {
				t.Errorf("explain %s = %+v", r.Name, e)
			}
		})
	}
}
