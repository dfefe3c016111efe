// Package pkitest is a thin, fatal-on-error layer over package pki for
// tests: every helper takes a testing.TB and calls Fatal instead of
// returning an error, so a test reads as the PKI it builds:
//
//	root := pkitest.NewRoot(t, "Root")
//	sub := root.Intermediate(t, "Sub")
//	alice := sub.Client(t, "alice", pki.WithEmail("alice@example.test"))
//	crl := sub.CRL(t, pki.CRLOptions{}, alice.Cert)
//
// Certificates use the real clock (valid now-1h .. now+1y by default); tests
// that need fixed instants pass pki.WithValidity and give the verifier an
// explicit time.
package pkitest
