package accesslog

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestGoAccessParsesEveryLine feeds the files the Writer produced (two days,
// a restart, hostile field values) to GoAccess, an independent W3C parser
// that reads the #Fields directive, and requires it to accept every line:
// in the default layout and with every configurable field, the client
// certificate ones included.
//
// GoAccess's predefined W3C format is IIS's default layout by position (it
// does not read #Fields), so certgate's default layout, and any layout that
// starts with it and adds fields after it, parses with --log-format=W3C;
// another order needs a --log-format built from the fields
// (goAccessFormat, documented in docs/operations.md).
func TestGoAccessParsesEveryLine(t *testing.T) {
	extended := append([]Field(nil), DefaultFields...)
	for f := Field(1); f < numFields; f++ {
		if !slices.Contains(extended, f) {
			extended = append(extended, f)
		}
	}
	reordered := append([]Field(nil), extended...)
	slices.Reverse(reordered)
	for _, layout := range []struct {
		name   string
		fields []Field
		format string
	}{
		{"default layout", nil, "W3C"},
		{"default layout then every other field", extended, "W3C"},
		{"every field, another order", reordered, goAccessFormat(reordered)},
	} {
		t.Run(layout.name, func(t *testing.T) { goAccessParses(t, layout.fields, layout.format) })
	}
}

// goAccessFormat is the GoAccess --log-format for a field list: the
// fields GoAccess knows get their specifier, the others %^ (skip).
func goAccessFormat(fields []Field) string {
	spec := map[Field]string{FieldDate: "%d", FieldTime: "%t", FieldClientIP: "%h", FieldMethod: "%m", FieldURIStem: "%U",
		FieldURIQuery: "%q", FieldStatus: "%s", FieldTimeTaken: "%L", FieldUserAgent: "%u", FieldReferer: "%R",
		FieldHost: "%v", FieldBytesSent: "%b", FieldVersion: "%H"}
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = "%^"
		if s, ok := spec[f]; ok {
			out[i] = s
		}
	}
	return strings.Join(out, " ")
}

func goAccessParses(t *testing.T, fields []Field, format string) {
	bin, err := exec.LookPath("goaccess")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("goaccess is not installed; CI must install it (apt-get install -y goaccess)")
		}
		t.Skip("goaccess not installed (apt-get install goaccess); required when CI=true")
	}

	dir := t.TempDir()
	clk := newClock(time.Date(2026, 11, 23, 23, 59, 0, 0, time.UTC))
	hostile := []Entry{
		{UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36", Referer: "https://portal.example/a b?c=d"},
		{UserAgent: "evil\r\n2026-11-23 00:00:00 1.2.3.4 GET /forged", URIStem: "/a\tb"},
		{UserAgent: "\xff\xfe broken utf8", Username: "CN=Zoë Ünicode,O=Example"},
		{URIStem: "/données/日本 語", URIQuery: "q=%20x&y=1"},
		{UserAgent: "", Referer: "", Username: ""},
	}
	const perRun = 3
	var want, want403 int
	for run := 0; run < 2; run++ { // the second run is a restart: new header block
		w := openTest(t, Options{Dir: dir, Now: clk.Now, Fields: fields})
		for i := 0; i < perRun; i++ {
			for j, o := range outcomes {
				e := outcomeEntry(j)
				e.Time = time.Time{} // take the clock, which crosses midnight below
				e.SiteName, e.Version, e.Host, e.BytesSent, e.BytesReceived = "portal", "HTTP/2.0", "portal.example", 1234, -1
				e.CertSubject, e.CertIssuer, e.CertSerial = "CN=Zoë Ünicode,O=Example Corp", "CN=Issuing CA 1,O=Example", "1F2E3D"
				e.CertSHA256, e.CertResult = strings.Repeat("ab", 32), "403.16 CERT_E_UNTRUSTEDROOT"
				if j < len(hostile) {
					h := hostile[j]
					e.UserAgent, e.Referer = h.UserAgent, h.Referer
					if h.URIStem != "" {
						e.URIStem = h.URIStem
					}
					if h.URIQuery != "" {
						e.URIQuery = h.URIQuery
					}
					if h.Username != "" {
						e.Username = h.Username
					}
				}
				w.Write(e)
				want++
				if o.sub.Status == 403 {
					want403++
				}
				clk.Set(clk.Now().Add(7 * time.Second))
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	files := readLogs(t, dir)
	if len(files) != 2 {
		t.Fatalf("want the run to cross midnight into two files, got %d", len(files))
	}
	if got := totalLines(files); got != want {
		t.Fatalf("wrote %d lines, want %d", got, want)
	}

	out := filepath.Join(t.TempDir(), "report.json")
	invalid := filepath.Join(t.TempDir(), "invalid.log")
	args := []string{"--log-format=" + format, "--date-format=%Y-%m-%d", "--time-format=%T", "--no-global-config", "--no-progress",
		"--invalid-requests=" + invalid, "-o", out}
	for _, f := range files {
		args = append(args, filepath.Join(dir, f.name))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if msg, err := exec.CommandContext(ctx, bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("goaccess %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		General struct {
			Total  int `json:"total_requests"`
			Valid  int `json:"valid_requests"`
			Failed int `json:"failed_requests"`
		} `json:"general"`
		StatusCodes struct {
			Data []struct {
				Data string `json:"data"`
				Hits struct {
					Count int `json:"count"`
				} `json:"hits"`
			} `json:"data"`
		} `json:"status_codes"`
	}
	if err := json.Unmarshal(raw, &report); err != nil {
		t.Fatalf("parse goaccess JSON: %v", err)
	}
	g := report.General
	if g.Total != want || g.Valid != want || g.Failed != 0 {
		bad, _ := os.ReadFile(invalid)
		t.Errorf("goaccess: total %d, valid %d, failed %d; want %d, %d, 0. Rejected lines:\n%s", g.Total, g.Valid, g.Failed, want, want, bad)
	}
	// The status column was read as the status, not some other column.
	got4xx := 0
	for _, d := range report.StatusCodes.Data {
		if strings.HasPrefix(d.Data, "4xx") {
			got4xx = d.Hits.Count
		}
	}
	if got4xx != want403 {
		t.Errorf("goaccess counted %d 4xx requests, want %d", got4xx, want403)
	}
}
