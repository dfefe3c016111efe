package pki

import "errors"

// Sentinel errors; callers match them with errors.Is. Messages returned by
// this package wrap them with the file, flag or option concerned.
var (
	// ErrUnknownKeyType is returned for a KeyType other than the ones listed
	// in KeyTypes.
	ErrUnknownKeyType = errors.New("unknown key type")
	// ErrNotCA is returned when a certificate used as an issuer is not a CA.
	ErrNotCA = errors.New("certificate is not a CA")
	// ErrNoKey is returned when a CA without a private key (for example a
	// parent loaded from a bundle) is asked to sign.
	ErrNoKey = errors.New("CA has no private key")
	// ErrKeyMismatch is returned when a private key does not belong to the
	// certificate it was loaded with.
	ErrKeyMismatch = errors.New("private key does not match certificate")
	// ErrInvalidOption is returned when an Option value cannot be used
	// (bad URI, max path length on a leaf, validity window reversed...).
	ErrInvalidOption = errors.New("invalid option")
	// ErrNoPEM is returned when a file holds no PEM block of the expected type.
	ErrNoPEM = errors.New("no PEM data")
	// ErrExists is returned by Store when it would overwrite a file without Force.
	ErrExists = errors.New("file already exists")
	// ErrInvalidName is returned by Store for names that are not plain base names.
	ErrInvalidName = errors.New("invalid name")
)
