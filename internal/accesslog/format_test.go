package accesslog

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/substatus"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// at is the fixed time of every test entry.
var at = time.Date(2026, 11, 23, 18, 0, 1, 0, time.UTC)

func baseEntry() Entry {
	return Entry{
		Time:       at,
		ServerIP:   netip.MustParseAddr("127.0.0.1"),
		Method:     "GET",
		URIStem:    "/secure/report",
		URIQuery:   "year=2026&q=a+b",
		ServerPort: 8443,
		ClientIP:   netip.MustParseAddr("127.0.0.2"),
		UserAgent:  "Mozilla/5.0 (X11; Linux x86_64)",
		Referer:    "https://portal.example/",
		TimeTaken:  12*time.Millisecond + 700*time.Microsecond,
	}
}

// outcomes is one entry per sub-status the gateway answers for a client
// certificate, with the code the verifier reports for it.
var outcomes = []struct {
	name string
	user string
	sub  substatus.Sub
	code substatus.Code
}{
	{"200 mapped user", "EXAMPLE\\alice smith", substatus.OK, substatus.NoError},
	{"403.7 no certificate", "", substatus.CertRequired, substatus.SecENoCredentials},
	{"403.12 mapper denied", "", substatus.MapperDenied, substatus.SecELogonDenied},
	{"403.13 revoked", "", substatus.CertRevoked, substatus.CryptERevoked},
	{"403.13 revocation offline", "", substatus.CertRevoked, substatus.CryptERevocationOffline},
	{"403.16 untrusted root", "", substatus.CertUntrusted, substatus.CertEUntrustedRoot},
	{"403.16 chaining", "", substatus.CertUntrusted, substatus.CertEChaining},
	{"403.17 expired", "", substatus.CertTimeInvalid, substatus.CertEExpired},
}

func outcomeEntry(i int) Entry {
	o := outcomes[i]
	e := baseEntry()
	e.Time = at.Add(time.Duration(i) * time.Second)
	e.Username = o.user
	e.SetSub(o.sub)
	e.Win32 = o.code
	return e
}

// fieldNames splits the #Fields directive so tests can index columns by name.
func fieldIndex(t *testing.T, name string) int {
	t.Helper()
	for i, f := range strings.Fields(Fields) {
		if f == name {
			return i
		}
	}
	t.Fatalf("field %q not in %q", name, Fields)
	return -1
}

func TestAppendLineOutcomes(t *testing.T) {
	var all []byte
	for i, o := range outcomes {
		t.Run(o.name, func(t *testing.T) {
			e := outcomeEntry(i)
			line := string(AppendLine(nil, &e))
			all = append(all, line...)
			if !strings.HasSuffix(line, "\n") || strings.Count(line, "\n") != 1 {
				t.Fatalf("line %q: want exactly one trailing newline", line)
			}
			cols := strings.Fields(line)
			if len(cols) != len(strings.Fields(Fields)) {
				t.Fatalf("line %q has %d fields, #Fields names %d", line, len(cols), len(strings.Fields(Fields)))
			}
			want := map[string]string{
				"sc-status":       itoa(o.sub.Status),
				"sc-substatus":    itoa(o.sub.Sub),
				"sc-win32-status": o.code.W3C().Decimal(),
				"time-taken":      "12",
				"date":            "2026-11-23",
				"s-port":          "8443",
			}
			if o.user == "" {
				want["cs-username"] = "-"
			} else {
				want["cs-username"] = strings.ReplaceAll(o.user, " ", "+")
			}
			// IIS logs a missing client certificate as "403 7 5".
			if o.sub == substatus.CertRequired && want["sc-win32-status"] != "5" {
				t.Errorf("403.7 is logged with sc-win32-status %s; IIS writes 5", want["sc-win32-status"])
			}
			for f, v := range want {
				if got := cols[fieldIndex(t, f)]; got != v {
					t.Errorf("%s = %q, want %q (line %q)", f, got, v, line)
				}
			}
		})
	}
	golden(t, "outcomes.log", all)
}

// TestUntrustedRootDecimal pins the example every IIS admin searches for.
func TestUntrustedRootDecimal(t *testing.T) {
	e := baseEntry()
	e.SetSub(substatus.CertUntrusted)
	e.Win32 = substatus.CertEUntrustedRoot
	line := string(AppendLine(nil, &e))
	if !strings.Contains(line, " 403 16 2148204809 12\n") {
		t.Fatalf("line %q: want sc-status 403, sc-substatus 16, sc-win32-status 2148204809, time-taken 12", line)
	}
}

func TestAppendFieldEncoding(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty is dash", "", "-"},
		{"plain", "/index.html", "/index.html"},
		{"spaces as plus", "Mozilla/5.0 (X11; Linux)", "Mozilla/5.0+(X11;+Linux)"},
		{"newline escaped", "evil\r\n2026-01-01 00:00:00 forged", "evil%0D%0A2026-01-01+00:00:00+forged"},
		{"tab escaped", "a\tb", "a%09b"},
		{"nul and del", "a\x00b\x7f", "a%00b%7F"},
		{"utf8 kept", "/données/日本", "/données/日本"},
		{"invalid utf8 escaped", "a\xffb\xc3", "a%FFb%C3"},
		{"c1 control escaped", "a\u0085b", "a%C2%85b"},
		{"line separator escaped", "a\u2028b", "a%E2%80%A8b"},
		{"dash kept", "-", "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(appendField(nil, tt.in)); got != tt.want {
				t.Errorf("appendField(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestAppendLineEmptyAndAddresses(t *testing.T) {
	tests := []struct {
		name string
		e    Entry
		want string
	}{
		{
			name: "zero entry fields are dashes",
			e:    Entry{Time: at, Method: "GET", URIStem: "/", Status: 200},
			want: "2026-11-23 18:00:01 - GET / - - - - - - 200 0 0 0\n",
		},
		{
			name: "ipv4-mapped ipv6 logged as ipv4",
			e: Entry{Time: at, Method: "GET", URIStem: "/", ServerPort: 443, Status: 200,
				ServerIP: netip.MustParseAddr("::ffff:10.0.0.1"), ClientIP: netip.MustParseAddr("::ffff:10.0.0.2")},
			want: "2026-11-23 18:00:01 10.0.0.1 GET / - 443 - 10.0.0.2 - - 200 0 0 0\n",
		},
		{
			name: "ipv6",
			e: Entry{Time: at, Method: "GET", URIStem: "/", ServerPort: 443, Status: 200,
				ServerIP: netip.MustParseAddr("::1"), ClientIP: netip.MustParseAddr("2001:db8::7")},
			want: "2026-11-23 18:00:01 ::1 GET / - 443 - 2001:db8::7 - - 200 0 0 0\n",
		},
		{
			name: "local time converted to utc",
			e: Entry{Time: time.Date(2026, 11, 24, 1, 2, 3, 0, time.FixedZone("CET", 3600)), Method: "GET", URIStem: "/", Status: 200,
				TimeTaken: 1500 * time.Millisecond},
			want: "2026-11-24 00:02:03 - GET / - - - - - - 200 0 0 1500\n",
		},
		{
			name: "negative duration clamps to zero",
			e:    Entry{Time: at, Method: "GET", URIStem: "/", Status: 200, TimeTaken: -time.Second},
			want: "2026-11-23 18:00:01 - GET / - - - - - - 200 0 0 0\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendLine(nil, &tt.e)); got != tt.want {
				t.Errorf("AppendLine =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestHeader(t *testing.T) {
	got := string(appendHeader(nil, "1.2.0", time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC), nil))
	want := "#Software: certgate 1.2.0\n#Version: 1.0\n#Date: 2026-11-23 18:00:00\n#Fields: " +
		"date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n"
	if got != want {
		t.Errorf("header =\n%s\nwant\n%s", got, want)
	}
}

func TestAppendLineDoesNotAllocate(t *testing.T) {
	e := outcomeEntry(5)
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		buf = AppendLine(buf[:0], &e)
	})
	if allocs != 0 {
		t.Errorf("AppendLine allocates %v times per line, want 0", allocs)
	}
}

func BenchmarkFormatLine(b *testing.B) {
	e := outcomeEntry(5)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendLine(buf[:0], &e)
	}
	b.SetBytes(int64(len(buf)))
}

func itoa(v int) string { return string(appendPad(nil, v, 1)) }

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file: %v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from output (run go test -update after checking):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
