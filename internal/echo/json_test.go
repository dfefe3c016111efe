package echo

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// TestEchoJSONMatchesEncodingJSON: the hand-written echo encoder writes
// exactly what json.MarshalIndent(resp, "", "  ") writes, for every
// omitempty combination and for strings that need escaping.
func TestEchoJSONMatchesEncodingJSON(t *testing.T) {
	notAfter := time.Date(2027, 1, 2, 3, 4, 5, 600, time.UTC)
	nasty := "a\"b\\c\x00\x01\x1f\x7f\b\f\n\r\t<tag>&amp; \u2028\u2029 caf\u00e9 \U0001F600 bad\xff\xfe end"
	full := Response{
		RequestID: "0123456789abcdef", Site: "bench", Method: "GET", Path: "/a/b", Query: "x=1&y=<2>", Host: "localhost:8443",
		Headers: map[string][]string{"User-Agent": {"curl/8"}, "Accept": {"*/*", "text/html"}, "X-Empty": {}, "X-Nil": nil, "X-<Odd>": {nasty}},
		TLS:     TLS{Version: "TLS 1.3", Cipher: "TLS_AES_128_GCM_SHA256", SNI: "localhost", ALPN: "h2", Resumed: true},
		Client: Client{Presented: true, Verified: true, Subject: "CN=alice,O=Example", Issuer: "CN=Issuing CA", Serial: "01AB",
			SHA256: "ff00", NotAfter: &notAfter, Chain: []string{"CN=alice", "CN=Issuing CA", "CN=Root"}, User: "alice", Groups: []string{"staff", "admins"},
			Outcome: &Outcome{Substatus: "403.16", Code: 2148204809, CodeName: "CERT_E_UNTRUSTEDROOT", CodeHex: "0x800B0109", Element: `root "CN=X"`, Reason: nasty}},
		Location: Location{Path: "/", Policy: "require"},
	}
	cases := map[string]func(r *Response){
		"everything set":        func(*Response) {},
		"zero value":            func(r *Response) { *r = Response{} },
		"nil headers":           func(r *Response) { r.Headers = nil },
		"empty headers":         func(r *Response) { r.Headers = map[string][]string{} },
		"no alpn":               func(r *Response) { r.TLS.ALPN = "" },
		"anonymous":             func(r *Response) { r.Client = Client{} },
		"no outcome":            func(r *Response) { r.Client.Outcome = nil },
		"outcome no element":    func(r *Response) { r.Client.Outcome.Element = "" },
		"no user, empty groups": func(r *Response) { r.Client.User, r.Client.Groups = "", []string{} },
		"empty chain":           func(r *Response) { r.Client.Chain = []string{} },
		"no not_after":          func(r *Response) { r.Client.NotAfter = nil },
		"nasty strings": func(r *Response) {
			r.Path, r.Host, r.Client.Subject, r.Client.User, r.Location.Path = nasty, nasty, nasty, nasty, nasty
		},
		"not_after with offset and no fraction": func(r *Response) {
			na := time.Date(2030, 5, 6, 7, 8, 9, 0, time.FixedZone("", 3600))
			r.Client.NotAfter = &na
		},
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			r := full
			c := *full.Client.Outcome
			r.Client.Outcome = &c
			mod(&r)
			want, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got, ok := r.appendJSON(nil)
			if !ok {
				t.Fatal("appendJSON refused a valid response")
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("appendJSON differs from json.MarshalIndent:\n--- want\n%s\n--- got\n%s", want, got)
			}
		})
	}
	t.Run("year out of range is refused like encoding/json", func(t *testing.T) {
		r := full
		na := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		r.Client.NotAfter = &na
		if _, err := json.MarshalIndent(r, "", "  "); err == nil {
			t.Fatal("encoding/json accepted year 10000; the fallback rule is out of date")
		}
		if _, ok := r.appendJSON(nil); ok {
			t.Fatal("appendJSON accepted year 10000")
		}
	})
}

// BenchmarkEchoJSON: encoding a typical echo response (the bench client on
// a require location), hand-written vs encoding/json.
func BenchmarkEchoJSON(b *testing.B) {
	na := time.Date(2026, 12, 23, 17, 56, 3, 0, time.UTC)
	r := Response{
		RequestID: "b5140d2308a21003", Site: "bench", Method: "GET", Path: "/", Host: "localhost",
		Headers: map[string][]string{"User-Agent": {"bench-loadgen"}},
		TLS:     TLS{Version: "TLS 1.3", Cipher: "TLS_AES_128_GCM_SHA256", SNI: "localhost", ALPN: "http/1.1"},
		Client: Client{Presented: true, Verified: true, Subject: "CN=bench-client,O=bench clients", Issuer: "CN=bench test intermediate CA,O=bench",
			Serial: "488620523DB65816F3CFC88BF20B3D03", SHA256: "10e9a35ea99853b5d4a0a740ecd85b5ad4313db8d507cecef5db68d96799f75b", NotAfter: &na,
			Chain: []string{"CN=bench-client,O=bench clients", "CN=bench test intermediate CA,O=bench", "CN=bench test root CA,O=bench"},
			User:  "bench-client", Groups: []string{"bench"}},
		Location: Location{Path: "/", Policy: "require"},
	}
	b.Run("appendJSON", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			buf, _ = r.appendJSON(buf[:0])
		}
	})
	b.Run("MarshalIndent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.MarshalIndent(r, "", "  "); err != nil {
				b.Fatal(err)
			}
		}
	})
}
