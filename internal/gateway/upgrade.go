package gateway

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/certgate/certgate/internal/config"
)

// Protocol upgrades (RFC 9110 section 7.8). After a 101 Switching
// Protocols the gateway copies bytes both ways and sees nothing more: no
// request line, no path, no headers. An upgrade is therefore a decision
// about the whole rest of the connection, and it is allowed only where an
// operator listed the protocol on the location (`upgrade: [websocket]`).
// The upgrade request itself is an ordinary request of that location: its
// certificate policy, mapping and allow lists apply to it (ServeHTTP
// decides before any upstream sees it), and the identity headers are set
// on it like on any other request.
//
// h2c is refused everywhere: RFC 9113 section 3.1 removed it, and after
// its 101 the tunnel carries HTTP/2 requests for any path, with any
// headers, that no location rule ever sees. CONNECT is refused too: the
// gateway is a reverse proxy, not a tunnel.

// upgradeRefusal returns why r must be refused as an upgrade or tunnel
// request on loc, or "" when r is not one or its protocol is listed. It
// costs two map lookups for an ordinary request.
func upgradeRefusal(r *http.Request, loc *Location) string {
	if r.Method == http.MethodConnect {
		return "CONNECT is refused: the gateway is a reverse proxy and opens no tunnels"
	}
	up, hasUp := r.Header["Upgrade"]
	if !hasUp {
		if connectionHasToken(r.Header["Connection"], "upgrade") {
			return "Connection: upgrade without an Upgrade header is refused"
		}
		return ""
	}
	if len(up) != 1 {
		// httputil.ReverseProxy would forward the first line only; a
		// request that names its protocol twice is refused instead.
		return "more than one Upgrade header line is refused"
	}
	named := false
	for member := range strings.SplitSeq(up[0], ",") {
		name := strings.Trim(member, " \t")
		if name == "" {
			continue
		}
		named = true
		// A protocol may carry a version ("websocket/13"); the location
		// lists names.
		if i := strings.IndexByte(name, '/'); i >= 0 {
			name = name[:i]
		}
		if strings.EqualFold(name, config.UpgradeH2C) {
			return "Upgrade: h2c is always refused: RFC 9113 removed the h2c upgrade, and its tunnel would carry requests no location rule checks"
		}
		if !slices.ContainsFunc(loc.Upgrade, func(p string) bool { return strings.EqualFold(p, name) }) {
			allowed := "no upgrade"
			if len(loc.Upgrade) > 0 {
				allowed = "only " + strings.Join(loc.Upgrade, ", ")
			}
			return fmt.Sprintf("Upgrade: %q is not allowed on location %q, which allows %s (see the location's upgrade: list)", name, loc.Path, allowed)
		}
	}
	if !named {
		return "an empty Upgrade header is refused"
	}
	return ""
}

// checkUpgradeResponse is the proxy's ModifyResponse: a 101 reaches the
// client only for a protocol the request's location lists and the client
// asked for. httputil.ReverseProxy already refuses a 101 naming another
// protocol than the request's; this also holds when the request asked for
// none and when the location's list changed.
func checkUpgradeResponse(resp *http.Response) error {
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil
	}
	id := IdentityFrom(resp.Request.Context())
	got := resp.Header.Get("Upgrade")
	if id == nil || id.Location == nil {
		return fmt.Errorf("upstream switched protocols to %q outside a gateway request", got)
	}
	asked := ""
	if connectionHasToken(resp.Request.Header["Connection"], "upgrade") {
		asked = resp.Request.Header.Get("Upgrade")
	}
	name, _, _ := strings.Cut(got, "/")
	if asked == "" || !strings.EqualFold(got, asked) ||
		!slices.ContainsFunc(id.Location.Upgrade, func(p string) bool { return strings.EqualFold(p, name) }) {
		return fmt.Errorf("upstream answered 101 Switching Protocols to %q, which the request (Upgrade: %q) on location %q did not ask for or the location does not allow; the 101 is not forwarded",
			got, asked, id.Location.Path)
	}
	return nil
}

// connectionHasToken reports whether the Connection header lines list
// token (case-insensitive), as httpguts.HeaderValuesContainsToken does.
func connectionHasToken(lines []string, token string) bool {
	for _, line := range lines {
		for t := range strings.SplitSeq(line, ",") {
			if strings.EqualFold(strings.Trim(t, " \t"), token) {
				return true
			}
		}
	}
	return false
}
