// Package substatus is the one catalogue of certgate's outcomes: IIS-style
// HTTP sub-statuses (403.7, 403.12, 403.13, 403.16, 403.17...) and the
// Win32-style HRESULT codes that IIS writes to sc-win32-status.
//
// The 403 page, the W3C access log, metrics labels and `certgate explain`
// all read their strings from here; nothing else spells them, nor the
// response headers that carry them (headers.go).
package substatus

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Sub is an HTTP status with an IIS sub-status, such as 403.16.
// Sub 0 means "no sub-status" (IIS logs sc-substatus 0).
type Sub struct {
	Status int
	Sub    int
}

// The sub-statuses certgate answers with.
var (
	OK                 = Sub{200, 0}
	CertRequired       = Sub{403, 7}  // IIS 403.7
	MapperDenied       = Sub{403, 12} // IIS 403.12
	CertRevoked        = Sub{403, 13} // IIS 403.13 (also "revocation status unavailable")
	CertUntrusted      = Sub{403, 16} // IIS 403.16
	CertTimeInvalid    = Sub{403, 17} // IIS 403.17
	UserNotAllowedHere = Sub{403, 100}
	SSLRequired        = Sub{403, 4} // IIS 403.4, plain HTTP to an HTTPS-only site
	MisdirectedRequest = Sub{421, 0}
	BadGateway         = Sub{502, 0}
	ServiceUnavailable = Sub{503, 0}
	// ConnectionLimit: the client has more connections open than
	// limits.max_connections_per_ip allows (IIS 503.2, concurrent request
	// limit exceeded).
	ConnectionLimit = Sub{503, 2}
	// RequestTimeout: the request body did not arrive within
	// timeouts.read_body.
	RequestTimeout      = Sub{408, 0}
	BadRequest          = Sub{400, 0}
	NotFound            = Sub{404, 0}
	InternalServerError = Sub{500, 0}
)

// String renders "403.16", or "200" when there is no sub-status.
func (s Sub) String() string {
	if s.Sub == 0 {
		return strconv.Itoa(s.Status)
	}
	return fmt.Sprintf("%d.%d", s.Status, s.Sub)
}

// IsZero reports whether s is the zero value (no decision).
func (s Sub) IsZero() bool { return s.Status == 0 }

// ParseSub parses "403.16" or "403".
func ParseSub(text string) (Sub, error) {
	major, minor, hasMinor := strings.Cut(strings.TrimSpace(text), ".")
	st, err := strconv.Atoi(major)
	if err != nil || st < 100 || st > 599 {
		return Sub{}, fmt.Errorf("parse sub-status %q: want STATUS or STATUS.SUB such as 403.16", text)
	}
	s := Sub{Status: st}
	if hasMinor {
		n, err := strconv.Atoi(minor)
		if err != nil || n < 0 {
			return Sub{}, fmt.Errorf("parse sub-status %q: sub-status must be a non-negative number", text)
		}
		s.Sub = n
	}
	return s, nil
}

// Entry describes a sub-status for people.
type Entry struct {
	Sub Sub
	// Title follows IIS wording: "HTTP Error 403.16 - Forbidden: <Title>".
	Title string
	// Reason is the HTTP reason phrase ("Forbidden").
	Reason string
	// ClientAdvice is what the person at the browser can do; safe to show to anyone.
	ClientAdvice string
	// Causes are the likely causes, most frequent first.
	Causes []string
	// NextSteps are commands or checks for the operator.
	NextSteps []string
}

// Heading renders the IIS page heading: "HTTP Error 403.16 - Forbidden: Client certificate is untrusted or invalid".
func (e Entry) Heading() string {
	h := fmt.Sprintf("HTTP Error %s - %s", e.Sub, e.Reason)
	if e.Title != "" && e.Title != e.Reason {
		h += ": " + e.Title
	}
	return h
}

var entries = map[Sub]Entry{
	OK: {Sub: OK, Reason: "OK", Title: "OK"},
	CertRequired: {
		Sub: CertRequired, Reason: "Forbidden", Title: "Client certificate required",
		ClientAdvice: "This page requires a client certificate. Install a certificate issued by one of the certificate authorities this site accepts, then close all browser windows and try again.",
		Causes: []string{
			"The browser had a certificate but did not offer it: its issuing root is not in the list of acceptable CA names the server sends (the CTL / issuer_list). Chromium and Firefox only offer certificates that chain to a listed name.",
			"The issuer list was truncated (past ~12-16 KB Schannel drops CAs; certgate logs the dropped CAs) and the client's root fell off the end.",
			"The certificate is not offerable: expired, Key Usage without digitalSignature, EKU without clientAuth, or the private key is missing from the store.",
			"The client has no certificate installed, or the user dismissed the certificate picker.",
			"A TLS-terminating proxy or load balancer in front of the server did not forward the certificate.",
		},
		NextSteps: []string{
			"certgate probe https://HOST/ (which CA names does the server send, and how large is the list?)",
			"certgate select --from https://HOST/ --store CLIENT.p12 (would a browser offer this certificate?)",
		},
	},
	MapperDenied: {
		Sub: MapperDenied, Reason: "Forbidden", Title: "Mapper denied access",
		ClientAdvice: "Your certificate is valid but is not mapped to an account that may use this site. Ask the site administrator to map your certificate.",
		Causes: []string{
			"No mapping rule matched the certificate and mapping is required.",
			"A deny rule matched the certificate.",
			"A one-to-one mapping was made for an older certificate: a renewed certificate has a new fingerprint and no longer matches.",
		},
		NextSteps: []string{"certgate map test -c certgate.yaml --site SITE CERT.pem"},
	},
	CertRevoked: {
		Sub: CertRevoked, Reason: "Forbidden", Title: "Client certificate revoked",
		ClientAdvice: "Your client certificate has been revoked, or the server could not confirm that it is not revoked. Contact the site administrator or request a new certificate.",
		Causes: []string{
			"The certificate, or one of its intermediate CAs, is listed on its issuer's CRL or reported revoked by OCSP (CRYPT_E_REVOKED).",
			"A CRL distribution point of one certificate in the chain could not be reached or returned an invalid or expired CRL, and revocation checking is online (CRYPT_E_REVOCATION_OFFLINE).",
			"Revocation is cache-only and no local or cached CRL covers one of the CAs.",
		},
		NextSteps: []string{
			"certgate verify --urlfetch CLIENT.pem -c certgate.yaml --site SITE (shows every CDP/OCSP URL and what fetching it gave)",
		},
	},
	CertUntrusted: {
		Sub: CertUntrusted, Reason: "Forbidden", Title: "Client certificate is untrusted or invalid",
		ClientAdvice: "Your client certificate was not issued by a certificate authority this site trusts, or it is not valid for client authentication. Use the certificate the site administrator issued to you.",
		Causes: []string{
			"The certificate chains to a root that is not in the site's trusted roots (CERT_E_UNTRUSTEDROOT), or comes from a PKI the site does not trust at all, so no chain can be built (CERT_E_CHAINING).",
			"An intermediate CA is missing: the client did not send it and it is not configured in trust.intermediates (CERT_E_CHAINING).",
			"The certificate is not meant for client authentication: Key Usage without digitalSignature or EKU without clientAuth (CERT_E_WRONG_USAGE).",
			"A signature in the chain does not verify, or the certificate is malformed (TRUST_E_CERT_SIGNATURE).",
			"An intermediate was installed among the trusted roots, so the server's CA list names the intermediate and the client's root is missing (KB 2802568).",
		},
		NextSteps: []string{"certgate verify CLIENT.pem -c certgate.yaml --site SITE", "certgate lint -c certgate.yaml"},
	},
	CertTimeInvalid: {
		Sub: CertTimeInvalid, Reason: "Forbidden", Title: "Client certificate has expired or is not yet valid",
		ClientAdvice: "Your client certificate, or a certificate authority above it, has expired or is not yet valid. Check your computer's clock and renew the certificate.",
		Causes: []string{
			"The client certificate has expired.",
			"An intermediate CA in the chain has expired (the leaf can still look valid in the browser).",
			"The certificate's notBefore is in the future: a clock skew on the issuing CA or on this server.",
		},
		NextSteps: []string{"certgate verify CLIENT.pem -c certgate.yaml --site SITE"},
	},
	UserNotAllowedHere: {
		Sub: UserNotAllowedHere, Reason: "Forbidden", Title: "Mapped user is not allowed for this location",
		ClientAdvice: "Your certificate identifies you, but your account is not allowed to use this part of the site.",
		Causes: []string{
			"The location sets allow_users or allow_groups and the mapped user is in none of them.",
		},
		NextSteps: []string{"certgate map test -c certgate.yaml --site SITE CERT.pem"},
	},
	SSLRequired: {
		Sub: SSLRequired, Reason: "Forbidden", Title: "SSL required",
		ClientAdvice: "Use https:// to reach this site.",
	},
	MisdirectedRequest: {Sub: MisdirectedRequest, Reason: "Misdirected Request", Title: "Misdirected Request",
		ClientAdvice: "The Host header names a different site than the TLS server name (SNI) of this connection."},
	BadGateway: {Sub: BadGateway, Reason: "Bad Gateway", Title: "Bad Gateway",
		ClientAdvice: "The application behind this gateway did not answer. Try again later."},
	ServiceUnavailable: {Sub: ServiceUnavailable, Reason: "Service Unavailable", Title: "Service Unavailable",
		ClientAdvice: "Try again later."},
	ConnectionLimit: {Sub: ConnectionLimit, Reason: "Service Unavailable", Title: "Too many connections from this address",
		ClientAdvice: "Your computer (or the network address it shares) has too many connections open to this site. Close some and try again.",
		Causes:       []string{"The client address has more connections open than limits.max_connections_per_ip allows: a client opening connections without closing them, or many users behind one address (then raise the limit, or have the proxy send the PROXY protocol)."}},
	RequestTimeout: {Sub: RequestTimeout, Reason: "Request Timeout", Title: "Request Timeout",
		ClientAdvice: "The request body did not arrive in time. Try again on a faster connection.",
		Causes:       []string{"The client sent its request body slower than timeouts.read_body allows for the whole body (a slow upload, or a client holding the connection open on purpose)."}},
	BadRequest:          {Sub: BadRequest, Reason: "Bad Request", Title: "Bad Request", ClientAdvice: "The request was malformed."},
	NotFound:            {Sub: NotFound, Reason: "Not Found", Title: "Not Found", ClientAdvice: "No such page."},
	InternalServerError: {Sub: InternalServerError, Reason: "Internal Server Error", Title: "Internal Server Error", ClientAdvice: "Try again later."},
}

// Lookup returns the catalogue entry for s.
func Lookup(s Sub) (Entry, bool) {
	e, ok := entries[s]
	return e, ok
}

// Must returns the catalogue entry for s, else its IIS title (iis.go), else
// a generic entry naming s.
func Must(s Sub) Entry {
	if e, ok := entries[s]; ok {
		return e
	}
	if e, ok := iisEntry(s); ok {
		return e
	}
	return Entry{Sub: s, Reason: "Error", Title: "Error " + s.String()}
}

// Subs lists every catalogued sub-status in numeric order.
func Subs() []Sub {
	out := make([]Sub, 0, len(entries))
	for s := range entries {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Status != out[j].Status {
			return out[i].Status < out[j].Status
		}
		return out[i].Sub < out[j].Sub
	})
	return out
}
