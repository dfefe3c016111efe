package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLogsAnalyzeCommand(t *testing.T) {
	dir := t.TempDir()
	log := "#Fields: date time s-sitename c-ip cs-uri-stem sc-status sc-substatus sc-win32-status\n" +
		"2026-11-23 08:00:00 W3SVC1 10.0.0.1 /a 403 7 5\n" +
		"2026-11-23 09:00:00 W3SVC1 10.0.0.1 /a 403 13 2148081683\n" +
		"2026-11-23 10:00:00 W3SVC1 10.0.0.2 /b 200 0 0\n" +
		"broken line\n"
	if err := os.WriteFile(filepath.Join(dir, "u_ex261123.log"), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustCLI(t, "logs", "analyze", "--json", "--since", "2026-11-23 08:30", dir)
	var rep struct {
		Total     int64            `json:"total_lines"`
		Malformed int64            `json:"malformed_lines"`
		ByStatus  map[string]int64 `json:"by_status"`
		ByWin32   map[string]int64 `json:"by_status_win32"`
		BySite    map[string]int64 `json:"by_site"`
		ByHour    map[string]int64 `json:"by_hour"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Total != 4 || rep.Malformed != 1 || rep.ByStatus["403.13"] != 1 || rep.ByStatus["403.7"] != 0 ||
		rep.ByWin32["403.13 2148081683"] != 1 || rep.BySite["W3SVC1"] != 2 || rep.ByHour["2026-11-23 09:00"] != 1 {
		t.Errorf("report = %+v", rep)
	}
	page := filepath.Join(t.TempDir(), "report.html")
	text := mustCLI(t, "logs", "analyze", "--status", "403.7", "--html", page, filepath.Join(dir, "u_ex261123.log"))
	if b, err := os.ReadFile(page); err != nil || !strings.Contains(string(b), "<svg") {
		t.Errorf("--html: %v, report without a chart", err)
	}
	for _, want := range []string{"403.7  sc-win32-status 5 SEC_E_NO_CREDENTIALS: 1 requests", "certgate probe"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	for _, args := range [][]string{
		{"logs", "analyze", "--since", "yesterday", dir},
		{"logs", "analyze", filepath.Join(dir, "nope.log")},
		{"logs", "analyze", "--status", "forbidden", dir},
	} {
		if _, err := runCLI(t, args...); err == nil {
			t.Errorf("certgate %s succeeded", strings.Join(args, " "))
		}
	}
}
