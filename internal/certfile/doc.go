// Package certfile reads certificates and key pairs from the files a config
// points at: PEM or DER, single files or directories, with errors that name
// the file and the PEM block at fault ("parse ca.pem: block 2: x509: ...").
//
// It is deliberately strict where silence would hurt: a file that yields no
// certificate, a PEM block that does not decode, a key that does not match
// its certificate or is encrypted are all errors, because each of them
// otherwise shows up much later as an unexplained 403.16 or a failed
// handshake. Arbitrary input returns an error, never a panic
// (FuzzLoadCertificates).
package certfile
