package doctor

import (
	"testing"
)

// FuzzExplain: `certgate explain` reads whatever an operator pastes,
// W3C log lines written by clients included (User-Agent, path). It never
// panics, and either explains or says why not.
func FuzzExplain(f *testing.F) {
	for _, s := range []string{
		"403.16", "2148204809", "0x800B0109", "CERT_E_UNTRUSTEDROOT", "36885",
		"2026-11-23 18:00:00 127.0.0.1 GET /x - 8443 alice 127.0.0.1 curl/8 - 403 16 2148204809 15",
		"#Fields: date time cs-uri-stem sc-status sc-substatus sc-win32-status\n2026-11-23 18:00:00 /a+b%20 403 7 -2146893042",
		"#Fields: sc-status\n999999999999999999999", "#Fields:\n\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, thing string) {
		out, err := Explain(thing, ExplainOptions{})
		if err == nil && len(out) == 0 {
			t.Fatalf("Explain(%q): no explanation and no error", thing)
		}
	})
}
