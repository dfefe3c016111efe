package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPFX: the server certificate as IIS admins hold it. openssl exports
// the gateway's certificate and key to a PFX and encrypts a copy of the key;
// `certgate serve` serves one site from each with password_file; curl
// connects to both, presenting alice's PKCS#12 file as its client
// certificate; `certgate verify` reads the same PKCS#12 file; and a wrong
// password makes `certgate check` fail naming the password file.
func TestPFX(t *testing.T) {
	t.Parallel()
	needTools(t, "openssl", "curl")
	p := sharedPKI(t)
	dir := t.TempDir()
	openssl := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	write := func(name, data string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	pfx := filepath.Join(dir, "server.pfx")
	encKey := filepath.Join(dir, "server-enc.key")
	pfxPass := write("pfx.pass", "Pfx pass 1\n")
	keyPass := write("key.pass", "key pass 2\r\n")
	openssl("pkcs12", "-export", "-in", p.cert("server"), "-inkey", p.key("server"), "-out", pfx, "-passout", "pass:Pfx pass 1")
	openssl("pkey", "-in", p.key("server"), "-aes256", "-out", encKey, "-passout", "pass:key pass 2")

	q := strconv.Quote
	g := startGateway(t,
		site{name: "main", host: hostMain, isDef: true, roots: []string{"rootA"},
			certificate: "{pfx: " + q(pfx) + ", password_file: " + q(pfxPass) + "}"},
		site{name: "ordered", host: hostOrdered, roots: []string{"rootA"},
			certificate: "{cert: " + q(p.cert("server")) + ", key: " + q(encKey) + ", password_file: " + q(keyPass) + "}"},
	)
	for _, host := range []string{hostMain, hostOrdered} {
		t.Run(host, func(t *testing.T) {
			r := curlGet(t, g, curlReq{host: host, path: "/", extra: []string{
				"--cert-type", "P12", "--cert", p.p12("alice") + ":" + p12Password}})
			if r.status != 200 {
				t.Fatalf("status %d with alice.p12, want 200:\n%s", r.status, r.body)
			}
			var e echoBody
			if err := json.Unmarshal(r.body, &e); err != nil {
				t.Fatal(err)
			}
			if !e.Client.Verified || e.Client.Subject == "" || !strings.Contains(e.Client.Subject, "alice") {
				t.Errorf("upstream saw client %+v, want alice verified", e.Client)
			}
		})
	}

	bin := certgateBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, errOut, err := runClient(ctx, nil, "", bin, "verify", p.p12("alice"), "--password", p12Password, "--roots", p.cert("rootA"), "--revocation", "off")
	if err != nil || !strings.HasPrefix(out, "200") {
		t.Errorf("certgate verify alice.p12: %v, first line %q\n%s", err, firstLine(out), errOut)
	}

	// A wrong password in password_file: check exits 2 and says which file.
	write("pfx.pass", "not the password\n")
	cfg := write("check.yaml", "listen: 127.0.0.1:0\nsites:\n  - name: main\n    hosts: [main.e2e.test]\n    certificate: {pfx: "+q(pfx)+", password_file: "+q(pfxPass)+"}\n    upstream: echo\n")
	_, errOut, err = runClient(ctx, nil, "", bin, "check", "-c", cfg)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(errOut, "wrong password") || !strings.Contains(errOut, pfxPass) {
		t.Errorf("check with a wrong password: %v\n%s", err, errOut)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
