package conformance

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/revocation"
)

// Recorded floors: the test fails when certgate does worse. Raise them when
// the engine improves; never lower them to make a change pass.
const (
	// pkitsPassFloor counts passing cases among all 249, skips excluded.
	pkitsPassFloor = 219
	// pkitsRevocationFloor counts passing cases of sections 4.4, 4.14 and
	// 4.15 (66 cases, none skipped).
	pkitsRevocationFloor = 54
)

// suiteFile is where CI puts the suite: ../shared beside the clone.
const suiteFile = "../shared/conformance/pkits.json"

// suitePath finds the suite relative to the repository root (the
// directory holding go.mod). CERTGATE_PKITS overrides it.
func suitePath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CERTGATE_PKITS"); p != "" {
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("find repository root: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, filepath.FromSlash(suiteFile))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("find repository root: no go.mod above %s", dir)
		}
		dir = parent
	}
}

// loadSuite loads the suite. A missing file skips the test locally and
// fails it in CI, where the file must be there.
func loadSuite(t *testing.T) *Suite {
	t.Helper()
	path := suitePath(t)
	s, err := Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and the conformance suite is missing: %v", err)
		}
		t.Skipf("conformance suite not found (set CERTGATE_PKITS or put it at %s): %v", suiteFile, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newChecker is the real revocation engine in cache-only mode, fed with the
// case's CRLs as local files: the setting PKITS describes (every CRL is
// given, nothing is fetched). An error is the engine refusing the CRLs
// at load, which a gateway would report at start-up.
func newChecker(t *testing.T, p *Parsed) (revocation.Checker, error) {
	t.Helper()
	dir := t.TempDir()
	for i, der := range p.CRLs {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d.crl", i)), der, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e, err := revocation.New(revocation.Options{
		Mode:      revocation.CacheOnly,
		LocalCRLs: []string{dir},
		Issuers:   append(slices.Clone(p.Intermediates), p.Roots...),
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// goVerdict is what crypto/x509 alone says about the case, the baseline
// certgate must beat: it checks no revocation, and rejects what its own
// parser refuses.
func goVerdict(c *Case, p *Parsed) bool {
	peer, err := x509.ParseCertificate(p.PeerDER)
	if err != nil {
		return false
	}
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	for _, r := range p.Roots {
		roots.AddCert(r)
	}
	for _, i := range p.Intermediates {
		inters.AddCert(i)
	}
	// crypto/x509 takes the initial policy set but none of the three flags.
	pol, err := c.PolicyOptions()
	if err != nil {
		return false
	}
	_, err = peer.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: c.ValidationTime,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, CertificatePolicies: pol.InitialPolicies})
	return err == nil
}

type tally struct{ pass, fail, skip, goPass int }

func TestPKITS(t *testing.T) {
	s := loadSuite(t)
	ctx := context.Background()

	sections := map[string]*tally{}
	names := map[string]string{}
	var order []string
	var total tally
	var falseAccepts []string
	ran := 0
	for _, c := range s.TestCases {
		sec := c.Section()
		if sections[sec] == nil {
			sections[sec] = &tally{}
			names[sec] = c.Group()
			order = append(order, sec)
		}
		name := c.ID[strings.LastIndex(c.ID, "::")+2:]
		if c.PKITS != nil {
			name = c.PKITS.TestNumber + "_" + name
		}
		t.Run(name, func(t *testing.T) {
			ran++
			p, err := c.Parse()
			if err != nil {
				t.Fatal(err)
			}
			tl := sections[sec]
			if why := c.SkipReason(p); why != "" {
				tl.skip++
				total.skip++
				t.Logf("SKIP %s: %s", c.ID, why)
				return
			}
			if goVerdict(c, p) == c.WantAccept() {
				tl.goPass++
				total.goPass++
			}
			checker, err := newChecker(t, p)
			if err != nil {
				tl.fail++
				total.fail++
				t.Logf("FAIL %s [%s]: the revocation engine refuses the case's CRLs: %v", c.ID, c.PKITS.TestNumber, err)
				return
			}
			r, err := Run(ctx, c, p, checker)
			if err != nil {
				t.Fatal(err)
			}
			o := r.Outcome
			why := Judge(c, r)
			if why == "" {
				tl.pass++
				total.pass++
				return
			}
			tl.fail++
			total.fail++
			t.Logf("FAIL %s [%s]: %s", c.ID, c.PKITS.TestNumber, why)
			if o.OK() {
				falseAccepts = append(falseAccepts, c.ID)
				// A certificate PKITS says must be rejected was accepted:
				// never acceptable, whatever the floor.
				t.Errorf("accepted a certificate PKITS requires to be rejected: %s", c.Description)
			}
		})
	}

	slices.SortFunc(order, compareSections)
	var b strings.Builder
	fmt.Fprintf(&b, "PKITS by section (certgate pass/fail/skip, crypto/x509 pass on the same cases):\n")
	rev := 0
	for _, sec := range order {
		tl := sections[sec]
		fmt.Fprintf(&b, "  %-5s %-42s %3d/%3d/%3d   go %3d\n", sec, names[sec], tl.pass, tl.fail, tl.skip, tl.goPass)
		if IsRevocationSection(sec) {
			rev += tl.pass
		}
	}
	fmt.Fprintf(&b, "  total %-42s %3d/%3d/%3d   go %3d   revocation %d/66   false accepts %d",
		"", total.pass, total.fail, total.skip, total.goPass, rev, len(falseAccepts))
	t.Log(b.String())

	if ran != len(s.TestCases) {
		t.Logf("ran %d of %d cases (-run filter): floors not checked", ran, len(s.TestCases))
		return
	}
	if total.pass < pkitsPassFloor {
		t.Errorf("PKITS: %d cases pass, below the recorded floor %d", total.pass, pkitsPassFloor)
	}
	if rev < pkitsRevocationFloor {
		t.Errorf("PKITS revocation sections: %d cases pass, below the recorded floor %d", rev, pkitsRevocationFloor)
	}
}

// compareSections orders "4.2" before "4.10".
func compareSections(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		var x, y int
		fmt.Sscan(pa[i], &x)
		fmt.Sscan(pb[i], &y)
		if x != y {
			return x - y
		}
	}
	return len(pa) - len(pb)
}
