package gateway

import (
	"crypto/x509"
	"log/slog"
	"net/http"

	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/forward"
	"github.com/certgate/certgate/internal/mapping"
	"github.com/certgate/certgate/internal/site"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// This file wires certificate mapping and identity forwarding (issue 4)
// into the request path. The decision is internal/site's (Decide, with
// internal/mapping's rules) and the header rules internal/forward's; here
// they meet the request.

// stripSpoofable removes from a client request every header an upstream
// could take for an identity asserted by certgate (forward.StripSpoofable:
// RFC 9440 Client-Cert(-Chain), Forwarded, X-Forwarded-*, the user and
// groups headers, in any case or underscore spelling). ServeHTTP runs it on
// every request before anything else looks at the headers, whatever the
// location policy, refused or not; trailers too, since a proxied request
// carries them to the upstream.
func (s *Server) stripSpoofable(r *http.Request, gs *Site, ev *RequestEvent) {
	fw := &gs.Forward
	removed := forward.StripSpoofable(r.Header, fw.Strip)
	if len(r.Trailer) > 0 {
		removed = append(removed, forward.StripSpoofable(r.Trailer, fw.Strip)...)
	}
	if len(removed) > 0 && s.logger.Enabled(r.Context(), slog.LevelDebug) {
		// Debug, not Info: a load balancer in front legitimately sends
		// X-Forwarded-For on every request.
		s.logger.LogAttrs(r.Context(), slog.LevelDebug, "removed client-supplied identity headers",
			append(requestAttrs(ev, r), slog.String("site", gs.Name), slog.Any("headers", removed))...)
	}
}

// decide is site.Decide for a request on this connection, with the
// connection's mapping memo (connmemo.go) as the mapper.
func (cs *connState) decide(loc *Location, outcome *verify.Outcome) site.Decision {
	var m site.Mapper
	if cs.site.Mapper != nil {
		m = cs
	}
	return site.Decide(loc, outcome, m)
}

// Map and Decide make a connection the site.Mapper of its site: mapping
// is memoized per connection.
func (cs *connState) Map(chain []*x509.Certificate) mapping.Result {
	return cs.mapping(cs.site.Mapper, chain)
}

// Decide is the site Mapper's mapping policy (mapping.Mapper.Decide).
func (cs *connState) Decide(r mapping.Result) *mapping.Denial { return cs.site.Mapper.Decide(r) }

// logMapped logs, at Debug, the user a verified certificate was mapped to;
// at Warn when a weak directory method or a stale directory answer mapped
// it (KB5014754: weak mappings are logged on every use).
func (s *Server) logMapped(r *http.Request, ev *RequestEvent, gs *Site, id *Identity, res mapping.Result) {
	if res.Weak || res.Stale {
		event, msg := events.EventDirectoryWeakMapping, "client certificate mapped by a weak directory method"
		if res.Stale {
			event, msg = events.EventDirectoryStale, "client certificate mapped from a stale directory answer (directory unavailable)"
		}
		s.logger.LogAttrs(r.Context(), slog.LevelWarn, msg,
			append(requestAttrs(ev, r), slog.String(events.Key, event), slog.String("site", gs.Name), slog.String("user", res.User),
				slog.String("rule", res.Rule), events.Cert("cert", id.Cert()))...)
	}
	if !s.logger.Enabled(r.Context(), slog.LevelDebug) {
		return
	}
	s.logger.LogAttrs(r.Context(), slog.LevelDebug, "client certificate mapped",
		append(requestAttrs(ev, r), slog.String("site", gs.Name), slog.String("user", res.User),
			slog.Any("groups", res.Groups), slog.String("rule", res.Rule), events.Cert("cert", id.Cert()))...)
}

// refuseIdentity answers 403.12 (certificate mapping) or 403.100
// (allow_users / allow_groups). It is Server.refuse with the mapping in
// the log line: the deciding rule, the user and the certificate (subject,
// issuer, serial, SHA-256), which an operator needs to fix a rule.
func (s *Server) refuseIdentity(w http.ResponseWriter, r *http.Request, ev *RequestEvent, gs *Site, id *Identity, d *site.Denial, res mapping.Result, detailed bool) {
	p := problem{Sub: d.Sub, Code: d.Code, Reason: d.Rule + ": " + d.Reason, Detailed: detailed, RequestID: ev.ID}
	ev.Sub, ev.Code = p.Sub, p.Code
	event, level := events.EventMappingDenied, slog.LevelInfo
	switch {
	case d.Sub == substatus.UserNotAllowedHere:
		event = events.EventUserNotAllowed
	case d.Code == substatus.SecENoAuthenticatingAuthority:
		// An outage the operator must fix, not a client the rules refuse.
		event, level = events.EventDirectoryUnavailable, slog.LevelWarn
	}
	attrs := append(requestAttrs(ev, r),
		slog.String(events.Key, event),
		slog.String("site", gs.Name),
		slog.String("substatus", d.Sub.String()),
		slog.String("code", d.Code.Name()),
		slog.String("code_hex", d.Code.Hex()),
		slog.String("win32", d.Code.Decimal()),
		slog.String("rule", res.Rule),
		slog.String("reason", p.Reason),
	)
	if res.User != "" {
		attrs = append(attrs, slog.String("user", res.User), slog.Any("groups", res.Groups))
	}
	if c := id.Cert(); c != nil {
		attrs = append(attrs, events.Cert("cert", c))
	}
	// Info: a client the rules refuse is not something the operator must
	// fix (the same level as client_cert_rejected); a directory outage is.
	s.logger.LogAttrs(r.Context(), level, "request refused by certificate mapping", attrs...)
	writeProblem(w, r, p)
}

// forwardIdentity sets the identity headers of a request to the upstream
// (forward.Apply): the mapped user and groups, and RFC 9440 Client-Cert /
// Client-Cert-Chain for a verified certificate. Nothing is set for an
// anonymous request or an unverified certificate (an invalid certificate
// downgraded on an accept location is never forwarded). The values are
// encoded once per connection (cs.forwardHeaders); cs may be nil.
func forwardIdentity(h http.Header, gs *Site, id *Identity, cs *connState) {
	fid := forward.Identity{}
	if id != nil {
		fid = forward.Identity{User: id.User, Groups: id.Groups, Chain: id.Chain()}
	}
	cs.forwardHeaders(gs, fid).Apply(h)
}
