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

// FieldError is a problem with one field of Options. Path is relative to
// the Options and spelled as in certgate.yaml ("one_to_one[2].cert",
// "many_to_one[0].match.subject.OU"), so that whoever built the Options
// can anchor it where they came from: the site build reports
// "certgate.yaml:31: sites[0].mapping.one_to_one[2].cert: ...".
type FieldError struct {
	Path string
	Err  error
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Err.Error() }

// Unwrap returns the cause, so errors.Is(err, ErrCertFile) works through a
// FieldError.
func (e *FieldError) Unwrap() error { return e.Err }
