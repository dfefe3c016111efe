package forward

import "testing"

func TestXFCCQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                  "plain",
		"CN=alice":               `"CN=alice"`,
		`CN=a\"b;c,d`:            `"CN=a\\\"b;c,d"`,
		"spiffe://corp/ns/alice": "spiffe://corp/ns/alice",
	} {
		if got := xfccQuote(in); got != want {
			t.Errorf("xfccQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
