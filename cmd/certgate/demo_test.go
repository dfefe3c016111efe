package main

import (
	"bytes"
	"context"
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
