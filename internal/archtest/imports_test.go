package archtest

import (
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/certgate/certgate/"

// forbidden lists, per importing package (module-relative, exact), the
// packages it must not import; a banned entry ending in "/" covers every
// package under it. The
// reasons are in docs/architecture.md.
var forbidden = []struct {
	importer string
	banned   []string
	why      string
}{
	// The engines take their own option types: only internal/site (and the
	// gateway's wiring) read the YAML schema on their behalf.
	{"internal/verify", []string{"internal/config", "internal/site", "internal/gateway"}, "engine"},
	{"internal/revocation", []string{"internal/config", "internal/site", "internal/gateway", "internal/verify"}, "engine"},
	{"internal/mapping", []string{"internal/config", "internal/site", "internal/gateway"}, "engine"},
	{"internal/forward", []string{"internal/config", "internal/gateway"}, "engine"},
	{"internal/accesslog", []string{"internal/config", "internal/gateway"}, "engine"},
	{"internal/echo", []string{"internal/config", "internal/gateway", "internal/site"}, "the echo is an upstream, not a judge"},
	// Leaves every package may log or render with.
	{"internal/events", []string{"internal/verify", "internal/revocation", "internal/config", "internal/gateway", "internal/site"}, "leaf vocabulary"},
	{"internal/substatus", []string{"internal/"}, "leaf catalogue"},
	{"internal/dname", []string{"internal/"}, "leaf"},
	// The site build is runtime-free.
	{"internal/site", []string{"internal/gateway", "internal/doctor", "internal/accesslog", "internal/metrics"}, "runtime-free build"},
	// The doctor explains what the gateway does by running the same build,
	// never the gateway itself.
	{"internal/doctor", []string{"internal/gateway"}, "one engine"},
	{"internal/mapping/report", []string{"internal/gateway"}, "one engine"},
	{"internal/demo", []string{"internal/gateway"}, "only cmd/certgate imports the gateway"},
	// A translator writes config; it judges nothing, so it needs no site
	// build (its tests serve the output through the gateway).
	{"internal/importer", []string{"internal/gateway", "internal/site"}, "the importer writes config only"},
}

func TestImportRules(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	pkgs := map[string][]string{} // module-relative dir -> non-test imports
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bench") {
			return filepath.SkipDir
		}
		p, err := build.ImportDir(path, 0)
		if err != nil {
			return nil // no Go files
		}
		rel, _ := filepath.Rel(root, path)
		pkgs[filepath.ToSlash(rel)] = p.Imports
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 10 {
		t.Fatalf("found only %d packages under %s", len(pkgs), root)
	}
	for dir, imports := range pkgs {
		for _, imp := range imports {
			rel, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			// Only cmd/certgate imports the gateway.
			if rel == "internal/gateway" && dir != "cmd/certgate" {
				t.Errorf("%s imports internal/gateway: only cmd/certgate may (the doctor builds sites with internal/site)", dir)
			}
			for _, f := range forbidden {
				if dir != f.importer {
					continue
				}
				if slices.ContainsFunc(f.banned, func(b string) bool { return rel == b || strings.HasPrefix(rel, b) && strings.HasSuffix(b, "/") }) {
					t.Errorf("%s imports %s (%s; see docs/architecture.md)", dir, rel, f.why)
				}
			}
		}
	}
}
