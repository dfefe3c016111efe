package gateway

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// k8sVolume lays out dir/secret like a Kubernetes Secret mount:
// secret/server.pem -> ..data/server.pem, ..data -> ..v<gen>.
func k8sVolume(t *testing.T, dir string, gen int, l *pki.Leaf) {
	t.Helper()
	vol := filepath.Join(dir, "secret")
	version := fmt.Sprintf("..v%d", gen)
	if err := os.MkdirAll(filepath.Join(vol, version), 0o755); err != nil {
		t.Fatal(err)
	}
	pkitest.WriteLeaf(t, filepath.Join(vol, version), "server", l)
	// The atomic swap kubelet does: a new symlink renamed over ..data.
	tmp := filepath.Join(vol, "..data_tmp")
	if err := os.Symlink(version, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(vol, "..data")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"server.pem", "server.key"} {
		link := filepath.Join(vol, f)
		if _, err := os.Lstat(link); err != nil {
			if err := os.Symlink(filepath.Join("..data", f), link); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// serverCN is the common name of the certificate the gateway presents.
func serverCN(t *testing.T, addr string) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "open.example.test", InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// TestWatchReloadsOnFileChanges: with reload.watch, the gateway reloads
// when the config is rewritten, when a Kubernetes-style Secret volume
// swaps its ..data symlink (a new server certificate), and refuses a
// broken config keeping the old one; requests running meanwhile all
// succeed.
func TestWatchReloadsOnFileChanges(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	p.writeFiles(t, dir)
	writeCRLs(t, dir, p)
	k8sVolume(t, dir, 1, p.server)
	header := "admin: {listen: \"localhost:0\"}\nreload: {watch: true, debounce: 50ms}\n"
	yamlWith := func(warn int) string { return header + opsConfig("secret/server", warn) }
	logs := &syncBuffer{}
	cfg := loadConfig(t, dir, yamlWith(16384))
	svc, err := NewService(cfg, ServiceOptions{Logger: jsonLogger(logs), Version: "test"})
	if err != nil {
		t.Fatalf("new service: %v", err)
	}
	g := &gatewayUnderTest{pki: p, dir: dir, logs: logs, addr: svc.Addr().String(), srv: svc.Server()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	waitSnapshot := func(t *testing.T, old *Snapshot, what string) *Snapshot {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if s := svc.Server().Snapshot(); s != old {
				return s
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("%s: no reload within 10s; log:\n%s", what, logs.String())
		return nil
	}

	// Requests run during every change below and must all succeed.
	var failures, total atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := g.try(request{sni: "a.example.test", path: "/", cert: p.alice})
				total.Add(1)
				if err != nil || res.status != http.StatusOK {
					failures.Add(1)
				}
			}
		}()
	}

	snap := svc.Server().Snapshot()
	if cn := serverCN(t, g.addr); cn != "gateway" {
		t.Fatalf("server certificate CN %q at start", cn)
	}
	// 1. The config file is rewritten (write and rename).
	writeConfig(t, cfg.Path, yamlWith(20000))
	snap = waitSnapshot(t, snap, "config rewritten")
	if got := *snap.Sites[0].Config.ClientAuth.IssuerList.WarnBytes; got != 20000 {
		t.Errorf("warn_bytes after reload = %d", got)
	}
	// 2. The Secret volume is updated the way kubelet does it.
	k8sVolume(t, dir, 2, p.serverRoot.Server(t, "gateway renewed", testHosts))
	snap = waitSnapshot(t, snap, "secret volume swapped")
	if cn := serverCN(t, g.addr); cn != "gateway renewed" {
		t.Errorf("server certificate CN %q after the Secret update", cn)
	}
	// 3. A broken config is refused; the previous one keeps serving.
	writeConfig(t, cfg.Path, header+"sites: [\n")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), events.EventReloadFailed) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), events.EventReloadFailed) {
		t.Fatalf("broken config: no reload_failed event; log:\n%s", logs.String())
	}
	if svc.Server().Snapshot() != snap {
		t.Error("a broken config replaced the snapshot")
	}
	res := g.do(t, request{sni: "a.example.test", path: "/", cert: p.alice})
	if res.status != http.StatusOK {
		t.Errorf("after the broken config: status %d", res.status)
	}
	close(stop)
	wg.Wait()
	if n := failures.Load(); n != 0 || total.Load() == 0 {
		t.Errorf("%d of %d requests failed during watched reloads", n, total.Load())
	}
}

// TestWatchFailedEvent: when no directory of the config can be watched
// (here: removed after the build), Serve logs reload_watch_failed and
// keeps serving.
func TestWatchFailedEvent(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	sub := filepath.Join(dir, "conf")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	p.writeFiles(t, sub)
	writeCRLs(t, sub, p)
	logs := &syncBuffer{}
	cfg := loadConfig(t, sub, "admin: {listen: \"off\"}\nreload: {watch: true}\n"+opsConfig("server", 16384))
	svc, err := NewService(cfg, ServiceOptions{Logger: jsonLogger(logs), Version: "test"})
	if err != nil {
		t.Fatalf("new service: %v", err)
	}
	if err := os.RemoveAll(sub); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range logs.records(t) {
			if e["event"] == events.EventReloadWatchFailed && e["level"] == "ERROR" && strings.Contains(fmt.Sprint(e["err"]), "watch") {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no reload_watch_failed event; log:\n%s", logs.String())
}
