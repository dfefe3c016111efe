package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/certgate/certgate/internal/echo"
	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/forward"
	"github.com/certgate/certgate/internal/substatus"
)

// newProxy returns the reverse proxy to a site's upstream URL. The
// transport bounds the wait for response headers by timeouts.upstream.
func newProxy(site *Site, target *url.URL, timeout time.Duration, logger *slog.Logger) http.Handler {
	tr := newUpstreamTransport(timeout)
	return &httputil.ReverseProxy{
		// Rewrite, not Director: ReverseProxy strips hop-by-hop and
		// inbound X-Forwarded-* / Forwarded headers before Rewrite runs,
		// so SetXForwarded sets them from the connection, never from what
		// the client claimed.
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// Strip first: the X-Forwarded-* family is among the stripped
			// headers and SetXForwarded sets it afresh.
			upstreamHeaders(pr.Out.Header, site)
			pr.SetXForwarded()
			// The default site also answers Host names it does not list
			// (no or unknown SNI): an upstream building links from
			// X-Forwarded-Host would echo whatever the client wrote.
			if cs := connFrom(pr.In.Context()); cs != nil && cs.snap.Default == site &&
				!site.Config.Forward.DefaultSiteAnyHost && !listsHost(site.Config.Hosts, hostOnly(pr.In.Host)) {
				pr.Out.Header.Del("X-Forwarded-Host")
			}
			forwardIdentity(pr.Out.Header, site, IdentityFrom(pr.In.Context()), connFrom(pr.In.Context()))
		},
		// A 101 reaches the client only for a protocol the location lists
		// and the client asked for (upgrade.go).
		ModifyResponse: checkUpgradeResponse,
		Transport:      tr,
		BufferPool:     &proxyBufferPool{},
		// What the proxy logs on its own (a response body that broke off
		// mid-copy) is an upstream failure too.
		ErrorLog: slog.NewLogLogger(logger.Handler().WithAttrs([]slog.Attr{
			events.Attr(events.EventUpstreamFailed), slog.String("site", site.Name)}), slog.LevelError),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			id := IdentityFrom(r.Context())
			reqID := ""
			if id != nil {
				reqID = id.RequestID
			}
			if bodyTimedOut(r) {
				// The client, not the upstream: its body did not arrive
				// within timeouts.read_body (net/http has canceled the
				// request context by then, so this comes first).
				w.Header().Set("Connection", "close")
				logger.Info("request body too slow", "request_id", reqID, "site", site.Name, "client", r.RemoteAddr, "err", err.Error())
				writeProblem(w, r, problem{Sub: substatus.RequestTimeout, RequestID: reqID,
					Detailed: site.Config.DetailedErrors || connFrom(r.Context()).fromLoopback(),
					Reason:   "the request body did not arrive within timeouts.read_body"})
				return
			}
			if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
				// The client went away; nobody will read a 502.
				logger.Debug("proxy: client canceled", "request_id", reqID, "site", site.Name, "err", err)
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			events.Log(logger, slog.LevelError, events.EventUpstreamFailed, "proxy to upstream failed",
				slog.String("request_id", reqID), slog.String("site", site.Name), slog.String("upstream", target.Redacted()),
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("err", err.Error()))
			writeProblem(w, r, problem{
				Sub: substatus.BadGateway, RequestID: reqID,
				Detailed: site.Config.DetailedErrors || connFrom(r.Context()).fromLoopback(),
				Reason:   "proxy to " + target.Redacted() + ": " + err.Error(),
			})
		},
	}
}

// upstreamIdleConns is how many idle keep-alive connections to one
// upstream host the transport keeps. Every request in flight holds one
// upstream connection, so the pool must hold as many as clients keep
// requests in flight at once: with net/http's default of 2, sixteen busy
// keep-alive clients closed and reopened an upstream TCP connection for
// most requests (42.7 against 77.7 µs of server CPU per proxied request
// when the pool was raised; docs/benchmarks.md). nginx's equivalent is
// `keepalive N` in an upstream block. An idle connection costs two
// goroutines and two 4 KiB buffers, about 25 KB: 1024 of them 25 MB, and
// IdleConnTimeout closes them after a quiet minute and a half.
const upstreamIdleConns = 1024

// newUpstreamTransport returns the transport for one upstream: keep-alive
// connections pooled for the load (upstreamIdleConns), response headers
// due within timeout (timeouts.upstream).
func newUpstreamTransport(timeout time.Duration) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = timeout
	tr.MaxIdleConns = 0 // no limit across hosts; the per-host limit bounds it
	tr.MaxIdleConnsPerHost = upstreamIdleConns
	// The proxy passes the client's Accept-Encoding through and the
	// upstream's encoding back. With compression on, a request without
	// Accept-Encoding would go upstream asking for gzip and the gateway
	// would pay for gunzipping the answer.
	tr.DisableCompression = true
	// The upstream is named in the configuration; an HTTP_PROXY in the
	// service's environment must not reroute it (nginx and HAProxy ignore
	// it too).
	tr.Proxy = nil
	return tr
}

// proxyBufferSize is the size of the buffers bodies are copied through,
// ReverseProxy's own default.
const proxyBufferSize = 32 << 10

// proxyBufferPool lends ReverseProxy its copy buffers (httputil.BufferPool).
// Without one it allocates and zeroes 32 KiB for every response and every
// request body: a tenth of the CPU of a proxied keep-alive request
// (docs/benchmarks.md). Buffers are held as array pointers so that Put
// does not allocate.
type proxyBufferPool struct{ p sync.Pool }

func (bp *proxyBufferPool) Get() []byte {
	if b, ok := bp.p.Get().(*[proxyBufferSize]byte); ok {
		return b[:]
	}
	return make([]byte, proxyBufferSize)
}

func (bp *proxyBufferPool) Put(b []byte) {
	if cap(b) >= proxyBufferSize {
		bp.p.Put((*[proxyBufferSize]byte)(b[:proxyBufferSize]))
	}
}

// closeIdleUpstream closes the idle pooled connections of a site's
// upstream transport, for a snapshot being retired: with a pool sized for
// the load, each reload would otherwise leave up to upstreamIdleConns
// connections open until IdleConnTimeout. Connections still serving
// requests of old client connections finish normally.
func closeIdleUpstream(h http.Handler) {
	if rp, ok := h.(*httputil.ReverseProxy); ok {
		if tr, ok := rp.Transport.(interface{ CloseIdleConnections() }); ok {
			tr.CloseIdleConnections()
		}
	}
}

// upstreamHeaders removes every client-supplied header that the upstream
// could take for an identity asserted by certgate (forward.StripSpoofable:
// the configured user and groups headers, RFC 9440 Client-Cert(-Chain),
// Forwarded, X-Forwarded-*, whatever their case, however often repeated,
// and also under their underscore spelling, which CGI-style backends read
// as the same variable). ServeHTTP already stripped the request; this
// second pass guards the proxy request itself. It returns h.
func upstreamHeaders(h http.Header, site *Site) http.Header {
	fw := &site.Forward
	forward.StripSpoofable(h, fw.Strip)
	return h
}

// echoHandler is the built-in upstream (`upstream: echo`, internal/echo).
// Server.ServeHTTP recognises it and calls serveEcho directly with the
// identity and the connection's memo; ServeHTTP is for a caller holding a
// request that carries its Identity in the context.
type echoHandler struct{}

func (echoHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := IdentityFrom(r.Context())
	if id == nil {
		http.Error(w, "echo: no gateway identity in the request context", http.StatusInternalServerError)
		return
	}
	// Outside Server.ServeHTTP nothing has removed client-supplied identity
	// headers yet: the body shows what a proxied upstream would receive.
	var eid echo.Identity
	id.echo(&eid)
	w.Header()[HeaderRequestID] = []string{id.RequestID}
	echo.Serve(w, r, &eid, connFrom(r.Context()).echoConn(), upstreamHeaders(r.Header.Clone(), id.Site))
}

// echo fills dst with what the echo renders of id.
func (id *Identity) echo(dst *echo.Identity) {
	*dst = echo.Identity{
		RequestID: id.RequestID, Site: id.Site.Name,
		Location:  echo.Location{Path: id.Location.Path, Policy: id.Location.Policy},
		Presented: id.Presented, Outcome: id.Outcome, Verified: id.Verified, Downgraded: id.Downgraded(),
		User: id.User, Groups: id.Groups,
	}
}

// echoConn returns the connection's echo memo, or nil outside a gateway
// connection.
func (cs *connState) echoConn() *echo.Conn {
	if cs == nil {
		return nil
	}
	return &cs.echo
}

// listsHost reports whether host is one of hosts (normalised config host
// names: exact, or a "*." wildcard covering one label).
func listsHost(hosts []string, host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, h := range hosts {
		if h == host {
			return true
		}
		if rest, ok := strings.CutPrefix(h, "*."); ok {
			if label, dom, found := strings.Cut(host, "."); found && label != "" && dom == rest {
				return true
			}
		}
	}
	return false
}
