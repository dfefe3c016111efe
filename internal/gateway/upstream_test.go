package gateway

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/echo"
	"github.com/certgate/certgate/internal/forward"
	"github.com/certgate/certgate/internal/site"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// TestEchoHandlerFromContext: the echo reached as an http.Handler (the
// Identity in the request context, not Server.ServeHTTP's direct call)
// answers with the request ID header, the identity, and without the
// client's identity headers.
func TestEchoHandlerFromContext(t *testing.T) {
	p := newTestPKI(t)
	presented := p.alice.Chain()[:2]
	gs := &Site{Site: &site.Site{Name: "s", Forward: forward.Options{UserHeader: "X-Remote-User"}}}
	loc := &Location{Path: "/", Policy: config.ClientCertRequire}
	id := &Identity{RequestID: "req1", Site: gs, Location: loc, Presented: presented, Verified: true, User: "alice",
		Outcome: &verify.Outcome{Sub: substatus.OK, Code: substatus.NoError, Chain: append(presented[:2:2], p.root.Cert)}}
	r := httptest.NewRequest("GET", "https://localhost/x", nil)
	r.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, ServerName: "localhost", PeerCertificates: presented}
	r.Header["X_remote_user"] = []string{"mallory"}
	r.Header["Accept"] = []string{"*/*"}
	r = r.WithContext(withIdentity(context.WithValue(context.Background(), connKey{}, &connState{id: 1}), id))
	w := httptest.NewRecorder()
	echoHandler{}.ServeHTTP(w, r)

	if got := w.Header().Get(HeaderRequestID); got != "req1" {
		t.Errorf("%s = %q, want req1", HeaderRequestID, got)
	}
	var e echo.Response
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("decode: %v\n%s", err, w.Body)
	}
	if e.RequestID != "req1" || e.Site != "s" || e.Location != (echo.Location{Path: "/", Policy: "require"}) ||
		!e.Client.Verified || e.Client.User != "alice" || len(e.Client.Chain) != 3 || e.TLS.SNI != "localhost" {
		t.Errorf("unexpected echo: %s", w.Body)
	}
	if _, ok := e.Headers["X_remote_user"]; ok || len(e.Headers) != 1 {
		t.Errorf("headers reaching the echo: %v, want only Accept", e.Headers)
	}
	if r.Header["X_remote_user"] == nil {
		t.Error("the request's own headers were changed")
	}
}
