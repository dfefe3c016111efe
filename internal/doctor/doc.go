// Package doctor is the logic behind certgate's troubleshooting commands
// (`verify`, `explain`, `lint`, `select`, `probe`): it answers "why was my
// certificate not offered / not accepted" from the same catalogue
// (internal/substatus), the same issuer-list arithmetic
// (internal/issuerlist) and, for verify, the same verification and
// revocation engines (internal/verify, internal/revocation) the gateway uses.
// With a config (`verify -c`), the site is built by internal/site, as the
// gateway builds it but without its server key, and judged by site.Decide;
// the doctor never imports the gateway.
//
// Every command returns a report value with a text rendering for people
// (WriteText) and JSON tags for machines; the cmd/certgate wiring only
// parses flags, calls one function and maps the report to an exit code
// (0 clean/accepted, 1 findings/rejected, 2 usage or input error).
//
// Network access is limited to probe, which dials the one URL it is given
// with timeouts on dial, handshake and read so that a silent server cannot
// hang the command, and to verify with --urlfetch, whose AIA, CRL and OCSP
// fetches all go through internal/revocation's bounded client.
package doctor
