package logs

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/accesslog"
	"github.com/certgate/certgate/internal/substatus"
)

// benchLog is where TestWriteBenchLog writes the benchmark input, so that
// awk can be timed on the same file (docs/benchmarks.md).
var benchLog = flag.String("benchlog", "", "write the 1M-line benchmark log to this file")

// dayOfTraffic renders n lines in certgate's access-log layout: mostly
// 200s, with the failure classes an mTLS site sees, over a day, from a few
// hundred clients and paths.
func dayOfTraffic(n int) []byte {
	outcomes := []struct {
		sub  substatus.Sub
		code substatus.Code
	}{
		{substatus.OK, substatus.NoError}, {substatus.OK, substatus.NoError}, {substatus.OK, substatus.NoError},
		{substatus.OK, substatus.NoError}, {substatus.OK, substatus.NoError}, {substatus.OK, substatus.NoError},
		{substatus.CertRequired, substatus.SecENoCredentials},
		{substatus.CertUntrusted, substatus.CertEUntrustedRoot},
		{substatus.CertRevoked, substatus.CryptERevocationOffline},
		{substatus.CertTimeInvalid, substatus.CertEExpired},
	}
	start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	buf := bytes.NewBufferString("#Software: certgate bench\n#Version: 1.0\n#Fields: " + accesslog.Fields + "\n")
	line := make([]byte, 0, 256)
	for i := range n {
		o := outcomes[i%len(outcomes)]
		e := accesslog.Entry{
			Time:       start.Add(time.Duration(i) * 24 * time.Hour / time.Duration(n)),
			ServerIP:   netip.MustParseAddr("10.0.0.1"),
			Method:     "GET",
			URIStem:    "/app/page" + string(rune('a'+i%26)),
			URIQuery:   "id=42",
			ServerPort: 443,
			ClientIP:   netip.AddrFrom4([4]byte{10, 1, byte(i % 7), byte(i % 251)}),
			UserAgent:  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0",
			Referer:    "https://intranet.example/",
			Win32:      o.code,
			TimeTaken:  15 * time.Millisecond,
		}
		if o.sub == substatus.OK {
			e.Username = "CORP\\user" + string(rune('a'+i%26))
		}
		e.SetSub(o.sub)
		line = accesslog.AppendLine(line[:0], &e)
		buf.Write(line)
	}
	return buf.Bytes()
}

// BenchmarkAnalyze measures uncompressed throughput on one core; the
// target is at least 500k lines/s (docs/benchmarks.md).
func BenchmarkAnalyze(b *testing.B) {
	const n = 200_000
	data := dayOfTraffic(n)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		a, err := NewAnalyzer(Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Read("bench.log", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		if r := a.Report(); r.MatchedLines != n {
			b.Fatalf("matched %d of %d", r.MatchedLines, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// TestWriteBenchLog writes the benchmark input for the awk comparison when
// -benchlog is given.
func TestWriteBenchLog(t *testing.T) {
	if *benchLog == "" {
		t.Skip("pass -benchlog FILE to write the benchmark log")
	}
	if err := os.WriteFile(*benchLog, dayOfTraffic(1_000_000), 0o644); err != nil {
		t.Fatal(err)
	}
}
