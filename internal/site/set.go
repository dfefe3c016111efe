package site

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/certgate/certgate/internal/config"
)

// Set is every site of a config with the host lookup that chooses one by
// TLS server name or Host header.
type Set struct {
	// Config is the config the set was built from. Do not modify it.
	Config *config.Config
	// Sites in config order: Sites[i].Index == i.
	Sites []*Site
	// Default is the site for connections without SNI or with an unknown name.
	Default *Site
	// Warnings are the sites' load-time findings, in config order.
	Warnings []string

	exact    map[string]*Site // host name -> site
	wildcard map[string]*Site // "example.test" for "*.example.test" -> site
}

// BuildAll builds every site of cfg (Build) and the host lookup. All
// errors are reported, joined; on error nothing is left running.
func BuildAll(cfg *config.Config, o Options) (*Set, error) {
	if len(cfg.Sites) == 0 {
		return nil, cfg.FieldErr("sites", ErrNoSites)
	}
	set := &Set{Config: cfg, exact: map[string]*Site{}, wildcard: map[string]*Site{}}
	var errs []error
	for i := range cfg.Sites {
		s, err := Build(cfg, i, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		set.Warnings = append(set.Warnings, s.Warnings...)
		set.Sites = append(set.Sites, s)
		for j, h := range s.Config.Hosts {
			h = NormalizeHost(h)
			m, key := set.exact, h
			if rest, ok := strings.CutPrefix(h, "*."); ok {
				m, key = set.wildcard, rest
			}
			if other, dup := m[key]; dup {
				errs = append(errs, cfg.FieldErr(fmt.Sprintf("sites[%d].hosts[%d]", i, j),
					fmt.Errorf("%w: %q is also a host of site %q", ErrDuplicateHost, h, other.Name)))
				continue
			}
			m[key] = s
		}
		if s.Config.Default && set.Default == nil {
			set.Default = s
		}
	}
	if len(errs) > 0 {
		set.Close()
		return nil, errors.Join(errs...)
	}
	if set.Default == nil {
		set.Default = set.Sites[0]
	}
	return set, nil
}

// SiteFor returns the site serving a host name (from SNI or a Host header,
// without port): an exact host first, then a wildcard covering exactly one
// leading label (*.example.test matches a.example.test, not
// a.b.example.test nor example.test), then the default site.
func (set *Set) SiteFor(name string) *Site {
	name = NormalizeHost(name)
	if name == "" {
		return set.Default
	}
	if s, ok := set.exact[name]; ok {
		return s
	}
	if _, parent, ok := strings.Cut(name, "."); ok {
		if s, ok := set.wildcard[parent]; ok {
			return s
		}
	}
	return set.Default
}

// Site returns the site with the given name, or nil.
func (set *Set) Site(name string) *Site {
	for _, s := range set.Sites {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Start starts every site's background work (Site.Start).
func (set *Set) Start(ctx context.Context) {
	for _, s := range set.Sites {
		s.Start(ctx)
	}
}

// Close stops every site's background work (Site.Close).
func (set *Set) Close() {
	for _, s := range set.Sites {
		s.Close()
	}
}

// NormalizeHost lower-cases a host name and drops a trailing dot: SNI and
// Host compare case-insensitively, and "a.example." names "a.example"
// (RFC 6066 section 3).
func NormalizeHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}
