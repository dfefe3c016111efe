package conformance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/substatus"
)

// TestProfileRulesDocumented: docs/conformance.md lists every RFC 5280
// profile rule of the catalogue by name, with its section.
func TestProfileRulesDocumented(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), filepath.FromSlash(docFile)))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, r := range substatus.ProfileRules() {
		row := "| `" + r.Name + "` | " + strings.TrimPrefix(r.Section, "RFC 5280 ") + " |"
		if !strings.Contains(doc, row) {
			t.Errorf("%s has no row for profile rule %s (%s)", docFile, r.Name, r.Section)
		}
	}
}
