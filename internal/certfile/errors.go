package certfile

import "errors"

// Sentinel errors; match them with errors.Is. Returned errors wrap them with
// the file (and PEM block) concerned.
var (
	// ErrEmptyFile is returned for a zero-length (or whitespace-only) file.
	ErrEmptyFile = errors.New("file is empty")
	// ErrMalformedPEM is returned when a "-----BEGIN" line starts a block
	// that does not decode (bad base64, missing END line).
	ErrMalformedPEM = errors.New("malformed PEM block")
	// ErrNoCertificates is returned when a file or directory yields no
	// certificate at all.
	ErrNoCertificates = errors.New("no certificates found")
	// ErrNoKey is returned when a key file holds no private key.
	ErrNoKey = errors.New("no private key found")
	// ErrEncryptedKey is returned for a password-protected key read
	// without a password: certgate cannot prompt for one at startup or
	// reload, so it comes from a file (certificate.password_file).
	ErrEncryptedKey = errors.New("encrypted private keys are not supported")
	// ErrUnsupportedKey is returned for a private key that cannot sign a
	// TLS handshake (for example an X25519 key).
	ErrUnsupportedKey = errors.New("unsupported private key type")
	// ErrKeyMismatch is returned when the private key does not belong to
	// the first certificate of the certificate file.
	ErrKeyMismatch = errors.New("private key does not match the certificate")
	// ErrDSA is wrapped when a DSA certificate cannot be parsed (for
	// example one that inherits its DSA parameters from its issuer, RFC
	// 3279 2.3.2). certgate accepts no DSA chain at all: DSA is withdrawn
	// by FIPS 186-5 and crypto/x509 cannot verify DSA signatures.
	ErrDSA = errors.New("DSA certificate: DSA is not supported (withdrawn by FIPS 186-5; crypto/x509 verifies no DSA signature)")
)

// ErrWrongPassword is returned when a password does not open a PKCS#12 file
// or an encrypted private key.
var ErrWrongPassword = errors.New("wrong password")
