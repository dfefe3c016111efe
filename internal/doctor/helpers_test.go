package doctor

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// Fixed times keep goldens stable: certificates are built with explicit
// validity windows and every command runs "at" a fixed instant.
var (
	t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at = time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
	// caValid and leafValid cover at.
	caValid   = pki.WithValidity(t0, t0.AddDate(10, 0, 0))
	leafValid = pki.WithValidity(t0, t0.AddDate(2, 0, 0))
)

var (
	sha256RE = regexp.MustCompile(`\b[0-9a-f]{64}\b`)
	portRE   = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)
	cipherRE = regexp.MustCompile(`TLS_[A-Z0-9_]+`)
)

// normalize removes what differs between runs: fingerprints of the
// certificates generated at test time, the temp directory, ports, and the
// cipher suite (Go prefers AES-GCM or ChaCha20 depending on the CPU).
func normalize(b []byte, dir string) []byte {
	s := string(b)
	if dir != "" {
		s = strings.ReplaceAll(s, dir, "$DIR")
	}
	s = sha256RE.ReplaceAllString(s, "<sha256>")
	s = portRE.ReplaceAllString(s, "127.0.0.1:PORT")
	s = cipherRE.ReplaceAllString(s, "<cipher>")
	return []byte(s)
}

// golden compares got with testdata/name.golden, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("update golden: %v", err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update if the change is intended)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// text renders a report with WriteText.
func text(t *testing.T, r interface{ WriteText(io.Writer) error }) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatalf("WriteText: %v", err)
	}
	return b.Bytes()
}

func jsonOf(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return append(b, '\n')
}
