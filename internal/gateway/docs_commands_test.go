package gateway

import (
	"context"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/logs"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// docCommands returns the command lines of the ```sh blocks of a doc, with
// comment lines and trailing comments removed.
func docCommands(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, block := range strings.Split(string(raw), "```sh\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		for _, line := range strings.Split(block, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if i := strings.Index(line, "  #"); i > 0 {
				line = strings.TrimSpace(line[:i])
			}
			out = append(out, line)
		}
	}
	return out
}

// TestOperationsDocCommands runs the log commands of docs/operations.md on
// what a real gateway wrote: the jq filter on its event log, the awk
// one-liner on its W3C log, `certgate logs analyze` on the log directory.
// A command the test does not know fails it, so that a new example is run
// too. Deployment commands (systemctl, install, goaccess, check) are run
// elsewhere or need a host, and are listed as such.
func TestOperationsDocCommands(t *testing.T) {
	for _, tool := range []string{"jq", "awk", "sort", "uniq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "" {
				t.Skipf("%s not installed", tool)
			}
			t.Fatalf("%s not installed", tool)
		}
	}
	p := newTestPKI(t)
	now := time.Now()
	expiredAlice := p.sub.Client(t, "alice", pki.WithValidity(now.Add(-48*time.Hour), now.Add(-time.Hour)))
	otherRoot := pkitest.NewRoot(t, "Other Root")
	o := startObserved(t, p, opsConfig("server", 16384))
	script := []request{
		{sni: "a.example.test", cert: p.alice},
		{sni: "a.example.test", cert: expiredAlice},
		{sni: "a.example.test"},
		{sni: "a.example.test", cert: otherRoot.Client(t, "stranger"), chain: []*x509.Certificate{otherRoot.Cert}},
	}
	for _, rq := range script {
		o.do(t, rq)
	}
	wait(o.requests, len(script))
	if err := o.svc.AccessLogs().For("a").Flush(); err != nil {
		t.Fatal(err)
	}
	logDir := filepath.Join(o.dir, "logs")
	eventLog := filepath.Join(t.TempDir(), "events.json")
	if err := os.WriteFile(eventLog, []byte(o.logs.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	deployment := []string{"systemctl ", "install ", "goaccess ", "certgate check "}
	ran := 0
	for _, cmd := range docCommands(t, "../../docs/operations.md") {
		t.Run(cmd, func(t *testing.T) {
			for _, d := range deployment {
				if strings.HasPrefix(cmd, d) {
					t.Skipf("deployment command (needs a host): %s", cmd)
				}
			}
			shell := strings.ReplaceAll(cmd, "/var/log/certgate/w3c", logDir)
			shell = strings.ReplaceAll(shell, "journalctl -u certgate -o cat", "cat "+eventLog)
			switch {
			case strings.HasPrefix(cmd, "certgate logs analyze "):
				rep, err := logs.AnalyzeFiles(strings.Fields(shell)[3:], logs.Options{})
				if err != nil || rep.MatchedLines != int64(len(script)) || rep.MalformedLines != 0 {
					t.Fatalf("%s: %v, report %+v", cmd, err, rep)
				}
			case strings.Contains(cmd, "| jq "), strings.HasPrefix(cmd, "awk "):
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				out, err := exec.CommandContext(ctx, "sh", "-c", shell).CombinedOutput()
				if err != nil || len(strings.TrimSpace(string(out))) == 0 {
					t.Fatalf("%s\n(run as: %s)\nexit: %v, output:\n%s", cmd, shell, err, out)
				}
				if strings.Contains(cmd, "client_cert_rejected") && (!strings.Contains(string(out), "client_cert_rejected") || !strings.Contains(string(out), "CN=alice")) {
					t.Errorf("%s found no rejection of alice:\n%s", cmd, out)
				}
				if strings.HasPrefix(cmd, "awk ") && (!strings.Contains(string(out), "403.17 2148204801") || !strings.Contains(string(out), "403.7 5")) {
					t.Errorf("%s does not count the sub-statuses:\n%s", cmd, out)
				}
			default:
				t.Fatalf("docs/operations.md command not covered by this test: %s", cmd)
			}
			ran++
		})
	}
	if ran < 3 {
		t.Errorf("ran %d commands from docs/operations.md, want the jq, awk and logs analyze examples", ran)
	}
}
