package importer

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// nginxE2EConf is three servers as nginx's documentation writes them, one
// per ssl_verify_client mode; %[1]s is the directory of the PKI files,
// %[2]d the listen port, %[3]d the upstream's port.
const nginxE2EConf = `# written by TestNginxEndToEnd
events { worker_connections 64; }
http {
    access_log off;
    upstream app { server 127.0.0.1:%[3]d; }

    server {
        listen 127.0.0.1:%[2]d ssl;
        server_name optional.e2e.test;
        ssl_certificate     %[1]s/server.pem;
        ssl_certificate_key %[1]s/server.key;
        ssl_client_certificate %[1]s/client-ca.pem;
        ssl_verify_client optional;
        ssl_crl %[1]s/client-ca.crl;

        location / { proxy_pass http://app; }
        location /admin/ {
            if ($ssl_client_verify != SUCCESS) { return 403; }
            proxy_pass http://app;
        }
    }
    server {
        listen 127.0.0.1:%[2]d ssl;
        server_name noca.e2e.test;
        ssl_certificate     %[1]s/server.pem;
        ssl_certificate_key %[1]s/server.key;
        ssl_client_certificate %[1]s/client-ca.pem;
        ssl_verify_client optional_no_ca;
        location / { proxy_pass http://app; }
    }
    server {
        listen 127.0.0.1:%[2]d ssl;
        server_name on.e2e.test;
        ssl_certificate     %[1]s/server.pem;
        ssl_certificate_key %[1]s/server.key;
        ssl_client_certificate %[1]s/client-ca.pem;
        ssl_verify_client on;
        ssl_crl %[1]s/client-ca.crl;
        location / { proxy_pass http://app; }
    }
}
`

type nginxE2E struct {
	dir              string
	conf             string
	serverRoots      *x509.CertPool
	valid, revoked   *pki.Leaf
	untrusted        *pki.Leaf
	port, upstreamPt int
}

// nginxE2ECase is one request and what nginx and certgate answer.
type nginxE2ECase struct {
	name, host, path string
	client           func(e *nginxE2E) *pki.Leaf
	nginx            int    // nginx's status
	certgate         string // certgate's status and sub-status: "200", "403.7"
	verified         bool   // certgate: the certificate is the client's identity
}

var nginxE2ECases = []nginxE2ECase{
	{"optional, no certificate", "optional.e2e.test", "/", nil, 200, "200", false},
	{"optional, valid", "optional.e2e.test", "/", func(e *nginxE2E) *pki.Leaf { return e.valid }, 200, "200", true},
	{"optional, untrusted: nginx 400, certgate 403.16", "optional.e2e.test", "/", func(e *nginxE2E) *pki.Leaf { return e.untrusted }, 400, "403.16", false},
	{"optional, revoked by ssl_crl", "optional.e2e.test", "/", func(e *nginxE2E) *pki.Leaf { return e.revoked }, 400, "403.13", false},
	{"$ssl_client_verify check, no certificate", "optional.e2e.test", "/admin/x", nil, 403, "403.7", false},
	{"$ssl_client_verify check, valid", "optional.e2e.test", "/admin/x", func(e *nginxE2E) *pki.Leaf { return e.valid }, 200, "200", true},
	{"optional_no_ca, untrusted passes anonymously", "noca.e2e.test", "/", func(e *nginxE2E) *pki.Leaf { return e.untrusted }, 200, "200", false},
	{"optional_no_ca, valid", "noca.e2e.test", "/", func(e *nginxE2E) *pki.Leaf { return e.valid }, 200, "200", true},
	{"on, no certificate", "on.e2e.test", "/", nil, 400, "403.7", false},
	{"on, valid", "on.e2e.test", "/", func(e *nginxE2E) *pki.Leaf { return e.valid }, 200, "200", true},
	{"on, revoked", "on.e2e.test", "/", func(e *nginxE2E) *pki.Leaf { return e.revoked }, 400, "403.13", false},
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// setupNginxE2E writes the PKI and nginx.conf into a temporary directory.
func setupNginxE2E(t *testing.T, upstreamPort int) *nginxE2E {
	t.Helper()
	e := &nginxE2E{dir: t.TempDir(), port: freePort(t), upstreamPt: upstreamPort}
	root := pkitest.NewRoot(t, "E2E Client Root")
	e.valid = root.Client(t, "alice")
	e.revoked = root.Client(t, "mallory")
	e.untrusted = pkitest.NewRoot(t, "Other Root").Client(t, "alice")
	serverCA := pkitest.NewRoot(t, "E2E Server CA")
	e.serverRoots = serverCA.Pool()
	srv := serverCA.Server(t, "e2e", []string{"optional.e2e.test", "noca.e2e.test", "on.e2e.test"})
	pkitest.WriteLeaf(t, e.dir, "server", srv)
	pkitest.WriteCerts(t, e.dir, "client-ca.pem", root.Cert)
	pkitest.WriteFile(t, e.dir, "client-ca.crl", pemCRL(root.CRL(t, pki.CRLOptions{}, e.revoked.Cert)))
	e.conf = filepath.Join(e.dir, "nginx.conf")
	if err := os.WriteFile(e.conf, []byte(fmt.Sprintf(nginxE2EConf, e.dir, e.port, upstreamPort)), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// pemCRL encodes a CRL as PEM, the form ssl_crl reads.
func pemCRL(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

// TestNginxEndToEnd translates an nginx.conf with one server per
// ssl_verify_client mode, serves the result over real TLS with the same
// PKI files, and checks that certgate answers as nginx's semantics demand:
// optional refuses a certificate that fails verification (403.16 where
// nginx says 400), optional_no_ca lets it through anonymously, ssl_crl
// revokes (403.13), the $ssl_client_verify check requires a certificate
// (403.7). TestNginxSameDecisions runs the same file in real nginx.
func TestNginxEndToEnd(t *testing.T) {
	e := setupNginxE2E(t, 9) // the upstream is replaced by echo below
	res, err := Nginx(e.conf, NginxOptions{Output: filepath.Join(e.dir, "certgate.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := res.Config
	for i := range cfg.Sites {
		cfg.Sites[i].Upstream = "echo" // to see the identity certgate forwards
	}
	addr := serveImported(t, cfg)
	for _, tc := range nginxE2ECases {
		t.Run(tc.name, func(t *testing.T) {
			var client *pki.Leaf
			if tc.client != nil {
				client = tc.client(e)
			}
			a := get(t, addr, tc.host, tc.path, e.serverRoots, client)
			got := strconv.Itoa(a.status)
			if a.substatus != "" {
				got = a.substatus
			}
			if got != tc.certgate {
				t.Fatalf("%s%s: %s, want %s", tc.host, tc.path, got, tc.certgate)
			}
			if a.status == 200 && a.echo.Client.Verified != tc.verified {
				t.Errorf("verified identity %v, want %v", a.echo.Client.Verified, tc.verified)
			}
		})
	}
}

// TestNginxSameDecisions runs the nginx.conf of TestNginxEndToEnd in a real
// nginx, so that the expectations certgate is held to are nginx's own
// answers, not a reading of its documentation.
func TestNginxSameDecisions(t *testing.T) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("nginx not on PATH; CI installs it (.ci/run)")
		}
		t.Skip("nginx not on PATH (apt-get install nginx); skipping outside CI")
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("{}")) }))
	defer up.Close()
	e := setupNginxE2E(t, up.Listener.Addr().(*net.TCPAddr).Port)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-p", e.dir, "-c", e.conf, "-e", filepath.Join(e.dir, "error.log"),
		"-g", "daemon off; master_process off; pid "+filepath.Join(e.dir, "nginx.pid")+";")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(e.dir, "error.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s", out, log)
		}
	}()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(e.port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, tc := range nginxE2ECases {
		t.Run(tc.name, func(t *testing.T) {
			var client *pki.Leaf
			if tc.client != nil {
				client = tc.client(e)
			}
			if a := get(t, addr, tc.host, tc.path, e.serverRoots, client); a.status != tc.nginx {
				t.Fatalf("nginx answered %s%s with %d, want %d", tc.host, tc.path, a.status, tc.nginx)
			}
		})
	}
}
