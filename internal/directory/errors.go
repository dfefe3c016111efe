package directory

import "errors"

// Sentinel errors; match them with errors.Is.
var (
	// ErrUnavailable: the directory could not be asked (connection, TLS,
	// bind, timeout, server error). The caller fails closed with
	// SEC_E_NO_AUTHENTICATING_AUTHORITY; it never means "no account".
	ErrUnavailable = errors.New("directory unavailable")
	// ErrOptions: the Options cannot work (bad URL, weak method without
	// AllowWeak...).
	ErrOptions = errors.New("invalid directory options")
)
