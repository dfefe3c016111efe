package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/events"
)

// brokenListener fails Accept with a permanent error.
type brokenListener struct{ net.Listener }

func (brokenListener) Accept() (net.Conn, error) { return nil, errors.New("accept: listener broken") }

// TestAdminListenerFailedEvent: the admin listener ending for another
// reason than shutdown is logged as admin_listener_failed.
func TestAdminListenerFailedEvent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	serveAdmin(logger, &http.Server{Handler: http.NotFoundHandler()}, brokenListener{ln})
	var e map[string]any
	if err := json.Unmarshal(buf.Bytes(), &e); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	if e["event"] != events.EventAdminListenerFailed || e["level"] != "ERROR" || e["listen"] != ln.Addr().String() ||
		!strings.Contains(fmt.Sprint(e["err"]), "listener broken") {
		t.Errorf("admin_listener_failed = %v", e)
	}
	// A shutdown is not a failure.
	buf.Reset()
	srv := &http.Server{Handler: http.NotFoundHandler()}
	srv.Close()
	serveAdmin(logger, srv, ln)
	if buf.Len() != 0 {
		t.Errorf("shutdown logged %q", buf.String())
	}
}
