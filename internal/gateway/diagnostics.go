package gateway

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/reqpath"
	"github.com/certgate/certgate/internal/revocation"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// The self-service diagnostics page (sites[].diagnostics): it tells the
// person at the browser, for the connection the page is requested on,
// whether a certificate was sent, which CA names the site asked for, what
// the verification engine decided about each chain element, and what to do
// next. Every verdict is the engine's (the connection's memoized
// verify.Outcome and site.Decide); every sentence is the catalogue's
// (internal/substatus: UserAdvice, OfferRules). Server-side detail (the
// operator's reason, dropped CA names) is shown only where the 403 page
// would show it: loopback clients and sites with detailed_errors.

// diagnosticsReport is the page, and its JSON.
type diagnosticsReport struct {
	Site       string `json:"site"`
	RequestID  string `json:"request_id"`
	Time       string `json:"time"`
	TLSVersion string `json:"tls_version"`
	// Location is the path prefix whose policy the verdict is for.
	Location            string `json:"location"`
	Policy              string `json:"policy"`
	RequestsCertificate bool   `json:"requests_certificate"`
	CertificateSent     bool   `json:"certificate_sent"`
	// CANames are the names this site sends in the CertificateRequest,
	// in order: the browser offers only certificates under them. Empty
	// with CANamesSent false means any CA is acceptable to the browser.
	CANames     []string `json:"ca_names"`
	CANamesSent bool     `json:"ca_names_sent"`
	// CANamesDropped is how many configured CAs did not fit the list
	// (issuer_list.max_bytes); their names only with detailed errors.
	CANamesDropped int      `json:"ca_names_dropped"`
	DroppedCANames []string `json:"dropped_ca_names,omitempty"`
	// WhyNotOffered are the selection rules of `certgate select`, when no
	// certificate was sent.
	WhyNotOffered []substatus.OfferRule `json:"why_not_offered,omitempty"`
	Certificate   *diagCert             `json:"certificate,omitempty"`
	Chain         []diagElement         `json:"chain,omitempty"`
	Verdict       diagVerdict           `json:"verdict"`
	// User is the mapped user, when the certificate was accepted and mapped.
	User string `json:"user,omitempty"`
	// Advice is what to do next, from the catalogue's end-user text.
	Advice string `json:"advice"`
	// Reason is the operator's sentence, with detailed errors only.
	Reason   string      `json:"reason,omitempty"`
	Support  diagSupport `json:"support"`
	Detailed bool        `json:"detailed"`
}

type diagCert struct {
	Subject     string `json:"subject"`
	Issuer      string `json:"issuer"`
	Serial      string `json:"serial"`
	NotBefore   string `json:"not_before"`
	NotAfter    string `json:"not_after"`
	KeyUsage    string `json:"key_usage"`
	ExtKeyUsage string `json:"ext_key_usage"`
	SHA256      string `json:"sha256"`
}

type diagElement struct {
	Index    int    `json:"index"`
	Role     string `json:"role"`
	Subject  string `json:"subject"`
	Issuer   string `json:"issuer"`
	NotAfter string `json:"not_after"`
	// Verdict is "ok", "failed", "not checked" (after a failure the engine
	// stops) or, for the anchor of an accepted chain, "trusted".
	Verdict    string `json:"verdict"`
	Failing    bool   `json:"failing"`
	Revocation string `json:"revocation,omitempty"`
}

type diagVerdict struct {
	Accepted  bool   `json:"accepted"`
	Substatus string `json:"substatus"`
	Heading   string `json:"heading"`
	Code      string `json:"code,omitempty"`
	CodeHex   string `json:"code_hex,omitempty"`
	// Logged is sc-win32-status as the access log writes it.
	Logged string `json:"logged_win32"`
}

// diagSupport is the "copy for support" block: enough to find the request
// in the logs and the certificate in the CA's database.
type diagSupport struct {
	RequestID string `json:"request_id"`
	Site      string `json:"site"`
	Substatus string `json:"substatus"`
	Win32     string `json:"win32"`
	SHA256    string `json:"sha256,omitempty"`
	Time      string `json:"time"`
}

// diagnosticsFor builds the report for one request on cs. It runs the
// same verification and decision as ServeHTTP for the location of the
// site's root (or ?path=), so the verdict is the one the application's
// pages get on this connection.
func (s *Server) diagnosticsFor(r *http.Request, cs *connState, site *Site, reqID string, detailed bool) *diagnosticsReport {
	now := s.now().UTC()
	d := &diagnosticsReport{
		Site: site.Name, RequestID: reqID, Time: now.Format(time.RFC3339),
		TLSVersion:          tlsVersionName(r.TLS.Version),
		RequestsCertificate: site.RequestsCert,
		CertificateSent:     len(r.TLS.PeerCertificates) > 0,
		CANames:             []string{},
		Detailed:            detailed,
	}
	loc := site.Locate("/")
	// ?path= is judged by the same canonical-path rules as a request
	// path (read as sent: a '%' in it is refused).
	if p := r.URL.Query().Get("path"); p != "" {
		if rule, _ := reqpath.Check(p, site.PathAllow); rule != 0 {
			p = "/"
		}
		loc = site.Locate(p)
	}
	d.Location, d.Policy = loc.Path, loc.Policy
	if l := site.Issuers; l != nil && site.RequestsCert && l.Send {
		d.CANamesSent = true
		for _, c := range l.Kept {
			d.CANames = append(d.CANames, nameOf(c.Subject.String()))
		}
		d.CANamesDropped = len(l.Dropped)
		if detailed {
			for _, c := range l.Dropped {
				d.DroppedCANames = append(d.DroppedCANames, nameOf(c.Subject.String()))
			}
		}
	}

	var outcome *verify.Outcome
	if site.Verifier != nil {
		outcome = cs.verification(r.Context(), s, r.TLS.PeerCertificates)
	}
	sub, code := substatus.OK, substatus.NoError
	switch {
	case outcome == nil:
		// The site never asks for a certificate: nothing to diagnose
		// beyond saying so.
		d.Advice = "This site does not use client certificates; a certificate is neither asked for nor needed."
	default:
		dec := cs.decide(loc, outcome)
		if !d.CertificateSent {
			d.WhyNotOffered = substatus.OfferRules()
		}
		if leaf := outcome.Leaf(); leaf != nil {
			d.Certificate = certOf(leaf)
		} else if d.CertificateSent {
			d.Certificate = certOf(r.TLS.PeerCertificates[0])
		}
		d.Chain = chainOf(outcome)
		switch {
		case dec.Deny != nil:
			sub, code = dec.Deny.Sub, dec.Deny.Code
			d.Advice = substatus.UserAdvice(sub, code)
			if detailed {
				d.Reason = dec.Deny.Reason
			}
		case loc.Policy == config.ClientCertIgnore:
			d.Advice = "This part of the site does not use client certificates: you get in without one."
		case !outcome.OK():
			// An accept location lets an invalid certificate (or none)
			// through anonymously (IIS SslNegotiateCert); say what was
			// wrong with it all the same.
			sub, code = outcome.Sub, outcome.Code
			d.Advice = substatus.UserAdvice(sub, code) + " This part of the site lets you in without it, as an anonymous visitor."
			if detailed {
				d.Reason = outcome.Reason
			}
		default:
			d.Advice = "Your certificate is accepted by this site."
		}
		if dec.Verified {
			d.User = dec.User
		}
	}
	d.Verdict = diagVerdict{Accepted: sub == substatus.OK, Substatus: sub.String(), Heading: substatus.Must(sub).Heading(), Logged: code.W3C().Decimal()}
	if sub == substatus.OK {
		d.Verdict.Heading = "Accepted"
	}
	if code != substatus.NoError {
		d.Verdict.Code, d.Verdict.CodeHex = code.Name(), code.Hex()
	}
	d.Support = diagSupport{RequestID: reqID, Site: site.Name, Substatus: sub.String(), Win32: code.W3C().Decimal(), Time: d.Time}
	if code != substatus.NoError {
		d.Support.Win32 += " (" + code.Name() + ")"
	}
	if d.Certificate != nil {
		d.Support.SHA256 = d.Certificate.SHA256
	}
	return d
}

func nameOf(s string) string {
	if s == "" {
		return "(empty name)"
	}
	return s
}

func certOf(c *x509.Certificate) *diagCert {
	ku := "(not present: any)"
	if c.KeyUsage != 0 {
		ku = verify.KeyUsageNames(c.KeyUsage)
	}
	return &diagCert{
		Subject: nameOf(c.Subject.String()), Issuer: nameOf(c.Issuer.String()),
		Serial:    c.SerialNumber.Text(16),
		NotBefore: c.NotBefore.UTC().Format(time.RFC3339), NotAfter: c.NotAfter.UTC().Format(time.RFC3339),
		KeyUsage: ku, ExtKeyUsage: verify.EKUNames(c), SHA256: verify.Fingerprint(c),
	}
}

// chainOf lists the outcome's chain with the engine's verdict per element:
// the failing element marked, the ones above it not checked.
func chainOf(o *verify.Outcome) []diagElement {
	out := make([]diagElement, 0, len(o.Chain))
	failAt := -1
	if o.Element != nil {
		failAt = o.Element.Index
	}
	for i, c := range o.Chain {
		e := diagElement{Index: i, Subject: nameOf(c.Subject.String()), Issuer: nameOf(c.Issuer.String()),
			NotAfter: c.NotAfter.UTC().Format(time.RFC3339)}
		switch {
		case i == 0:
			e.Role = verify.RoleLeaf.String()
		case i == len(o.Chain)-1 && o.OK():
			e.Role = verify.RoleRoot.String()
		default:
			e.Role = verify.RoleIntermediate.String() + " " + strconv.Itoa(i)
		}
		switch {
		case o.OK() && i == len(o.Chain)-1 && i > 0:
			e.Verdict = "trusted"
		case o.OK():
			e.Verdict = "ok"
		case i == failAt:
			e.Verdict, e.Failing = "failed", true
		case failAt < 0:
			e.Verdict = "not checked"
		default:
			e.Verdict = "not the failing element"
		}
		if i < len(o.Revocation) && o.Revocation[i].Status != revocation.NotChecked {
			e.Revocation = o.Revocation[i].Status.String()
		}
		out = append(out, e)
	}
	return out
}

// diagnosticsLink is the "Why was I refused?" link of a 403 page: the
// site's diagnostics path when the page is on.
func diagnosticsLink(site *Site, sub substatus.Sub) string {
	if site == nil || !site.Config.Diagnostics.Page || sub.Status != http.StatusForbidden {
		return ""
	}
	return site.Config.Diagnostics.Path
}

// diagnostics answers the diagnostics path of a site, whatever the
// location policy: HTML, or JSON when the client prefers it. It never
// reaches the upstream.
func (s *Server) diagnostics(w http.ResponseWriter, r *http.Request, ev *RequestEvent, cs *connState, site *Site, detailed bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.refuse(w, r, ev, site, problem{Sub: substatus.Sub{Status: http.StatusMethodNotAllowed}, Detailed: detailed,
			Reason: "the diagnostics page answers GET and HEAD only"})
		return
	}
	d := s.diagnosticsFor(r, cs, site, ev.ID, detailed)
	ev.Sub, ev.Code = substatus.OK, substatus.NoError
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// A page about the visitor's certificate must not be framed or load
	// anything: no scripts, styles inline only.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set(HeaderRequestID, ev.ID)
	var body []byte
	if prefersJSON(r.Header.Values("Accept")) {
		h.Set("Content-Type", "application/json")
		b, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			panic(err) // strings, bools and ints only: cannot fail
		}
		body = append(b, '\n')
	} else {
		h.Set("Content-Type", "text/html; charset=utf-8")
		var b bytes.Buffer
		if err := diagTemplate.Execute(&b, d); err != nil {
			panic(err) // a fixed template over plain fields: a bug, caught by tests
		}
		body = b.Bytes()
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func tlsVersionName(v uint16) string {
	switch v {
	case 0x0304:
		return "TLS 1.3"
	case 0x0303:
		return "TLS 1.2"
	}
	return "0x" + strconv.FormatUint(uint64(v), 16)
}

var diagTemplate = template.Must(template.New("diag").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Certificate check - {{.Site}}</title>
<style>
body{margin:0;font:14px/1.5 "Segoe UI",system-ui,sans-serif;color:#222}
#header{background:#555;color:#fff;padding:6px 2%}
#header h1{margin:0;font-size:1.6em;font-weight:normal}
main{padding:0 2% 2em}
h2{font-size:1.3em;margin:1em 0 .5em}
h2.bad{color:#c00} h2.good{color:#070}
h3{font-size:1.05em;margin:1.5em 0 .3em}
table{border-collapse:collapse}
th,td{text-align:left;vertical-align:top;padding:2px 1em 2px 0}
tr.failing td{color:#c00;font-weight:bold}
pre{background:#f4f4f4;padding:.8em;white-space:pre-wrap}
</style>
</head>
<body>
<div id="header"><h1>Certificate check</h1></div>
<main>
{{- if .Verdict.Accepted}}
<h2 class="good" id="verdict">{{.Verdict.Heading}}</h2>
{{- else}}
<h2 class="bad" id="verdict">{{.Verdict.Heading}}</h2>
{{- end}}
<p id="advice">{{.Advice}}</p>
{{- with .Reason}}
<p><b>Detail:</b> {{.}}</p>
{{- end}}
{{- if .User}}
<p>You are signed in as <b id="user">{{.User}}</b>.</p>
{{- end}}

<h3>Your certificate</h3>
{{- if not .RequestsCertificate}}
<p>This site does not ask for a certificate.</p>
{{- else if not .CertificateSent}}
<p id="sent">Your browser did not send a certificate.</p>
<p>A browser offers a certificate only when it holds one that fits what the site asks for. The usual reasons it offers none:</p>
<ul>
{{- range .WhyNotOffered}}
<li>{{.Text}}</li>
{{- end}}
</ul>
{{- else}}
<p id="sent">Your browser sent a certificate.</p>
{{- with .Certificate}}
<table>
<tr><th>Subject</th><td>{{.Subject}}</td></tr>
<tr><th>Issuer</th><td>{{.Issuer}}</td></tr>
<tr><th>Valid</th><td>{{.NotBefore}} to {{.NotAfter}}</td></tr>
<tr><th>Key usage</th><td>{{.KeyUsage}}</td></tr>
<tr><th>Extended key usage</th><td>{{.ExtKeyUsage}}</td></tr>
<tr><th>Serial</th><td>{{.Serial}}</td></tr>
<tr><th>SHA-256</th><td>{{.SHA256}}</td></tr>
</table>
{{- end}}
{{- if .Chain}}
<h3>Check of each certificate in the chain</h3>
<table>
<tr><th>#</th><th>Role</th><th>Subject</th><th>Expires</th><th>Verdict</th><th>Revocation</th></tr>
{{- range .Chain}}
<tr{{if .Failing}} class="failing"{{end}}><td>{{.Index}}</td><td>{{.Role}}</td><td>{{.Subject}}</td><td>{{.NotAfter}}</td><td>{{if .Failing}}&#x2716; {{end}}{{.Verdict}}</td><td>{{.Revocation}}</td></tr>
{{- end}}
</table>
{{- end}}
{{- end}}

{{- if .RequestsCertificate}}
<h3>Certificate authorities this site asks for</h3>
{{- if .CANamesSent}}
<ul id="ca-names">
{{- range .CANames}}
<li>{{.}}</li>
{{- end}}
</ul>
{{- if .CANamesDropped}}
<p id="truncated">The list is truncated: {{.CANamesDropped}} more certificate authorities are trusted but not announced, so browsers will not offer certificates issued only under them.</p>
{{- range .DroppedCANames}}
<p>Not announced: {{.}}</p>
{{- end}}
{{- end}}
{{- else}}
<p>The site announces no names: your browser may offer any certificate.</p>
{{- end}}
{{- end}}

<h3>Copy for support</h3>
<pre id="support">Request ID: {{.Support.RequestID}}
Site: {{.Support.Site}}
Time: {{.Support.Time}}
Sub-status: {{.Support.Substatus}}
Win32: {{.Support.Win32}}
{{- with .Support.SHA256}}
Certificate SHA-256: {{.}}
{{- end}}</pre>
</main>
</body>
</html>
`))
