package revocation

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
)

// memChildEnv makes the test binary run one CRL load and report, instead of
// testing: peak RSS (VmHWM) is per process, so each measurement needs a
// fresh process that has done nothing else (the parent generated the CRL).
const memChildEnv = "CERTGATE_CRL_MEM_CHILD"

type memResult struct {
	Impl       string  `json:"impl"`
	Entries    int     `json:"entries"`
	FileMB     float64 `json:"file_mb"`
	LoadMS     float64 `json:"load_ms"` // read + parse + signature + index
	PeakRSSMB  float64 `json:"peak_rss_mb"`
	BaselineMB float64 `json:"baseline_rss_mb"` // VmHWM before reading the file
	IndexMB    float64 `json:"index_mb"`
}

// TestCRLLoadMemory measures the wall time and peak RSS of loading a
// 1,000,000-entry CRL from a file (read, parse, signature check, index) in a
// child process, for this package and for x509.ParseRevocationList. It is
// gated on CERTGATE_BIG=1 because generating the CRL the first time takes
// several seconds (it is then cached in os.TempDir). The numbers go into
// docs/benchmarks.md.
func TestCRLLoadMemory(t *testing.T) {
	if impl := os.Getenv(memChildEnv); impl != "" {
		memChild(t, impl)
		return
	}
	if os.Getenv("CERTGATE_BIG") != "1" {
		t.Skip("set CERTGATE_BIG=1 to measure the 1M-entry CRL load (peak RSS)")
	}
	const n = 1_000_000
	benchCRL(t, n) // generate and cache before the children run
	for _, impl := range []string{"certgate", "stdlib"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCRLLoadMemory$", "-test.v")
		cmd.Env = append(os.Environ(), memChildEnv+"="+impl, "CERTGATE_CRL_MEM_N="+strconv.Itoa(n))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child %s: %v\n%s", impl, err, out)
		}
		var r memResult
		found := false
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			if js, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "RESULT "); ok {
				if err := json.Unmarshal([]byte(js), &r); err != nil {
					t.Fatalf("child %s: bad RESULT line %q: %v", impl, js, err)
				}
				found = true
			}
		}
		if !found {
			t.Fatalf("child %s printed no RESULT line:\n%s", impl, out)
		}
		t.Logf("%s: %d entries, %.1f MB file: load %.0f ms, peak RSS %.1f MB (baseline %.1f MB), index %.1f MB",
			r.Impl, r.Entries, r.FileMB, r.LoadMS, r.PeakRSSMB, r.BaselineMB, r.IndexMB)
		if r.Entries != n {
			t.Errorf("%s indexed %d entries, want %d", impl, r.Entries, n)
		}
		if impl == "certgate" && r.PeakRSSMB >= 200 {
			t.Errorf("peak RSS %.1f MB, want < 200 MB (issue 9)", r.PeakRSSMB)
		}
	}
}

func memChild(t *testing.T, impl string) {
	n, _ := strconv.Atoi(os.Getenv("CERTGATE_CRL_MEM_N"))
	dir := filepath.Join(os.TempDir(), "certgate-revocation-bench")
	crlPath := filepath.Join(dir, fmt.Sprintf("crl-%d.der", n))
	issuers, err := pki.ReadCertsPEM(filepath.Join(dir, fmt.Sprintf("crl-%d-issuer.pem", n)))
	if err != nil || len(issuers) == 0 {
		t.Fatalf("read issuer: %v", err)
	}
	issuer := issuers[0]
	runtime.GC()
	baseline := vmHWM(t)
	start := time.Now()
	der, err := os.ReadFile(crlPath)
	if err != nil {
		t.Fatal(err)
	}
	r := memResult{Impl: impl, FileMB: float64(len(der)) / 1e6}
	switch impl {
	case "certgate":
		c, err := ParseCRL(der, issuer)
		if err != nil {
			t.Fatal(err)
		}
		r.Entries, r.IndexMB = c.Len(), float64(c.IndexBytes())/1e6
		r.LoadMS = float64(time.Since(start).Microseconds()) / 1000
		runtime.KeepAlive(c)
	case "stdlib":
		rl, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		if err := rl.CheckSignatureFrom(issuer); err != nil {
			t.Fatal(err)
		}
		m := make(map[string]struct{}, len(rl.RevokedCertificateEntries))
		for _, e := range rl.RevokedCertificateEntries {
			m[string(e.SerialNumber.Bytes())] = struct{}{}
		}
		r.Entries = len(m)
		r.LoadMS = float64(time.Since(start).Microseconds()) / 1000
		runtime.KeepAlive(m)
	default:
		t.Fatalf("unknown impl %q", impl)
	}
	r.PeakRSSMB = vmHWM(t)
	r.BaselineMB = baseline
	js, _ := json.Marshal(r)
	fmt.Printf("RESULT %s\n", js)
}

// vmHWM is the process's peak resident set size in MB (/proc/self/status).
func vmHWM(t *testing.T) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return kb / 1024
			}
		}
	}
	t.Skip("no VmHWM in /proc/self/status")
	return 0
}
