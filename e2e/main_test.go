package e2e

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// workDir holds what the whole run shares: the binary and the PKI. Each
// test keeps its own configs, logs and browser profiles in t.TempDir().
var workDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	d, err := os.MkdirTemp("", "certgate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: create work dir:", err)
		return 2
	}
	workDir = d
	defer os.RemoveAll(d)
	return m.Run()
}

// inCI reports whether a missing client must fail the run instead of
// skipping it: CI installs every client (.ci/run), so a missing one there
// is a broken CI image, not a developer machine without Chromium.
func inCI() bool { return os.Getenv("CI") == "true" }

// needTools skips (outside CI) or fails (in CI) when a client binary is
// not on PATH.
func needTools(t *testing.T, names ...string) {
	t.Helper()
	var missing []string
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("client binaries not found on PATH: %s (install: apt-get install -y --no-install-recommends curl openssl chromium libnss3-tools)", strings.Join(missing, ", "))
	if inCI() {
		t.Fatal(msg + "; CI=true, so a missing client is a failure")
	}
	t.Skip(msg + "; skipping (set CI=true to make this a failure)")
}

var build struct {
	once sync.Once
	path string
	err  error
}

// certgateBin builds ./cmd/certgate once per run and returns its path.
func certgateBin(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		root, err := repoRoot()
		if err != nil {
			build.err = err
			return
		}
		out := filepath.Join(workDir, "certgate")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/certgate")
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("build ./cmd/certgate in %s: %w\n%s", root, err, b)
			return
		}
		build.path = out
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// repoRoot is the directory of the module's go.mod. `go env GOMOD` answers
// from the test's working directory (the package directory); walking up is
// the fallback when the go command is not usable that way.
func repoRoot() (string, error) {
	if b, err := exec.Command("go", "env", "GOMOD").Output(); err == nil {
		if gomod := strings.TrimSpace(string(b)); gomod != "" && gomod != os.DevNull {
			return filepath.Dir(gomod), nil
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repo root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repo root: no go.mod above the test directory")
		}
		dir = parent
	}
}

// p12Password protects every PKCS#12 file of the test PKI.
const p12Password = "test"

// listRoots is the number of extra roots used for the truncation test.
const listRoots = 10

// testPKI is the certificate set every test uses, made by `certgate pki`.
type testPKI struct {
	dir string
}

var pkiOnce struct {
	once sync.Once
	pki  *testPKI
	err  error
}

// sharedPKI creates the PKI once per run with the real CLI:
//
//	rootA            trusted by every site; issues the server certificate
//	  alice          valid client (KU digitalSignature, EKU clientAuth)
//	  expired        valid 2020-2021
//	  srvonly        EKU serverAuth only
//	  kuke           KU keyEncipherment only
//	rootB            never trusted
//	  mallory        valid-looking client under the untrusted root
//	list00..list09   roots only named in the truncated issuer list
func sharedPKI(t *testing.T) *testPKI {
	t.Helper()
	bin := certgateBin(t)
	pkiOnce.once.Do(func() {
		dir := filepath.Join(workDir, "pki")
		run := func(args ...string) error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			args = append(args, "--dir", dir)
			if b, err := exec.CommandContext(ctx, bin, append([]string{"pki"}, args...)...).CombinedOutput(); err != nil {
				return fmt.Errorf("certgate pki %s: %w\n%s", strings.Join(args, " "), err, b)
			}
			return nil
		}
		org := "certgate e2e"
		p12 := []string{"--p12", "--password", p12Password, "--p12-root"}
		cmds := [][]string{
			{"init", "--name", "rootA", "--cn", "e2e Root A", "--o", org},
			{"init", "--name", "rootB", "--cn", "e2e Root B", "--o", org},
			{"issue", "server", "--ca", "rootA", "--name", "server", "--host", "localhost", "--host", "127.0.0.1",
				"--host", hostMain, "--host", hostOrdered, "--host", hostNoSend, "--host", hostCTLB, "--host", hostTruncated},
			append([]string{"issue", "client", "--ca", "rootA", "--name", "alice", "--cn", "alice", "--o", org}, p12...),
			append([]string{"issue", "client", "--ca", "rootA", "--name", "expired", "--cn", "expired", "--o", org,
				"--not-before", "2020-01-01T00:00:00Z", "--not-after", "2021-01-01T00:00:00Z"}, p12...),
			append([]string{"issue", "client", "--ca", "rootA", "--name", "srvonly", "--cn", "serverAuth only", "--o", org, "--eku", "serverAuth"}, p12...),
			append([]string{"issue", "client", "--ca", "rootA", "--name", "kuke", "--cn", "keyEncipherment only", "--o", org, "--ku", "keyEncipherment"}, p12...),
			{"issue", "client", "--ca", "rootB", "--name", "mallory", "--cn", "mallory", "--o", org},
		}
		for i := range listRoots {
			cmds = append(cmds, []string{"init", "--name", listRoot(i), "--cn", fmt.Sprintf("e2e List Root %02d", i), "--o", org})
		}
		for _, c := range cmds {
			if err := run(c...); err != nil {
				pkiOnce.err = err
				return
			}
		}
		pkiOnce.pki = &testPKI{dir: dir}
	})
	if pkiOnce.err != nil {
		t.Fatal(pkiOnce.err)
	}
	return pkiOnce.pki
}

func listRoot(i int) string { return fmt.Sprintf("list%02d", i) }

// Files of a PKI entry, as `certgate pki` names them.
func (p *testPKI) cert(name string) string { return filepath.Join(p.dir, name+".pem") }
func (p *testPKI) key(name string) string  { return filepath.Join(p.dir, name+".key") }
func (p *testPKI) p12(name string) string  { return filepath.Join(p.dir, name+".p12") }

// parse reads the certificate of a PKI entry.
func (p *testPKI) parse(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(p.cert(name))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("read %s: no PEM block", p.cert(name))
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatalf("parse %s: %v", p.cert(name), err)
	}
	return c
}
