package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SNI names of the sites. A connection to 127.0.0.1 sends no SNI (RFC 6066
// forbids IP literals) and lands on the default site, main.
const (
	hostMain      = "main.e2e.test"
	hostOrdered   = "ordered.e2e.test"
	hostNoSend    = "nosend.e2e.test"
	hostCTLB      = "ctlb.e2e.test"
	hostTruncated = "truncated.e2e.test"
)

// Paths of every site. The longest prefix wins, so /public and /accept
// carve exceptions out of the require default.
const (
	pathRequire = "/"
	pathPublic  = "/public/"
	pathAccept  = "/accept/"
)

// site is one entry of sites: in certgate.yaml. PKI entries are named as in
// sharedPKI; the gateway is always the built-in echo upstream.
type site struct {
	name    string
	host    string
	isDef   bool
	roots   []string // client_auth.trust.roots
	source  []string // client_auth.issuer_list.source; nil = default (the roots)
	noSend  bool     // issuer_list.send: false
	maxSize int      // issuer_list.max_bytes; 0 = default
	// certificate is the certificate: mapping as YAML; "" = the shared
	// PKI's server.pem and server.key.
	certificate string
	// diagnostics turns on the self-service page at its default path.
	diagnostics bool
}

// yaml renders the site as the documented schema (docs/config.md), the way
// an operator writes it. Paths are absolute and double-quoted.
func (s site) yaml(p *testPKI) string {
	q := func(name string) string { return strconv.Quote(p.cert(name)) }
	list := func(names []string) string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = q(n)
		}
		return "[" + strings.Join(out, ", ") + "]"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n", s.name)
	fmt.Fprintf(&b, "    hosts: [%s]\n", s.host)
	if s.isDef {
		b.WriteString("    default: true\n")
	}
	if s.certificate != "" {
		fmt.Fprintf(&b, "    certificate: %s\n", s.certificate)
	} else {
		fmt.Fprintf(&b, "    certificate: {cert: %s, key: %s}\n", q("server"), strconv.Quote(p.key("server")))
	}
	b.WriteString("    upstream: echo\n")
	if s.diagnostics {
		b.WriteString("    diagnostics: {page: true}\n")
	}
	b.WriteString("    client_auth:\n")
	fmt.Fprintf(&b, "      trust: {roots: %s}\n", list(s.roots))
	var il []string
	if s.noSend {
		il = append(il, "send: false")
	}
	if s.source != nil {
		il = append(il, "source: "+list(s.source))
	}
	if s.maxSize > 0 {
		il = append(il, "max_bytes: "+strconv.Itoa(s.maxSize))
	}
	if len(il) > 0 {
		fmt.Fprintf(&b, "      issuer_list: {%s}\n", strings.Join(il, ", "))
	}
	// The test certificates carry no CRL distribution point or OCSP URL;
	// revocation has its own suites (issue 3). Off keeps these cases about
	// the chain, the CA list and the clients.
	b.WriteString("      revocation: {mode: \"off\"}\n")
	b.WriteString("    locations:\n")
	fmt.Fprintf(&b, "      - {path: %s, client_cert: ignore}\n", strings.TrimSuffix(pathPublic, "/"))
	fmt.Fprintf(&b, "      - {path: %s, client_cert: accept}\n", strings.TrimSuffix(pathAccept, "/"))
	fmt.Fprintf(&b, "      - {path: %s, client_cert: require}\n", pathRequire)
	return b.String()
}

// gateway is a running `certgate serve`.
type gateway struct {
	port int
	pki  *testPKI
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{} // closed when the process has exited
}

// url is https://HOST:PORT/PATH for the gateway; host "" means 127.0.0.1
// (no SNI: the default site).
func (g *gateway) url(host, path string) string {
	if host == "" {
		host = "127.0.0.1"
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(g.port)) + path
}

// startGateway writes certgate.yaml for sites, starts `certgate serve` on a
// free 127.0.0.1 port and waits until the port completes TLS handshakes.
// The process is stopped (SIGTERM, then SIGKILL) by PID in t.Cleanup, and
// its log is printed when the test failed.
func startGateway(t *testing.T, sites ...site) *gateway {
	t.Helper()
	return startGatewayWith(t, "", sites...)
}

// startGatewayWith is startGateway with extra top-level YAML (header),
// written after listen, admin and log.
func startGatewayWith(t *testing.T, header string, sites ...site) *gateway {
	t.Helper()
	p := sharedPKI(t)
	bin := certgateBin(t)
	dir := t.TempDir()
	var lastErr error
	// The free port is found by binding :0 and closing it, so another
	// process can take it before certgate binds it: retry on that race.
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(t)
		var b strings.Builder
		fmt.Fprintf(&b, "listen: 127.0.0.1:%d\n", port)
		b.WriteString("admin: {listen: \"off\"}\n")
		b.WriteString("log: {level: debug}\n")
		b.WriteString(header)
		b.WriteString("sites:\n")
		for _, s := range sites {
			b.WriteString(s.yaml(p))
		}
		cfg := filepath.Join(dir, "certgate.yaml")
		if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		g := &gateway{port: port, pki: p, log: &syncBuffer{}, done: make(chan struct{})}
		g.cmd = exec.Command(bin, "serve", "-c", cfg)
		g.cmd.Dir = dir
		g.cmd.Stdout, g.cmd.Stderr = g.log, g.log
		if err := g.cmd.Start(); err != nil {
			t.Fatalf("start certgate serve: %v", err)
		}
		go func() { _ = g.cmd.Wait(); close(g.done) }()
		t.Cleanup(func() { g.stop(t) })
		err := g.waitReady(30 * time.Second)
		if err == nil {
			t.Logf("certgate serve pid %d on 127.0.0.1:%d, config %s", g.cmd.Process.Pid, port, cfg)
			return g
		}
		lastErr = fmt.Errorf("%w\nconfig:\n%s\nlog:\n%s", err, b.String(), g.log.String())
		if !strings.Contains(g.log.String(), "address already in use") {
			break
		}
	}
	t.Fatalf("certgate serve did not start: %v", lastErr)
	return nil
}

// waitReady polls until a TLS handshake with the gateway succeeds, the
// process exits, or the deadline passes.
func (g *gateway) waitReady(limit time.Duration) error {
	roots := x509.NewCertPool()
	pemBytes, err := os.ReadFile(g.pki.cert("rootA"))
	if err != nil {
		return err
	}
	roots.AppendCertsFromPEM(pemBytes)
	deadline := time.Now().Add(limit)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(g.port))
	for {
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 2 * time.Second}, Config: &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		c, err := d.DialContext(ctx, "tcp", addr)
		cancel()
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-g.done:
			return fmt.Errorf("certgate serve exited early (%v)", g.cmd.ProcessState)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no TLS handshake on %s within %v: %w", addr, limit, err)
		}
	}
}

// stop ends the process by its PID: SIGTERM for a graceful shutdown, and
// SIGKILL if it is still there after a few seconds.
func (g *gateway) stop(t *testing.T) {
	select {
	case <-g.done:
	default:
		_ = g.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-g.done:
		case <-time.After(10 * time.Second):
			_ = g.cmd.Process.Kill()
			<-g.done
		}
	}
	if t.Failed() {
		t.Logf("certgate serve log (pid %d):\n%s", g.cmd.Process.Pid, g.log.String())
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// syncBuffer is a bytes.Buffer safe for the process's output goroutine and
// the test reading it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runClient runs a client binary under a timeout: a client that hangs
// (a TLS stall, Chromium's invisible certificate picker) ends as
// errTimeout instead of blocking the suite. The process gets its own
// process group so that the timeout kills its children too (Chromium's
// renderer and GPU processes), by that group's id.
func runClient(ctx context.Context, env []string, stdin string, name string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = env
	}
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	if cmd.Process != nil {
		// Children left behind by a client that exited on its own.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w: %s %s", errTimeout, name, strings.Join(args, " "))
	}
	return o.String(), e.String(), err
}

var errTimeout = errors.New("client timed out")
