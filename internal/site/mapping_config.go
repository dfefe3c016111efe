package site

import (
	"errors"
	"strconv"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/forward"
	"github.com/certgate/certgate/internal/mapping"
)

// This file converts the mapping and forward blocks of a site from the
// config schema to the engines' own option types: the site build is the
// only reader of config, and mapping and forward never import it.

// CompileMapping compiles the mapping block of cfg.Sites[i] (which went
// through config.Load, so its paths are resolved) and anchors errors in the
// config file: "certgate.yaml:31: sites[0].mapping.one_to_one[2].cert: ...".
// A site without a mapping block gets a Mapper that maps nothing and
// requires nothing.
func CompileMapping(cfg *config.Config, i int) (*mapping.Mapper, error) {
	m, err := mapping.Compile(MappingOptions(cfg.Sites[i].Mapping), "")
	if err == nil {
		return m, nil
	}
	prefix := "sites[" + strconv.Itoa(i) + "].mapping"
	var out []error
	var anchor func(error)
	anchor = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				anchor(e)
			}
			return
		}
		var fe *mapping.FieldError
		if errors.As(e, &fe) {
			out = append(out, cfg.FieldErr(prefix+"."+fe.Path, fe.Err))
			return
		}
		out = append(out, cfg.FieldErr(prefix, e))
	}
	anchor(err)
	return nil, errors.Join(out...)
}

// MappingOptions converts a mapping block; nil (no block) stays nil.
func MappingOptions(m *config.Mapping) *mapping.Options {
	if m == nil {
		return nil
	}
	o := &mapping.Options{
		Required: m.Required,
		UPN: mapping.UPN{
			Enabled:       m.UPN.Enabled,
			FallbackEmail: m.UPN.FallbackEmail,
			Groups:        m.UPN.Groups,
			Issuers:       m.UPN.Issuers,
		},
	}
	for _, e := range m.OneToOne {
		o.OneToOne = append(o.OneToOne, mapping.OneToOne{
			Fingerprint: e.Fingerprint,
			Cert:        e.Cert,
			User:        e.User,
			Groups:      e.Groups,
		})
	}
	for _, e := range m.ManyToOne {
		o.ManyToOne = append(o.ManyToOne, mapping.ManyToOne{
			Name: e.Name,
			Match: mapping.Match{
				Subject: e.Match.Subject,
				Issuer:  e.Match.Issuer,
				SAN: mapping.SANMatch{
					Email: e.Match.SAN.Email,
					DNS:   e.Match.SAN.DNS,
					URI:   e.Match.SAN.URI,
					UPN:   e.Match.SAN.UPN,
				},
			},
			IssuerFingerprint: e.IssuerFingerprint,
			User:              e.User,
			Groups:            e.Groups,
			Deny:              e.Deny,
		})
	}
	return o
}

// ForwardOptions converts a site's forward block (after config defaults:
// an unset client_cert means true).
func ForwardOptions(f config.Forward) forward.Options {
	return forward.Options{
		UserHeader:   f.UserHeader,
		GroupsHeader: f.GroupsHeader,
		ClientCert:   f.ClientCert == nil || *f.ClientCert,
	}
}
