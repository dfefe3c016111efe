package forward

import "errors"

// ErrBadByteSequence is wrapped by the parsers for a value that is not an
// RFC 8941 byte sequence (":" base64 ":").
var ErrBadByteSequence = errors.New("not a structured-field byte sequence")
