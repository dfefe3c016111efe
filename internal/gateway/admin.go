package gateway

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"strings"

	"github.com/certgate/certgate/internal/metrics"
)

// AdminOptions configure NewAdminHandler.
type AdminOptions struct {
	// Metrics is served on /metrics; nil answers 404 there.
	Metrics *metrics.Metrics
	// Reload runs on POST /reload; nil answers 404 there.
	Reload func() error
	// Ready decides /readyz: nil error means ready. Nil Ready is always
	// ready.
	Ready func() error
	// Pprof serves net/http/pprof under /debug/pprof/ (admin.pprof).
	Pprof bool
	// Token, when set, must come as "Authorization: Bearer <Token>" on
	// every request but /healthz and /readyz (admin.token_file).
	Token string
}

// NewAdminHandler serves the admin listener (admin.listen): /metrics,
// /healthz (the process answers), /readyz (the gateway serves and what its
// sites need is loaded) and POST /reload. It refuses browsers (adminGuard)
// and, with o.Token, requests without the bearer token; it belongs on
// loopback or a management network all the same, which is why
// admin.listen defaults to 127.0.0.1.
func NewAdminHandler(o AdminOptions) http.Handler {
	mux := http.NewServeMux()
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Metrics.Handler())
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		plain(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if o.Ready != nil {
			if err := o.Ready(); err != nil {
				plain(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
				return
			}
		}
		plain(w, http.StatusOK, "ready")
	})
	if o.Reload != nil {
		// POST only: a reload changes state, and a GET from a crawler or
		// a browser prefetch must not trigger it.
		mux.HandleFunc("POST /reload", func(w http.ResponseWriter, _ *http.Request) {
			if err := o.Reload(); err != nil {
				plain(w, http.StatusInternalServerError, "reload failed, the previous configuration keeps serving:\n"+err.Error())
				return
			}
			plain(w, http.StatusOK, "reloaded")
		})
	}
	if o.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return adminGuard(mux, o.Token)
}

// adminGuard keeps browsers out of the admin listener. A page on any
// site can make the browser POST to 127.0.0.1:9443/reload (it sends an
// Origin header), and DNS rebinding lets a page read /metrics under its
// own name (the Host header carries that name). So a request with an
// Origin header is refused, and so is a Host that is not an IP literal or
// localhost; with a token, every request but the health probes must
// carry it.
func adminGuard(next http.Handler, token string) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Header["Origin"]; ok {
			plain(w, http.StatusForbidden, "requests with an Origin header are refused: the admin listener does not serve browsers")
			return
		}
		if !adminHost(r.Host) {
			plain(w, http.StatusForbidden, fmt.Sprintf("Host %q is refused: the admin listener answers only to an IP address or localhost", r.Host))
			return
		}
		if token != "" && r.URL.Path != "/healthz" && r.URL.Path != "/readyz" &&
			subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="certgate admin"`)
			plain(w, http.StatusUnauthorized, "an Authorization: Bearer token (admin.token_file) is required")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// adminHost reports whether a Host header names the admin listener by
// address or as localhost, which DNS rebinding cannot produce.
func adminHost(host string) bool {
	h := strings.TrimSuffix(hostOnly(host), ".")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	_, err := netip.ParseAddr(h)
	return err == nil
}

// readAdminToken reads admin.token_file: its first line, trimmed, at
// least 16 bytes so that it is not guessable. An empty path means no token.
func readAdminToken(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read admin token: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	token := strings.TrimSpace(line)
	if len(token) < 16 {
		return "", fmt.Errorf("admin token in %s: want at least 16 characters on the first line (got %d)", path, len(token))
	}
	return token, nil
}

func plain(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}
