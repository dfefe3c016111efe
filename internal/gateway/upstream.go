package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/substatus"
)

// newProxy returns the reverse proxy to a site's upstream URL. The
// transport bounds the wait for response headers by timeouts.upstream.
func newProxy(site *Site, target *url.URL, timeout time.Duration, logger *slog.Logger) http.Handler {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = timeout
	return &httputil.ReverseProxy{
		// Rewrite, not Director: ReverseProxy strips hop-by-hop and
		// inbound X-Forwarded-* / Forwarded headers before Rewrite runs,
		// so SetXForwarded sets them from the connection, never from what
		// the client claimed.
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			upstreamHeaders(pr.Out.Header, site)
			// Identity forwarding (issue 4) goes here: read
			// IdentityFrom(pr.In.Context()) and, when Verified, set the
			// user and groups headers and RFC 9440 Client-Cert /
			// Client-Cert-Chain.
		},
		Transport: tr,
		ErrorLog:  slog.NewLogLogger(logger.Handler(), slog.LevelError),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			id := IdentityFrom(r.Context())
			reqID := ""
			if id != nil {
				reqID = id.RequestID
			}
			if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
				// The client went away; nobody will read a 502.
				logger.Debug("proxy: client canceled", "request_id", reqID, "site", site.Name, "err", err)
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			logger.Error("proxy to upstream failed", "request_id", reqID, "site", site.Name,
				"upstream", target.String(), "method", r.Method, "path", r.URL.Path, "err", err)
			writeProblem(w, r, problem{
				Sub: substatus.BadGateway, RequestID: reqID,
				Detailed: site.Config.DetailedErrors || isLoopback(r.RemoteAddr),
				Reason:   "proxy to " + target.Redacted() + ": " + err.Error(),
			})
		},
	}
}

// identityHeaders are headers only certgate may set for the upstream.
var identityHeaders = []string{"Client-Cert", "Client-Cert-Chain"}

// upstreamHeaders removes every client-supplied header that the upstream
// could take for an identity asserted by certgate: the configured user and
// groups headers and the RFC 9440 headers, whatever their case, however
// often repeated, and also under their underscore spelling (X_Remote_User),
// which CGI-style backends (PHP, WSGI) read as the same variable. It runs
// on every request, whatever the location policy. It returns h.
func upstreamHeaders(h http.Header, site *Site) http.Header {
	fw := &site.Config.Forward
	for k := range h {
		// sameHeaderName (hotpath.go) compares without allocating: this
		// runs for every header of every request.
		if sameHeaderName(k, fw.UserHeader) || sameHeaderName(k, fw.GroupsHeader) || slices.ContainsFunc(identityHeaders, func(n string) bool { return sameHeaderName(k, n) }) {
			delete(h, k)
		}
	}
	return h
}

func normalizeHeaderName(k string) string {
	return strings.ToLower(strings.ReplaceAll(k, "_", "-"))
}
