package gateway

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/echo"
	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/reqpath"
	"github.com/certgate/certgate/internal/substatus"
)

// ServeHTTP applies the site and location policy to one request. The order
// is: connection state, Host/SNI agreement (421), path canonical form
// (400), location, certificate decision (403.x), then the upstream.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	// One allocation for the request's state instead of three.
	st := &requestState{rec: responseRecorder{ResponseWriter: w}}
	rec, ev := &st.rec, &st.ev
	*ev = RequestEvent{ID: s.newRequestID(), Start: start, Request: r}
	defer func() {
		ev.Elapsed = time.Since(start)
		ev.Status, ev.BytesWritten = rec.status(), rec.bytes
		if rec.wt < 0 {
			s.timeoutHit(KindWrite)
		}
		if h := s.hooks.Request; h != nil {
			h(ev)
		}
	}()

	cs := connFrom(r.Context())
	if cs == nil || r.TLS == nil {
		s.refuse(rec, r, ev, nil, problem{Sub: substatus.InternalServerError, Reason: ErrNoConnState.Error()})
		return
	}
	site := cs.site
	ev.Site, ev.ClientIP, ev.Local = site.Name, cs.client, cs.local
	r = s.slowClientDeadlines(st, w, r, start)
	if cs.closeAfter(s, start) {
		rec.Header().Set("Connection", "close")
	}
	if cs.limited != "" {
		// Over limits.max_connections_per_ip: answered, then closed
		// (Connection: close is a GOAWAY on HTTP/2).
		rec.Header().Set("Connection", "close")
		s.refuse(rec, r, ev, site, problem{Sub: substatus.ConnectionLimit, Detailed: site.Config.DetailedErrors || cs.fromLoopback(),
			Reason: fmt.Sprintf("the client address %s has more than %d connections open to this gateway (limits.max_connections_per_ip)", cs.client, cs.snap.Config.Limits.MaxConnectionsPerIP)})
		return
	}
	s.stripSpoofable(r, site, ev)
	detailed := site.Config.DetailedErrors || cs.fromLoopback()

	// A request must be for the site its TLS server name chose. Otherwise
	// a client could pick a site that never asks for a certificate by SNI
	// and then name a site that requires one in Host (or reuse an HTTP/2
	// connection for another host). RFC 9110 section 15.5.20.
	if hostSite := cs.snap.SiteFor(hostOnly(r.Host)); hostSite != site {
		s.refuse(rec, r, ev, site, problem{
			Sub: substatus.MisdirectedRequest, Detailed: detailed,
			Reason: fmt.Sprintf("the TLS server name (SNI) %q selected site %q but the Host header %q belongs to site %q; connect with the server name of the host you request",
				r.TLS.ServerName, site.Name, r.Host, hostSite.Name),
		})
		return
	}

	// Location rules are matched on the decoded path. A path that some
	// backend reads as another path (/public/..;/secret to Tomcat,
	// /secret. to Windows) could match one location here and be served
	// as another's resource, so the raw path must have one meaning
	// (internal/reqpath) or the request is refused.
	raw := rawPath(r)
	if rule, at := reqpath.Check(raw, site.PathAllow); rule != 0 {
		ev.Refusal.Path = rule
		s.refuse(rec, r, ev, site, problem{
			Sub: substatus.BadRequest, Detailed: detailed,
			Reason: fmt.Sprintf("the request path %q is refused at byte %d by rule %s: %s", raw, at, rule, rule.Describe()),
		})
		return
	}

	if site.Config.Diagnostics.Page && r.URL.Path == site.Config.Diagnostics.Path {
		s.diagnostics(rec, r, ev, cs, site, detailed) // diagnostics.go
		return
	}

	loc := site.Locate(r.URL.Path)
	ev.Location = loc
	// Upgrades and CONNECT turn the connection into a tunnel the gateway
	// no longer sees into (upgrade.go): refused unless the location lists
	// the protocol, before anything else is decided.
	if reason := upgradeRefusal(r, loc); reason != "" {
		ev.Refusal.Upgrade = true
		s.refuse(rec, r, ev, site, problem{Sub: substatus.BadRequest, Detailed: detailed, Reason: reason})
		return
	}
	id := &st.id
	*id = Identity{RequestID: ev.ID, Site: site, Location: loc}
	ev.Identity = id
	if loc.Policy != config.ClientCertIgnore {
		id.Presented = r.TLS.PeerCertificates
		id.Outcome = cs.verification(r.Context(), s, r.TLS.PeerCertificates)
	}

	// One decision (internal/site): location policy, verification
	// outcome, certificate mapping (403.12) and allow_users /
	// allow_groups (403.100).
	d := cs.decide(loc, id.Outcome)
	if d.Deny != nil && d.Deny.Verification() {
		ev.Outcome = d.Deny.Outcome
		s.refuse(rec, r, ev, site, problemFromDenial(d.Deny, detailed))
		return
	}
	id.Verified = d.Verified
	if d.Downgraded != nil {
		ev.Outcome = d.Downgraded
		events.AnonymousDowngrade(s.logger, site.Name, d.Downgraded, requestAttrs(ev, r)...)
	}
	if d.Verified && d.Mapping.Mapped() {
		s.logMapped(r, ev, site, id, d.Mapping)
	}
	if d.Deny != nil {
		s.refuseIdentity(rec, r, ev, site, id, d.Deny, d.Mapping, detailed)
		return
	}
	id.User, id.Groups = d.User, d.Groups

	ev.Sub, ev.Code = substatus.OK, substatus.NoError
	// The built-in echo takes the identity directly: a request copy and a
	// context per request for nothing but a lookup were measurable on the
	// keep-alive path. Other upstreams read it with IdentityFrom.
	if _, ok := site.handler.(echoHandler); ok {
		st.requestIDValue[0] = ev.ID
		rec.Header()[HeaderRequestID] = st.requestIDValue[:]
		var eid echo.Identity // on the stack: echo.Serve does not keep it
		id.echo(&eid)
		echo.Serve(rec, r, &eid, &cs.echo, r.Header)
		return
	}
	site.handler.ServeHTTP(rec, r.WithContext(withIdentity(r.Context(), id)))
}

// slowClientDeadlines bounds how long the request body may take to arrive
// (timeouts.read_body, measured from the end of the headers) and how long
// each response write may block (timeouts.write). Nothing is allocated
// for a request without a body: the keep-alive path stays as it was.
func (s *Server) slowClientDeadlines(st *requestState, w http.ResponseWriter, r *http.Request, start time.Time) *http.Request {
	t := &connFrom(r.Context()).snap.Config.Timeouts
	st.rec.wt = t.Write
	if t.ReadBody > 0 && r.Body != nil && r.Body != http.NoBody {
		if d, ok := w.(interface{ SetReadDeadline(time.Time) error }); ok && d.SetReadDeadline(start.Add(t.ReadBody)) == nil {
			r = withBodyDeadline(r, s)
		}
	}
	return r
}

// timeoutHit reports a slow client to the Timeout hook.
func (s *Server) timeoutHit(kind string) {
	if h := s.hooks.Timeout; h != nil {
		h(kind)
	}
}

// requestState is what ServeHTTP keeps for one request.
type requestState struct {
	rec responseRecorder
	ev  RequestEvent
	id  Identity
	// requestIDValue is the X-Request-Id header value of the echo's
	// answer.
	requestIDValue [1]string
}

// refuse answers a request the gateway will not pass on, and logs it with
// the request ID shown in the response.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, ev *RequestEvent, site *Site, p problem) {
	p.RequestID = ev.ID
	ev.Sub, ev.Code = p.Sub, p.Code
	p.Diagnostics = diagnosticsLink(site, p.Sub)
	if ev.Outcome != nil {
		// One client_cert_rejected event per refused certificate, with the
		// attributes docs/operations.md documents (internal/events).
		events.ClientCertRejected(s.logger, ev.Site, ev.Outcome, requestAttrs(ev, r)...)
	} else {
		level := slog.LevelInfo // a client mistake
		if p.Sub.Status >= 500 {
			level = slog.LevelError
		}
		attrs := append(requestAttrs(ev, r), slog.String("site", ev.Site),
			slog.String("substatus", p.Sub.String()), slog.String("reason", p.Reason))
		events.Log(s.logger, level, events.EventRequestRefused, "request refused", attrs...)
	}
	writeProblem(w, r, p)
}

// requestAttrs identifies a request in the event log; the request ID is
// the one on the error page. The site is added by the caller.
func requestAttrs(ev *RequestEvent, r *http.Request) []slog.Attr {
	a := []slog.Attr{slog.String("request_id", ev.ID), slog.String("method", r.Method),
		slog.String("path", r.URL.Path), slog.String("client", r.RemoteAddr)}
	if ev.Location != nil {
		a = append(a, slog.String("location", ev.Location.Path), slog.String("policy", ev.Location.Policy))
	}
	return a
}

// newRequestID returns 16 hex digits, enough to find one request in logs:
// a random per-server prefix (so IDs from restarts do not collide) and a
// counter. Request IDs need to be unique, not secret, and reading
// crypto/rand on every request was measurable on the keep-alive path.
func (s *Server) newRequestID() string {
	v := s.reqPrefix<<40 | s.reqSeq.Add(1)&(1<<40-1)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return hex.EncodeToString(b[:])
}

func randomRequestPrefix() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return binary.BigEndian.Uint64(b[:]) >> 40
}

// hostOnly strips the port from a Host header value ("[::1]:8443" ->
// "::1").
func hostOnly(host string) string {
	if !strings.Contains(host, ":") {
		return host // the common case; SplitHostPort would allocate an error
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}

// rawPath is the path of the request target as the client sent it
// (percent-encoding intact, without the query): what the upstream
// receives. Absolute-form targets (https://host/path) are rare and take
// the parsed URL's escaped path; asterisk- and authority-form ones
// (OPTIONS *, CONNECT host:port) are returned as they are, which
// reqpath.Check refuses.
func rawPath(r *http.Request) string {
	raw := r.RequestURI
	if raw != "" && raw[0] == '/' {
		if i := strings.IndexByte(raw, '?'); i >= 0 {
			raw = raw[:i]
		}
		return raw
	}
	if raw == "" || r.URL.Host != "" && r.URL.Opaque == "" && r.Method != http.MethodConnect {
		// Absolute-form, or a request built in Go rather than read from
		// a connection (no RequestURI).
		return r.URL.EscapedPath()
	}
	return raw
}

// responseRecorder notes the status and body size for events. Unwrap lets
// http.ResponseController (used by httputil.ReverseProxy to flush and to
// hijack for upgrades) reach the connection.
type responseRecorder struct {
	http.ResponseWriter
	code  int
	bytes int64
	// wt is timeouts.write: each Write must finish within it (like
	// nginx's send_timeout). A write that did not makes it negative: the
	// connection is dead, and ServeHTTP reports it once.
	wt time.Duration
}

func (w *responseRecorder) WriteHeader(code int) {
	if w.code == 0 && code >= 200 || code == http.StatusSwitchingProtocols {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseRecorder) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if w.wt > 0 {
		// The embedded writer is net/http's own (HTTP/1.1 or HTTP/2),
		// which sets the connection's or stream's deadline.
		if d, ok := w.ResponseWriter.(interface{ SetWriteDeadline(time.Time) error }); ok {
			_ = d.SetWriteDeadline(time.Now().Add(w.wt))
		}
	}
	n, err := w.ResponseWriter.Write(b)
	if err != nil && w.wt > 0 && isTimeout(err) {
		w.wt = -w.wt
	}
	w.bytes += int64(n)
	return n, err
}

func (w *responseRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *responseRecorder) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}
