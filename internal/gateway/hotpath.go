package gateway

import (
	"net/http"

	"github.com/certgate/certgate/internal/forward"
)

// echoHeaders returns the request headers as an upstream would receive
// them: upstreamHeaders of a copy, or h itself when there is nothing to
// remove (the common case), which saves copying every header per request.
// The caller must not modify the result.
func echoHeaders(h http.Header, site *Site) http.Header {
	fw := &site.Config.Forward
	for k := range h {
		if forward.IsSpoofable(k, fw.UserHeader, fw.GroupsHeader) {
			return upstreamHeaders(h.Clone(), site)
		}
	}
	return h
}
