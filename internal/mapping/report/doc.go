// Package report builds what `certgate map test` and `certgate map list`
// print: it builds the site with internal/site (the gateway's trust,
// verifier with its revocation engine, run cache-only so that nothing is
// fetched, and mapper; no server key), reads the certificate file, judges
// with site.Decide exactly as the gateway does, and renders the result as
// text. The CLI only parses flags and picks text or JSON.
package report
