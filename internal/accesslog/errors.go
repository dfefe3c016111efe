package accesslog

import "errors"

// Sentinel errors; callers match them with errors.Is.
var (
	// ErrInvalidRollover is returned by Open for a rollover other than
	// daily, size or none.
	ErrInvalidRollover = errors.New("invalid rollover")
	// ErrNoDir is returned by Open when Options.Dir is empty.
	ErrNoDir = errors.New("no access log directory")
)
