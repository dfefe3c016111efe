package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestVersionStamped builds the binary the way `make build` does, with
// the version and commit stamped, and runs `certgate version`.
func TestVersionStamped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "certgate")
	build := exec.Command("go", "build", "-o", bin,
		"-ldflags", "-X main.version=v9.8.7 -X main.commit=0123456789abcdef", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var b buildInfo
	if err := json.Unmarshal(out, &b); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
	if b.Version != "v9.8.7" || b.Commit != "0123456789abcdef" || b.Go != runtime.Version() || b.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("version --json = %+v", b)
	}
	text, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(text), "certgate v9.8.7\ncommit 0123456789abcdef") {
		t.Errorf("version = %q, %v", text, err)
	}
	if v, _ := exec.Command(bin, "--version").Output(); !strings.Contains(string(v), "v9.8.7") {
		t.Errorf("--version = %q", v)
	}
	_ = os.Remove(bin)
}

func TestVersionUnstamped(t *testing.T) {
	code, out := exitCode(t, "version")
	if code != 0 || !strings.HasPrefix(out, "certgate ") || !strings.Contains(out, runtime.Version()) {
		t.Errorf("exit %d:\n%s", code, out)
	}
}
