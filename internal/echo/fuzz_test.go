package echo

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzEchoJSON: the hand-written encoder writes byte for byte what
// encoding/json writes, whatever the client put in the path, query, Host,
// header names and values (all client-controlled), and whatever a
// certificate's subject holds.
func FuzzEchoJSON(f *testing.F) {
	f.Add("/a/b", "x=1", "localhost", "User-Agent", "curl/8", "CN=alice", int64(0))
	f.Add("a\"b\\c\x00\x01\x1f\x7f", "<x>&", "h\u2028", "X-<Odd>", "bad\xff\xfe", "caf\u00e9 \U0001F600", int64(253402300799))
	f.Fuzz(func(t *testing.T, path, query, host, hk, hv, subject string, unix int64) {
		na := time.Unix(unix%253402300800, 0).UTC()
		r := Response{
			RequestID: "0123456789abcdef", Site: "s", Method: "GET", Path: path, Query: query, Host: host,
			Headers: map[string][]string{hk: {hv, path}, "Accept": {"*/*"}},
			TLS:     TLS{Version: "TLS 1.3", SNI: host, ALPN: query},
			Client: Client{Presented: true, Subject: subject, Issuer: hv, NotAfter: &na, Chain: []string{subject, hk},
				User: hv, Groups: []string{query}, Outcome: &Outcome{Substatus: "403.16", Reason: subject, Element: path}},
			Location: Location{Path: path, Policy: "require"},
		}
		want, err := json.MarshalIndent(r, "", "  ")
		got, ok := r.appendJSON(nil)
		if err != nil {
			if ok {
				t.Fatalf("appendJSON accepted what encoding/json refuses (%v)", err)
			}
			return
		}
		if !ok {
			t.Fatal("appendJSON refused a valid response")
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("appendJSON differs from json.MarshalIndent:\n--- want\n%s\n--- got\n%s", want, got)
		}
	})
}
