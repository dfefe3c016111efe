// Package pki is certgate's development certificate authority: it creates
// roots, intermediates of any depth, server and client certificates, CRLs
// (including delta CRLs) and the PEM / PKCS#12 files that go with them.
//
// It exists so that every test, `certgate demo` and `certgate pki` build
// their certificates at run time from one small, explicit API instead of
// checked-in keys. Defaults follow what a Windows/IIS client-certificate
// deployment looks like (ECDSA P-256, digitalSignature + clientAuth for
// clients), and every default can be overridden or removed with an Option so
// that tests can build the broken certificates the verifier must reject
// (Key Usage without digitalSignature, EKU without clientAuth, SHA-1
// signatures, bad signatures, odd validity windows...).
//
// Nothing here is meant for production CAs: keys live in memory or in
// unencrypted PKCS#8 files (mode 0600).
package pki
