package site

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"

	"github.com/certgate/certgate/internal/certfile"
	"github.com/certgate/certgate/internal/directory"

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
	prefix := "sites[" + strconv.Itoa(i) + "].mapping"
	o := MappingOptions(cfg.Sites[i].Mapping)
	if d := cfg.Sites[i].Mapping; d != nil && d.Directory != nil {
		dir, field, err := NewDirectory(d.Directory)
		if err != nil {
			return nil, cfg.FieldErr(prefix+".directory"+field, err)
		}
		o.Directory = dir
	}
	m, err := mapping.Compile(o, "")
	if err == nil {
		return m, nil
	}
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
	o := forward.Options{
		UserHeader:   f.UserHeader,
		GroupsHeader: f.GroupsHeader,
		ClientCert:   f.ClientCert == nil || *f.ClientCert,
		XFCC:         f.XFCC,
	}
	if h := f.SSLHeaders; h != nil {
		o.SSL = &forward.SSLHeaders{Verify: h.Verify, SubjectDN: h.SubjectDN, IssuerDN: h.IssuerDN, Serial: h.Serial, SHA256: h.Fingerprint, Cert: h.Cert}
	}
	o.Strip = append(forward.Names(o), f.Strip...)
	return o
}

// NewDirectory converts a mapping.directory block (after config defaults)
// into directory.Options, reading its CA and password files, and creates
// the Directory. It does not connect. On error, field is the offending
// key (".ca", ".password_file") relative to the block.
func NewDirectory(d *config.Directory) (dir *directory.Directory, field string, err error) {
	o := directory.Options{
		URL:           d.URL,
		ServerName:    d.ServerName,
		BindDN:        d.BindDN,
		BaseDN:        d.BaseDN,
		Timeout:       d.Timeout,
		DialTimeout:   d.DialTimeout,
		PoolSize:      d.Pool,
		CacheTTL:      d.Cache.TTL,
		NegativeTTL:   d.Cache.NegativeTTL,
		StaleIfError:  d.Cache.StaleIfError,
		CacheSize:     d.Cache.Size,
		AllowWeak:     d.AllowWeak,
		MaxGroupDepth: d.GroupDepth,
	}
	for _, m := range d.Methods {
		o.Methods = append(o.Methods, directory.Method(m))
	}
	if d.CA != "" {
		certs, err := certfile.LoadCertificates(d.CA)
		if err != nil {
			return nil, ".ca", err
		}
		o.RootCAs = x509.NewCertPool()
		for _, c := range certs {
			o.RootCAs.AddCert(c)
		}
	}
	if d.PasswordFile != "" {
		b, err := certfile.ReadPasswordFile(d.PasswordFile)
		if err != nil {
			return nil, ".password_file", fmt.Errorf("read bind password: %w", err)
		}
		if len(b) == 0 {
			return nil, ".password_file", fmt.Errorf("%s is empty", d.PasswordFile)
		}
		o.Password = string(b)
	}
	dir, err = directory.New(o)
	if err != nil {
		return nil, "", err
	}
	return dir, "", nil
}
