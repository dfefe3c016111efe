package pattern

import "errors"

// ErrBadPattern is wrapped by every glob compile error.
var ErrBadPattern = errors.New("bad glob pattern")

// ErrBadTemplate is wrapped by every user template parse error.
var ErrBadTemplate = errors.New("bad user template")
