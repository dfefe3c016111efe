package site

import (
	"fmt"
	"strings"

	"github.com/certgate/certgate/internal/config"
)

// LayoutWarnings are `certgate check`'s findings about a site's locations:
// trust or mapping that no location uses, and the "protect a prefix,
// ignore /" layout, where every path that misses the prefix (a typo in
// the config, a case or spelling the backend reads as the same resource)
// is anonymous.
func (s *Site) LayoutWarnings() []string {
	var out []string
	var protected []string
	for _, l := range s.Locations {
		if l.Policy != config.ClientCertIgnore {
			protected = append(protected, l.Path)
		}
	}
	usesCert := len(protected) > 0 || s.Implicit != nil && s.Implicit.Policy != config.ClientCertIgnore
	if !usesCert {
		if len(s.Config.ClientAuth.Trust.Roots) > 0 {
			out = append(out, fmt.Sprintf("site %q: client_auth.trust is configured but no location accepts or requires a certificate: nothing is verified (set client_cert on a location, or remove the trust)", s.Name))
		}
		if s.Config.Mapping != nil {
			out = append(out, fmt.Sprintf("site %q: mapping is configured but no location accepts or requires a certificate: nobody is ever mapped", s.Name))
		}
		return out
	}
	if root := s.Locate("/"); root.Policy == config.ClientCertIgnore && len(protected) > 0 {
		w := fmt.Sprintf("site %q: %s accept(s) or require(s) a certificate while \"/\" is ignore: a path that misses the prefix, by a typo or a spelling the upstream reads as the same resource, is anonymous; prefer client_cert: require on \"/\" with ignore on the public exceptions",
			s.Name, strings.Join(protected, ", "))
		if !s.CaseInsensitive {
			w += " (and paths.case_insensitive: true in front of IIS or another case-insensitive backend)"
		}
		out = append(out, w)
	}
	return out
}

// Weakening is a change between two builds of a config that lets more
// requests through: a site removed, or a path whose policy became less
// demanding.
type Weakening struct {
	Site string
	// Removed: the site is gone; Path, From and To are empty.
	Removed bool
	// Path is the location path (or "/" for the paths no location
	// covers) whose policy went From -> To.
	Path, From, To string
}

// Weakened compares the sites of a running build with those of a new one
// (matched by name) and lists every site removed and every location path
// whose governing policy in the new build is weaker: ignore < accept <
// accept with reject_invalid < require.
func Weakened(old, next []*Site) []Weakening {
	byName := make(map[string]*Site, len(next))
	for _, s := range next {
		byName[s.Name] = s
	}
	var out []Weakening
	for _, o := range old {
		n := byName[o.Name]
		if n == nil {
			out = append(out, Weakening{Site: o.Name, Removed: true})
			continue
		}
		locs := append([]*Location{}, o.Locations...)
		if o.Implicit != nil {
			locs = append(locs, o.Implicit)
		}
		for _, l := range locs {
			nl := n.Locate(l.Path)
			if l.Index < 0 && n.Implicit != nil {
				nl = n.Implicit
			}
			if policyRank(nl) < policyRank(l) {
				out = append(out, Weakening{Site: o.Name, Path: l.Path, From: policyName(l), To: policyName(nl)})
			}
		}
	}
	return out
}

func policyRank(l *Location) int {
	switch l.Policy {
	case config.ClientCertIgnore:
		return 0
	case config.ClientCertAccept:
		if l.RejectInvalid {
			return 2
		}
		return 1
	}
	return 3
}

func policyName(l *Location) string {
	if l.Policy == config.ClientCertAccept && l.RejectInvalid {
		return "accept (reject_invalid)"
	}
	return l.Policy
}
