// Package report builds what `certgate map test` and `certgate map list`
// print: it loads the site's trust and the certificate file (the I/O that
// internal/mapping, being pure, does not do), runs the verify engine and the
// mapper exactly as the gateway does, and renders the result as text. The
// CLI only parses flags and picks text or JSON.
package report
