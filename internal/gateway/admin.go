package gateway

import (
	"fmt"
	"net/http"
	"net/http/pprof"

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
}

// NewAdminHandler serves the admin listener (admin.listen): /metrics,
// /healthz (the process answers), /readyz (the gateway serves and what its
// sites need is loaded) and POST /reload. It has no authentication: the
// listener belongs on loopback or a management network, which is why
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
	return mux
}

func plain(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}
