package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// activatedServe starts `certgate serve -c cfg` the way systemd does for
// a socket unit: the listening socket as fd 3, LISTEN_FDS=1,
// LISTEN_FDNAMES=https and LISTEN_PID set to the process's own PID (the
// shell's PID, which exec keeps).
func activatedServe(t *testing.T, bin, cfg string, sock *os.File) *gateway {
	t.Helper()
	g := &gateway{log: &syncBuffer{}, done: make(chan struct{})}
	g.cmd = exec.Command("sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=https exec "$0" serve -c "$1"`, bin, cfg)
	g.cmd.ExtraFiles = []*os.File{sock}
	g.cmd.Stdout, g.cmd.Stderr = g.log, g.log
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("start certgate serve: %v", err)
	}
	go func() { _ = g.cmd.Wait(); close(g.done) }()
	t.Cleanup(func() { g.stop(t) })
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(g.log.String(), "certgate serving") {
		select {
		case <-g.done:
			t.Fatalf("certgate serve exited: %v\n%s", g.cmd.ProcessState, g.log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("certgate serve not serving after 30s:\n%s", g.log.String())
		}
	}
	return g
}

// TestRestartUnderLoadSocketActivation replaces one `certgate serve`
// process by another while clients keep connecting, as `systemctl
// restart` does with a socket unit (docs/operations.md): the socket
// belongs to the service manager (here the test), the new process starts
// on it, the old one gets SIGTERM and drains. No request fails.
func TestRestartUnderLoadSocketActivation(t *testing.T) {
	p := sharedPKI(t)
	bin := certgateBin(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sock, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	addr := ln.Addr().String()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "certgate.yaml")
	yaml := "listen: " + addr + "\nadmin: {listen: \"off\"}\nlog: {level: info}\nsites:\n" +
		site{name: "main", host: hostMain, isDef: true, roots: []string{"rootA"}}.yaml(p)
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}

	cert, err := tls.LoadX509KeyPair(p.cert("alice"), p.key("alice"))
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, err := os.ReadFile(p.cert("rootA"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(rootPEM)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		// A new connection per request: every request goes through the
		// accept queue that the restart must not drop.
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{RootCAs: roots, ServerName: hostMain, Certificates: []tls.Certificate{cert}},
	}}

	old := activatedServe(t, bin, cfg, sock)
	var ok, failed atomic.Int64
	var mu sync.Mutex
	var failures []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := 0; i < 5000; i++ { // bounded
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get("https://" + addr + "/")
				if err == nil {
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Add(1)
					mu.Lock()
					if len(failures) < 5 {
						failures = append(failures, fmt.Sprint(err))
					}
					mu.Unlock()
					continue
				}
				ok.Add(1)
			}
		})
	}
	waitOK := func(n int64) {
		deadline := time.Now().Add(20 * time.Second)
		for start := ok.Load(); ok.Load() < start+n && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitOK(50)
	next := activatedServe(t, bin, cfg, sock)
	waitOK(50)
	if err := old.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-old.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the old process did not exit after SIGTERM")
	}
	if code := old.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("old process exit code %d\n%s", code, old.log.String())
	}
	waitOK(100)
	close(stop)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed during the restart: %v", n, n+ok.Load(), failures)
	}
	if ok.Load() < 200 {
		t.Fatalf("only %d requests completed", ok.Load())
	}
	select {
	case <-next.done:
		t.Fatalf("the new process exited: %s", next.log.String())
	default:
	}
	t.Logf("%d requests, none failed, across the restart", ok.Load())
}

// TestReusePortTwoProcesses: with reuse_port, a second process binds the
// port the first is serving (the upgrade path without a service manager).
func TestReusePortTwoProcesses(t *testing.T) {
	p := sharedPKI(t)
	bin := certgateBin(t)
	port := freePort(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "certgate.yaml")
	yaml := "listen: 127.0.0.1:" + strconv.Itoa(port) + "\nreuse_port: true\nadmin: {listen: \"off\"}\nsites:\n" +
		site{name: "main", host: hostMain, isDef: true, roots: []string{"rootA"}}.yaml(p)
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		g := &gateway{port: port, pki: p, log: &syncBuffer{}, done: make(chan struct{})}
		g.cmd = exec.Command(bin, "serve", "-c", cfg)
		g.cmd.Stdout, g.cmd.Stderr = g.log, g.log
		if err := g.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { _ = g.cmd.Wait(); close(g.done) }()
		t.Cleanup(func() { g.stop(t) })
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(g.log.String(), "certgate serving") {
			select {
			case <-g.done:
				t.Fatalf("process %d exited: %s", i, g.log.String())
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("process %d not serving:\n%s", i, g.log.String())
			}
		}
	}
}
