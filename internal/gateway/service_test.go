package gateway

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestNewServiceFailureClosesWhatItOpened: a busy admin port fails
// NewService with the field named, and the gateway listener it had
// already opened is closed again.
func TestNewServiceFailureClosesWhatItOpened(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	p.writeFiles(t, dir)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := free.Addr().String()
	free.Close()
	cfg := loadConfig(t, dir, "listen: "+listen+"\nadmin: {listen: \""+busy.Addr().String()+"\"}\n"+strings.Replace(fmt.Sprintf(siteYAML, "echo"), "listen: 127.0.0.1:0\n", "", 1))
	if _, err := NewService(cfg, ServiceOptions{Logger: jsonLogger(&syncBuffer{})}); err == nil || !strings.Contains(err.Error(), "admin.listen") {
		t.Fatalf("NewService with a busy admin port: %v, want an error naming admin.listen", err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatalf("the gateway listener was left open: %v", err)
	}
	ln.Close()
}

// TestServiceShutdownUnstarted: Shutdown of a Service that never served
// releases its listeners; Serve after Shutdown refuses.
func TestServiceShutdownUnstarted(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	p.writeFiles(t, dir)
	cfg := loadConfig(t, dir, "admin: {listen: \"off\"}\n"+fmt.Sprintf(siteYAML, "echo"))
	svc, err := NewService(cfg, ServiceOptions{Logger: jsonLogger(&syncBuffer{})})
	if err != nil {
		t.Fatal(err)
	}
	addr := svc.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := svc.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listener still open after Shutdown: %v", err)
	}
	ln.Close()
	if err := svc.Serve(ctx); err == nil {
		t.Fatal("Serve after Shutdown succeeded")
	}
}
