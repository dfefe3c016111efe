package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/demo"
)

// TestDemoCheck is `certgate demo --check`: every demo case over real TLS
// against the real gateway must get the answer the demo promises.
func TestDemoCheck(t *testing.T) {
	var out bytes.Buffer
	err := runDemo(context.Background(), &out, t.TempDir(), "127.0.0.1:0", true)
	t.Log(out.String())
	if err != nil {
		t.Fatalf("demo --check: %v", err)
	}
	for _, c := range demo.Cases() {
		if !strings.Contains(out.String(), c.Name) {
			t.Errorf("table lacks case %q", c.Name)
		}
	}
	if !strings.Contains(out.String(), "0 failed") {
		t.Error("summary does not report 0 failed")
	}
}

// TestDemoCheckTemporaryDir: without --dir, --check works in a temporary
// directory it removes on success, and then names no event-log path in it
// (it once printed a path it had just deleted).
func TestDemoCheckTemporaryDir(t *testing.T) {
	var out bytes.Buffer
	if err := runDemo(context.Background(), &out, "", "127.0.0.1:0", true); err != nil {
		t.Fatalf("demo --check: %v\n%s", err, out.String())
	}
	text := out.String()
	first, _, _ := strings.Cut(text, "\n")
	dir := strings.TrimPrefix(first, "certgate demo: PKI and config in ")
	if dir == first || dir == "" {
		t.Fatalf("first line %q names no directory", first)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temporary directory %s still exists after a passing --check (err %v)", dir, err)
	}
	if strings.Contains(text, "event log: "+dir) || !strings.Contains(text, "event log removed with the temporary directory") {
		t.Errorf("summary names an event log in the removed directory:\n%s", text)
	}
}
