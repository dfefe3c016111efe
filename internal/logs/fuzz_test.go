package logs

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseLine feeds arbitrary bytes as a request line and as a #Fields
// directive: the parser must never panic and must either fail with one of
// its sentinels or return values that are sub-slices of the line.
func FuzzParseLine(f *testing.F) {
	f.Add("date time c-ip sc-status sc-substatus sc-win32-status", "2026-11-23 18:00:00 10.0.0.1 403 16 2148204809")
	f.Add("date time sc-status", "2026-11-23 18:00:00 200")
	f.Add("sc-status sc-substatus", "403 -")
	f.Add("time sc-status sc-win32-status", "25:99:99 403 4294967296")
	f.Add("", "")
	f.Add("sc-status sc-status", "200 404")
	f.Fuzz(func(t *testing.T, fields, line string) {
		l := NewLayout(strings.Fields(fields))
		var r Record
		b := []byte(line)
		if err := ParseLine(b, l, &r); err != nil {
			return
		}
		for _, v := range [][]byte{r.Date, r.Time, r.Site, r.Host, r.Client, r.Stem} {
			if v != nil && !bytes.Contains(b, v) {
				t.Fatalf("value %q is not part of the line %q", v, line)
			}
		}
		if r.Status < 0 || r.Sub < 0 {
			t.Fatalf("negative status %d.%d", r.Status, r.Sub)
		}
	})
}

// FuzzAnalyze reads arbitrary text as a log file: no panic, every request
// line counted once, malformed ones among them.
func FuzzAnalyze(f *testing.F) {
	f.Add(iisDay)
	f.Add("#Fields: date time sc-status\n2026-11-23 18:00:00 200\n#Date: 2026-11-23 00:00:00\n#Fields: time sc-status\n18:00:00 403\n")
	f.Add("\x1f\x8b\x08garbage")
	f.Fuzz(func(t *testing.T, text string) {
		a, _ := NewAnalyzer(Options{})
		_ = a.Read("fuzz.log", strings.NewReader(text))
		r := a.Report()
		if r.MalformedLines > r.TotalLines || r.MatchedLines+r.MalformedLines > r.TotalLines {
			t.Fatalf("total %d malformed %d matched %d", r.TotalLines, r.MalformedLines, r.MatchedLines)
		}
	})
}
