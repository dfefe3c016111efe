package mapping

import "errors"

// Sentinel errors; match them with errors.Is.
var (
	// ErrDuplicateCertificate is returned when two one_to_one entries name
	// the same certificate (a fingerprint and a cert: file, say).
	ErrDuplicateCertificate = errors.New("duplicate one_to_one certificate")
	// ErrCertFile wraps problems reading a one_to_one cert: file.
	ErrCertFile = errors.New("read mapped certificate")
	// ErrMalformedUPN is returned by UPNs for a UPN otherName that is not a
	// valid UTF8String explicitly tagged [0].
	ErrMalformedUPN = errors.New("malformed UPN otherName")
)
