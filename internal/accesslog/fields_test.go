package accesslog

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestJSONLinesHostileValues: whatever a client puts in its User-Agent,
// Referer or certificate subject, a JSON line is one valid JSON object on
// one line, with the value intact (invalid UTF-8 as U+FFFD).
func TestJSONLinesHostileValues(t *testing.T) {
	all, err := ParseFields(FieldNames())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{
		"plain", `quote " and \ backslash`, "line\r\nbreak", "tab\tand\x00nul\x7f", "\xff\xfe broken",
		"sep\u2028arator\u2029", "c1\u0085control", "Zoë 日本語", "</script>",
	} {
		e := Entry{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), UserAgent: v, Referer: v, CertSubject: v, Username: v, Status: 200, BytesSent: 5, BytesReceived: -1}
		line := AppendJSON(nil, all, &e)
		if strings.Count(string(line), "\n") != 1 || !strings.HasSuffix(string(line), "}\n") || strings.ContainsAny(string(line[:len(line)-1]), "\r\u2028\u2029\u0085") {
			t.Errorf("%q: not one line: %q", v, line)
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("%q: invalid JSON %q: %v", v, line, err)
		}
		want := string([]rune(v)) // one U+FFFD per invalid byte
		if m["cs(User-Agent)"] != want || m["x-cert-subject"] != want || m["date"] != "2026-01-02" || m["time"] != "03:04:05" || m["sc-status"] != float64(200) {
			t.Errorf("%q: decoded %v", v, m)
		}
		if _, ok := m["cs-bytes"]; ok {
			t.Errorf("%q: unknown cs-bytes written: %v", v, m)
		}
	}
	if _, err := ParseFields([]string{"date", "cs-nope"}); err == nil || !strings.Contains(err.Error(), "known: date time") {
		t.Errorf("unknown field: %v", err)
	}
	if _, err := ParseFields([]string{"date", "DATE"}); err == nil {
		t.Error("a repeated field was accepted")
	}
}
