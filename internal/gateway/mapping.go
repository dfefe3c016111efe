package gateway

import (
	"log/slog"
	"net/http"

	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/forward"
	"github.com/certgate/certgate/internal/mapping"
	sitebuild "github.com/certgate/certgate/internal/site"
	"github.com/certgate/certgate/internal/substatus"
)

// This file wires certificate mapping and identity forwarding (issue 4)
// into the request path. The decisions are internal/mapping's and the
// header rules internal/forward's; here they meet the request.

// stripSpoofable removes from a client request every header an upstream
// could take for an identity asserted by certgate (forward.StripSpoofable:
// RFC 9440 Client-Cert(-Chain), Forwarded, X-Forwarded-*, the user and
// groups headers, in any case or underscore spelling). ServeHTTP runs it on
// every request before anything else looks at the headers, whatever the
// location policy, refused or not; trailers too, since a proxied request
// carries them to the upstream.
func (s *Server) stripSpoofable(r *http.Request, site *Site, ev *RequestEvent) {
	fw := &site.Config.Forward
	removed := forward.StripSpoofable(r.Header, []string{fw.UserHeader, fw.GroupsHeader})
	if len(r.Trailer) > 0 {
		removed = append(removed, forward.StripSpoofable(r.Trailer, []string{fw.UserHeader, fw.GroupsHeader})...)
	}
	if len(removed) > 0 && s.logger.Enabled(r.Context(), slog.LevelDebug) {
		// Debug, not Info: a load balancer in front legitimately sends
		// X-Forwarded-For on every request.
		s.logger.LogAttrs(r.Context(), slog.LevelDebug, "removed client-supplied identity headers",
			append(requestAttrs(ev, r), slog.String("site", site.Name), slog.Any("headers", removed))...)
	}
}

// mapIdentity runs after the location policy let a request through: it
// maps a verified certificate to a user (403.12 when mapping refuses it)
// and applies the location's allow_users / allow_groups (403.100). It sets
// id.User and id.Groups and reports whether the request may go on; when
// not, the answer has been written.
func (s *Server) mapIdentity(w http.ResponseWriter, r *http.Request, ev *RequestEvent, cs *connState, id *Identity, detailed bool) bool {
	site := cs.site
	res := mapping.Result{Rule: "no verified client certificate"}
	if id.Verified && site.Mapper != nil {
		// Once per connection (connmemo.go): the chain and Mapper are the connection's.
		res = cs.mapping(site.Mapper, id.Chain())
		if d := site.Mapper.Decide(res); d != nil {
			s.refuseIdentity(w, r, ev, site, id, d, res, detailed)
			return false
		}
		if res.Mapped() {
			id.User, id.Groups = res.User, res.Groups
			if s.logger.Enabled(r.Context(), slog.LevelDebug) {
				s.logger.LogAttrs(r.Context(), slog.LevelDebug, "client certificate mapped",
					append(requestAttrs(ev, r), slog.String("site", site.Name), slog.String("user", res.User),
						slog.Any("groups", res.Groups), slog.String("rule", res.Rule), events.Cert("cert", id.Cert()))...)
			}
		}
	}
	if lc := id.Location.Config; lc != nil && (len(lc.AllowUsers) > 0 || len(lc.AllowGroups) > 0) {
		if d := mapping.Authorize(res, id.Location.Path, lc.AllowUsers, lc.AllowGroups); d != nil {
			s.refuseIdentity(w, r, ev, site, id, d, res, detailed)
			return false
		}
	}
	return true
}

// refuseIdentity answers 403.12 or 403.100. It is Server.refuse with the
// mapping in the log line: the deciding rule, the user and the certificate
// (subject, issuer, serial, SHA-256), which an operator needs to fix a rule.
func (s *Server) refuseIdentity(w http.ResponseWriter, r *http.Request, ev *RequestEvent, site *Site, id *Identity, d *mapping.Denial, res mapping.Result, detailed bool) {
	p := problem{Sub: d.Sub, Code: d.Code, Reason: d.Rule + ": " + d.Reason, Detailed: detailed, RequestID: ev.ID}
	ev.Sub, ev.Code = p.Sub, p.Code
	event := events.EventMappingDenied
	if d.Sub == substatus.UserNotAllowedHere {
		event = events.EventUserNotAllowed
	}
	attrs := append(requestAttrs(ev, r),
		slog.String(events.Key, event),
		slog.String("site", site.Name),
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
	// fix (the same level as client_cert_rejected).
	s.logger.LogAttrs(r.Context(), slog.LevelInfo, "request refused by certificate mapping", attrs...)
	writeProblem(w, r, p)
}

// forwardIdentity sets the identity headers of a request to the upstream
// (forward.Apply): the mapped user and groups, and RFC 9440 Client-Cert /
// Client-Cert-Chain for a verified certificate. Nothing is set for an
// anonymous request or an unverified certificate (an invalid certificate
// downgraded on an accept location is never forwarded).
func forwardIdentity(h http.Header, site *Site, id *Identity) {
	fid := forward.Identity{}
	if id != nil {
		fid = forward.Identity{User: id.User, Groups: id.Groups, Chain: id.Chain()}
	}
	forward.Apply(h, sitebuild.ForwardOptions(site.Config.Forward), fid)
}
