// Package forward decides which identity headers reach the upstream: it
// strips every identity header a client could use to impersonate someone
// (StripSpoofable), and encodes the verified certificate as RFC 9440
// Client-Cert / Client-Cert-Chain structured-field byte sequences
// (ClientCertHeaders), with the parser an upstream needs (ParseClientCert,
// ParseClientCertChain).
//
// Stripping compares header names case-insensitively and treats "_" like
// "-", because CGI, WSGI, PHP and nginx with underscores_in_headers turn
// both X-Remote-User and X_Remote_User into HTTP_X_REMOTE_USER: a header
// that only differs by underscores is the same header to such an upstream.
package forward
