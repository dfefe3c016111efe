package logs

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/accesslog"
	"github.com/certgate/certgate/internal/substatus"
)

func TestParseLine(t *testing.T) {
	l := NewLayout(strings.Fields("date time s-sitename cs-method cs-uri-stem c-ip cs-host sc-status sc-substatus sc-win32-status"))
	for _, tc := range []struct {
		name, line string
		want       Record
		err        error
	}{
		{name: "ok", line: "2026-11-23 18:00:01 W3SVC1 GET /a 10.0.0.1 www 403 16 2148204809",
			want: Record{Date: []byte("2026-11-23"), Time: []byte("18:00:01"), Site: []byte("W3SVC1"), Stem: []byte("/a"), Client: []byte("10.0.0.1"), Host: []byte("www"), Status: 403, Sub: 16, Win32: 2148204809}},
		{name: "dash substatus", line: "2026-11-23 18:00:01 W3SVC1 GET /a 10.0.0.1 - 200 - -",
			want: Record{Date: []byte("2026-11-23"), Time: []byte("18:00:01"), Site: []byte("W3SVC1"), Stem: []byte("/a"), Client: []byte("10.0.0.1"), Host: []byte("-"), Status: 200}},
		{name: "too few values", line: "2026-11-23 18:00:01 W3SVC1 GET /a 10.0.0.1 www 403 16", err: ErrFieldCount},
		{name: "too many values", line: "2026-11-23 18:00:01 W3SVC1 GET /a b 10.0.0.1 www 403 16 5", err: ErrFieldCount},
		{name: "status not a number", line: "2026-11-23 18:00:01 W3SVC1 GET /a 10.0.0.1 www 4x3 16 5", err: ErrBadStatus},
		{name: "win32 past 32 bits", line: "2026-11-23 18:00:01 W3SVC1 GET /a 10.0.0.1 www 403 16 9999999999", err: ErrBadStatus},
		{name: "bad date", line: "2026/11/23 18:00:01 W3SVC1 GET /a 10.0.0.1 www 403 16 5", err: ErrBadTime},
		{name: "bad time", line: "2026-11-23 18h00 W3SVC1 GET /a 10.0.0.1 www 403 16 5", err: ErrBadTime},
		{name: "empty", line: "", err: ErrFieldCount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Record
			err := ParseLine([]byte(tc.line), l, &r)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && !recordEqual(r, tc.want) {
				t.Errorf("record = %+v, want %+v", r, tc.want)
			}
		})
	}
	var r Record
	if err := ParseLine([]byte("a b"), NewLayout([]string{"date", "time"}), &r); !errors.Is(err, ErrNoStatus) {
		t.Errorf("layout without sc-status: err = %v", err)
	}
}

func recordEqual(a, b Record) bool {
	return string(a.Date) == string(b.Date) && string(a.Time) == string(b.Time) && string(a.Site) == string(b.Site) &&
		string(a.Host) == string(b.Host) && string(a.Client) == string(b.Client) && string(a.Stem) == string(b.Stem) &&
		a.Status == b.Status && a.Sub == b.Sub && a.Win32 == b.Win32
}

// iisDay is an IIS log as IIS writes it: CRLF, a header block, then a
// second block after an application pool restart that adds cs-host and
// moves fields, plus lines a broken shipper left behind.
const iisDay = "#Software: Microsoft Internet Information Services 10.0\r\n" +
	"#Version: 1.0\r\n" +
	"#Date: 2026-11-23 00:00:00\r\n" +
	"#Fields: date time s-sitename s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n" +
	"2026-11-23 08:00:01 W3SVC1 10.0.0.5 GET /app - 443 - 10.1.1.1 Mozilla/5.0 - 403 7 5 15\r\n" +
	"2026-11-23 08:00:02 W3SVC1 10.0.0.5 GET /app - 443 - 10.1.1.1 Mozilla/5.0 - 403 7 5 15\r\n" +
	"2026-11-23 08:10:00 W3SVC1 10.0.0.5 GET /app - 443 - 10.1.1.2 Mozilla/5.0 - 403 16 2148204809 3\r\n" +
	"2026-11-23 09:00:00 W3SVC1 10.0.0.5 GET /app - 443 CORP\\bob 10.1.1.3 Mozilla/5.0 - 200 0 0 30\r\n" +
	"2026-11-23 09:00:01 W3SVC1 10.0.0.5 GET /app\r\n" + // truncated by a crash
	"#Software: Microsoft Internet Information Services 10.0\r\n" +
	"#Version: 1.0\r\n" +
	"#Date: 2026-11-23 10:00:00\r\n" +
	"#Fields: date time s-sitename cs-host c-ip cs-method cs-uri-stem sc-status sc-substatus sc-win32-status\r\n" +
	"2026-11-23 10:00:00 W3SVC2 api.example 10.1.1.4 GET /v1 403 13 2148081683\r\n" +
	"2026-11-23 10:00:01 W3SVC2 api.example 10.1.1.4 GET /v1 403 13 2148081683\r\n" +
	"2026-11-23 10:30:00 W3SVC2 api.example 10.1.1.5 GET /v2 401 2 5\r\n" +
	"garbage\r\n"

func writeFile(t *testing.T, path string, data []byte, gz bool) {
	t.Helper()
	if gz {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(data)
		zw.Close()
		data = b.Bytes()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAnalyzeIISFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "W3SVC1", "u_ex261123.log"), []byte(iisDay), false)
	// The same day again, rotated and compressed with a name that hides it.
	writeFile(t, filepath.Join(dir, "W3SVC1", "u_ex261122.log.gz"), []byte(iisDay), true)
	writeFile(t, filepath.Join(dir, "W3SVC1", "readme.txt"), []byte("not a log"), false)

	rep, err := AnalyzeFiles([]string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Files) != 2 {
		t.Fatalf("files = %v, want the .log and the .log.gz", rep.Files)
	}
	if rep.TotalLines != 18 || rep.MalformedLines != 4 || rep.MatchedLines != 14 {
		t.Errorf("total %d malformed %d matched %d; want 18 4 14", rep.TotalLines, rep.MalformedLines, rep.MatchedLines)
	}
	want := map[string]int64{"403.7": 4, "403.16": 2, "200": 2, "403.13": 4, "401.2": 2}
	for k, n := range want {
		if rep.ByStatus[k] != n {
			t.Errorf("by_status[%s] = %d, want %d (all: %v)", k, rep.ByStatus[k], n, rep.ByStatus)
		}
	}
	if got := rep.ByStatusWin32["403.13 2148081683"]; got != 4 {
		t.Errorf("by_status_win32[403.13 2148081683] = %d", got)
	}
	if rep.BySite["W3SVC1"] != 8 || rep.BySite["W3SVC2"] != 6 {
		t.Errorf("by_site = %v", rep.BySite)
	}
	if rep.ByHost["api.example"] != 6 || len(rep.ByHost) != 1 {
		t.Errorf("by_host = %v (the first block has no cs-host)", rep.ByHost)
	}
	if rep.ByHour["2026-11-23 08:00"] != 6 || rep.ByHour["2026-11-23 10:00"] != 6 {
		t.Errorf("by_hour = %v", rep.ByHour)
	}
	// 403.7 logged as IIS logs it (5) reads as SEC_E_NO_CREDENTIALS, with
	// that code's causes from the catalogue.
	f := failure(t, rep, "403.7", "5")
	if f.Code != "SEC_E_NO_CREDENTIALS" || f.Count != 4 {
		t.Errorf("403.7 5: code %q count %d", f.Code, f.Count)
	}
	if d := substatus.SecENoCredentials.Details(); len(f.Causes) == 0 || f.Causes[0] != d.Causes[0] || f.NextSteps[0] != d.NextSteps[0] {
		t.Errorf("403.7 causes are not the catalogue's: %v", f.Causes)
	}
	if len(f.TopClients) != 1 || f.TopClients[0] != (KeyCount{"10.1.1.1", 4}) {
		t.Errorf("403.7 top clients = %v", f.TopClients)
	}
	if f := failure(t, rep, "401.2", "5"); f.Code != "ERROR_ACCESS_DENIED" {
		t.Errorf("401.2 5 code = %q, want the Win32 name", f.Code)
	}
	if rep.Failures[0].Count < rep.Failures[len(rep.Failures)-1].Count {
		t.Error("failures not sorted by count")
	}
	if len(rep.MalformedSamples) == 0 || !strings.Contains(rep.MalformedSamples[0].File, "u_ex261122.log.gz") || rep.MalformedSamples[0].Line != 9 {
		t.Errorf("malformed samples = %+v, want file and line of the truncated line", rep.MalformedSamples)
	}
}

func failure(t *testing.T, r *Report, status, win32 string) Failure {
	t.Helper()
	for _, f := range r.Failures {
		if f.Status == status && f.Win32 == win32 {
			return f
		}
	}
	t.Fatalf("no failure class %s %s in %+v", status, win32, r.Failures)
	return Failure{}
}

func TestAnalyzeFilters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "u_ex261123.log")
	writeFile(t, path, []byte(iisDay), false)
	at := func(s string) time.Time {
		v, err := time.Parse(time.DateTime, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name string
		opts Options
		want int64
	}{
		{"none", Options{}, 7},
		{"since", Options{Since: at("2026-11-23 09:00:00")}, 4},
		{"until is exclusive", Options{Until: at("2026-11-23 09:00:00")}, 3},
		{"window", Options{Since: at("2026-11-23 08:05:00"), Until: at("2026-11-23 10:00:01")}, 3},
		{"site", Options{Site: "w3svc2"}, 3},
		{"status", Options{Status: "403"}, 5},
		{"status.substatus", Options{Status: "403.13"}, 2},
		{"site and status", Options{Site: "W3SVC1", Status: "403.13"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := AnalyzeFiles([]string{path}, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if rep.MatchedLines != tc.want || rep.TotalLines != 9 {
				t.Errorf("matched %d of %d, want %d of 9", rep.MatchedLines, rep.TotalLines, tc.want)
			}
		})
	}
	for _, bad := range []Options{{Status: "forbidden"}, {Since: at("2026-11-24 00:00:00"), Until: at("2026-11-23 00:00:00")}} {
		if _, err := NewAnalyzer(bad); err == nil {
			t.Errorf("NewAnalyzer(%+v) accepted", bad)
		}
	}
	if _, err := AnalyzeFiles([]string{filepath.Join(t.TempDir(), "missing.log")}, Options{}); err == nil || !strings.Contains(err.Error(), "missing.log") {
		t.Errorf("missing file: err = %v, want it named", err)
	}
	if _, err := AnalyzeFiles([]string{t.TempDir()}, Options{}); err == nil {
		t.Error("empty directory accepted")
	}
}

// TestAnalyzeCertgateLog reads what certgate's own access-log writer wrote,
// with both the W3C value for 403.7 and the HRESULT older files carry.
func TestAnalyzeCertgateLog(t *testing.T) {
	dir := t.TempDir()
	w, err := accesslog.Open(accesslog.Options{Dir: dir, Version: "test", Rollover: accesslog.RolloverNone})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)
	for i, c := range []struct {
		sub  substatus.Sub
		code substatus.Code
	}{
		{substatus.CertRequired, substatus.SecENoCredentials},
		{substatus.CertRequired, substatus.SecENoCredentials},
		{substatus.CertUntrusted, substatus.CertEChaining},
		{substatus.OK, substatus.NoError},
	} {
		e := accesslog.Entry{Time: at.Add(time.Duration(i) * time.Minute), Method: "GET", URIStem: "/x y", ClientIP: netip.MustParseAddr("127.0.0.2"), Win32: c.code}
		e.SetSub(c.sub)
		w.Write(e)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// A line from a file written before sc-win32-status followed IIS.
	old := "2026-11-23 19:00:00 127.0.0.1 GET / - 8443 - 127.0.0.2 curl - 403 7 2148074254 1\n"
	writeFile(t, filepath.Join(dir, "old.log"), []byte(old), false)

	rep, err := AnalyzeFiles([]string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.MalformedLines != 0 || rep.ByStatus["403.7"] != 3 || rep.ByStatus["403.16"] != 1 || rep.ByStatus["200"] != 1 {
		t.Fatalf("report = %+v", rep)
	}
	if rep.ByStatusWin32["403.7 5"] != 2 || rep.ByStatusWin32["403.7 2148074254"] != 1 {
		t.Errorf("by_status_win32 = %v: the writer must log 403.7 as IIS does (5)", rep.ByStatusWin32)
	}
	for _, win32 := range []string{"5", "2148074254"} {
		if f := failure(t, rep, "403.7", win32); f.Code != "SEC_E_NO_CREDENTIALS" {
			t.Errorf("403.7 %s reads as %q, want SEC_E_NO_CREDENTIALS", win32, f.Code)
		}
	}
	if f := failure(t, rep, "403.16", "2148204810"); f.TopPaths[0].Key != "/x+y" {
		t.Errorf("paths = %v", f.TopPaths)
	}
}

func TestReportJSONKeys(t *testing.T) {
	a, _ := NewAnalyzer(Options{})
	if err := a.Read("day.log", strings.NewReader(iisDay)); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(a.Report())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"total_lines", "malformed_lines", "by_status", "by_status_win32", "by_site", "by_hour", "failures"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON has no %q key: %s", k, raw)
		}
	}
	var text bytes.Buffer
	if err := a.Report().WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Malformed lines:", "403.7  sc-win32-status 5 SEC_E_NO_CREDENTIALS: 2 requests", "certgate probe https://HOST/", "10.1.1.1"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
}

// TestAnalyzeHostileInput plays a client that writes what it likes into the
// logged fields, and a log that was cut or corrupted: nothing panics, every
// bad line is counted, memory stays bounded.
func TestAnalyzeHostileInput(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("#Fields: date time c-ip cs-uri-stem sc-status sc-substatus sc-win32-status\n")
	b.WriteString(strings.Repeat("A", MaxLineBytes+10) + "\n")         // one overlong line
	b.WriteString("2026-11-23 18:00:00 1.1.1.1 / 403 16 2148204809\n") // counted
	b.WriteString(strings.Repeat("x", 300<<10) + "\n")                 // longer than the read buffer
	b.WriteString("2026-11-23 18:00:00 1.1.1.1 / 403 16 -1\n")
	b.WriteString("#Fields:\n2026-11-23 18:00:00 1.1.1.1 / 403 16 0\n") // a layout without sc-status
	b.WriteString("#Fields: date time c-ip cs-uri-stem sc-status sc-substatus sc-win32-status\n")
	for i := range MaxKeys + 50 {
		b.WriteString("2026-11-23 18:00:00 10.0.")
		b.WriteString(strings.Repeat("9", i%7+1))
		b.WriteString(".1 /p")
		b.WriteString(strings.Repeat("z", i%13))
		b.WriteString(time.Duration(i).String())
		b.WriteString(" 403 16 2148204810\n")
	}
	b.WriteString("2026-11-23 18:00:00 1.1.1.1 / 403 16 2148204809") // no final newline
	a, _ := NewAnalyzer(Options{})
	if err := a.Read("hostile.log", &b); err != nil {
		t.Fatal(err)
	}
	r := a.Report()
	if r.MalformedLines != 4 || r.ByStatusWin32["403.16 2148204809"] != 2 {
		t.Errorf("malformed %d, 403.16 2148204809 = %d; want 4 and 2", r.MalformedLines, r.ByStatusWin32["403.16 2148204809"])
	}
	paths := a.classes[statusKey{403, 16, 2148204810}].paths
	if len(paths) > MaxKeys+1 || *paths[OtherKey] != 50 {
		t.Errorf("paths remembered %d, (other) %v; want at most MaxKeys+1 and 50 in (other)", len(paths), paths[OtherKey])
	}
}

func TestReadBrokenGzip(t *testing.T) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(iisDay))
	zw.Close()
	cut := b.Bytes()[:b.Len()/2]
	a, _ := NewAnalyzer(Options{})
	err := a.Read("cut.log.gz", bytes.NewReader(cut))
	if err == nil || !strings.Contains(err.Error(), "cut.log.gz") {
		t.Errorf("truncated gzip: err = %v, want an error naming the file", err)
	}
}

// TestReportHTML: one chart per failure class with a bar per hour of the
// report's range (gaps included), and logged values escaped: a path a
// client chose must not become markup in the admin's browser.
func TestReportHTML(t *testing.T) {
	a, _ := NewAnalyzer(Options{})
	hostile := "#Fields: date time c-ip cs-uri-stem sc-status sc-substatus sc-win32-status\n" +
		"2026-11-23 11:00:00 10.9.9.9 /<script>alert(1)</script> 403 16 2148204809\n"
	if err := a.Read("day.log", strings.NewReader(iisDay+hostile)); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := a.Report().WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	classes := len(a.Report().Failures)
	if got := strings.Count(page, "<svg"); got != classes {
		t.Errorf("%d charts for %d failure classes", got, classes)
	}
	// 08:00 to 11:00 is four hours, 09:00 without failures included.
	if got := strings.Count(page, "<rect"); got != 4*classes {
		t.Errorf("%d bars, want 4 hours x %d classes", got, classes)
	}
	if strings.Contains(page, "<script>") || !strings.Contains(page, "&lt;script&gt;") {
		t.Error("a logged path is not escaped in the HTML report")
	}
	if !strings.Contains(page, "2026-11-23 08:00: 2") {
		t.Error("bar titles do not give the hour and count")
	}
}
