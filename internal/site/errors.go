package site

import "errors"

// Sentinels; match with errors.Is.
var (
	// ErrNoSites: the config has no site to serve.
	ErrNoSites = errors.New("no sites configured")
	// ErrDuplicateHost: two sites claim the same SNI name.
	ErrDuplicateHost = errors.New("host already used by another site")
	// ErrNoCertificates: a PEM file or directory held no certificate.
	ErrNoCertificates = errors.New("no certificates found")
	// ErrBadLocation: a location path that is not an absolute URL path.
	ErrBadLocation = errors.New("location path must start with /")
)
