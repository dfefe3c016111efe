package doctor

import "errors"

// Sentinel errors; callers match them with errors.Is. They are all input
// errors (exit code 2 in the CLI).
var (
	// ErrUnknownThing is returned by Explain for input that is neither a
	// sub-status, a Win32 code, an event ID nor a W3C log line.
	ErrUnknownThing = errors.New("not a sub-status, Win32 code, event ID or W3C log line")
	// ErrNotCatalogued is returned by Explain for a well-formed sub-status,
	// code or event that the catalogue does not describe.
	ErrNotCatalogued = errors.New("not in the catalogue")
	// ErrLogLine is returned for a W3C line that does not match its #Fields.
	ErrLogLine = errors.New("malformed W3C log line")
	// ErrNoCertificates is returned when an input file holds no certificate.
	ErrNoCertificates = errors.New("no certificates found")
	// ErrBadInput is returned for unreadable or unparsable input files.
	ErrBadInput = errors.New("unreadable input")
	// ErrPassword is returned when a PKCS#12 file cannot be decrypted.
	ErrPassword = errors.New("wrong PKCS#12 password")
	// ErrURL is returned for a probe URL that is not https://host[:port]/path.
	ErrURL = errors.New("invalid URL")
	// ErrUsage is returned for options that do not go together or are
	// missing (verify without any trust anchor, --site without -c...).
	ErrUsage = errors.New("invalid usage")
)
